"""The OpenAPI 3.1 document of the API (served at /openapi.json) and the /docs page that renders it."""

DOCUMENT = {
    'openapi': '3.1.0',
    'info': {'title': 'bucketlist', 'version': '1.0.0'},
    'paths': {},
}


def docs_page():
    return '<!doctype html><title>bucketlist API</title><p>Documentation is coming.'
