"""The operations routes: front page, health, readiness, metrics, the OpenAPI document, docs, static files."""
import hmac
import os

from bottle import request, response, static_file

import metrics
import migrations
import openapi
import settings
from models import answer_within, db, missing_pooled_functions
from problems import METRICS_OFF, METRICS_TOKEN_NEEDED, APIError
from web import app

STATIC_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'static')


@app.get('/openapi.json', public=True)
def openapi_document():
    return openapi.DOCUMENT


@app.get('/docs', public=True)
def docs():
    response.content_type = 'text/html; charset=utf-8'
    response.set_header('Content-Security-Policy', openapi.DOCS_CONTENT_SECURITY_POLICY)
    return openapi.DOCS_PAGE


@app.get('/docs/<filename:path>', public=True)
def swagger_ui_file(filename):
    # Only what the page loads: the package also holds an editor, source maps and pages of its own.
    if filename not in openapi.SWAGGER_UI_FILES:
        raise APIError(404, f'/docs/{filename} is not a file of the documentation page.')
    return static_file(filename, root=openapi.SWAGGER_UI_ROOT)


@app.get('/static/<filename:path>', public=True)
def static(filename):
    return static_file(filename, root=STATIC_ROOT)


@app.get('/', public=True)
def front_page():
    """What this is and where to go: links for API clients; a browser gets a small page."""
    return {'name': 'bucketlist', 'version': settings.VERSION,
            'description': 'A REST API for bucketlists: named lists of life goals, each holding items.',
            'links': {'documentation': '/docs', 'openapi': '/openapi.json', 'bucketlists': '/bucketlists/',
                      'health': '/health'}}


@app.get('/health', public=True)
def health():
    with answer_within(settings.HEALTH_SECONDS):
        db.execute_sql('SELECT 1')
    return {'status': 'ok', 'database': 'reachable', 'version': settings.VERSION}


@app.get('/livez', public=True)
def liveness():
    """The process is up and answering; touches nothing else, so a database outage never gets
    it restarted."""
    return {'status': 'ok'}


@app.get('/readyz', public=True)
def readiness():
    """Ready for traffic: the database answers and every migration step is applied."""
    with answer_within(settings.HEALTH_SECONDS):
        pending = migrations.pending_versions(db)
        missing = missing_pooled_functions() if settings.DATABASE_POOLER == 'transaction' else ()
    if pending:
        raise APIError(503, f'Migration steps {", ".join(map(str, pending))} are not applied yet: run '
                            '"python migrations.py" (the release phase).', Retry_After='5')
    if missing:
        raise APIError(503, f'The functions of {len(missing)} reads are not installed (DATABASE_POOLER=transaction '
                            'calls them): run "python migrations.py" (the release phase).', Retry_After='5')
    return {'status': 'ready', 'version': settings.VERSION}


@app.get('/metrics', public=True)
def metrics_exposition():
    """Prometheus metrics of all workers; 404 unless METRICS_TOKEN is set, then it needs it."""
    if not metrics.ENABLED:
        raise METRICS_OFF()
    scheme, _, token = (request.get_header('Authorization') or '').partition(' ')
    if scheme.lower() != 'bearer' or not hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode()):
        raise METRICS_TOKEN_NEEDED()
    content_type, body = metrics.exposition()
    response.content_type = content_type
    return body
