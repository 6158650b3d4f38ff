// Starts Swagger UI on /docs with this service's own document. A file, not an inline script,
// so the page's Content-Security-Policy can refuse every inline script.
'use strict'

window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    // No deep links: Swagger UI puts each one inside the operation's button, a link in a button
    // that keyboards and screen readers cannot use (axe-core: nested-interactive).
    deepLinking: false,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
    // Ask nobody else: no validator badge fetched from swagger.io.
    validatorUrl: null,
    onComplete: () => { nameTheServersMenu(); levelTheWebhooksHeading() },
  })
})

// Swagger UI's menu of servers has a label without words; screen readers need its name.
function nameTheServersMenu() {
  const menu = document.getElementById('servers')
  if (menu) menu.ariaLabel = 'Server'
}

// Swagger UI heads the document's webhooks with an h2 after the tags' h3s, then the schemas with
// an h4: a level skipped (axe-core: heading-order). Read as the tags' peer, it is an h3.
function levelTheWebhooksHeading() {
  for (const heading of document.querySelectorAll('#swagger-ui h2')) {
    if (heading.textContent.trim() === 'Webhooks') heading.setAttribute('aria-level', '3')
  }
}
