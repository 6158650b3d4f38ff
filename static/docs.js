// Starts Swagger UI on /docs with this service's own document. A file, not an inline script,
// so the page's Content-Security-Policy can refuse every inline script.
'use strict'

window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    // Ask nobody else: no validator badge fetched from swagger.io.
    validatorUrl: null,
  })
})
