"""The operations routes: front page, health, readiness, metrics; and the pages for people (``page``:
left out of the OpenAPI document, which is for clients): the document itself, its /docs page, the
problem types' pages and the static files."""
import hmac
import html
import os

from bottle import request, response, static_file

import metrics
import migrations
import openapi
import settings
from models import answer_within, db, missing_pooled_functions
from problems import KINDS, METRICS_OFF, METRICS_TOKEN_NEEDED, SCHEMA_BEHIND, APIError, type_uri
from web import app

STATIC_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'static')


@app.get('/openapi.json', public=True, page=True)
def openapi_document():
    return openapi.DOCUMENT


@app.get('/docs', public=True, page=True)
def docs():
    response.content_type = 'text/html; charset=utf-8'
    response.set_header('Content-Security-Policy', openapi.DOCS_CONTENT_SECURITY_POLICY)
    return openapi.DOCS_PAGE


@app.get('/docs/<filename:path>', public=True, page=True)
def swagger_ui_file(filename):
    # Only what the page loads: the package also holds an editor, source maps and pages of its own.
    if filename not in openapi.SWAGGER_UI_FILES:
        raise APIError(404, f'/docs/{filename} is not a file of the documentation page.')
    return static_file(filename, root=openapi.SWAGGER_UI_ROOT)


@app.get('/static/<filename:path>', public=True, page=True)
def static(filename):
    return static_file(filename, root=STATIC_ROOT)


# The pages a problem document's type names (problems.KINDS), for the people who read them.
PROBLEM_PAGE = '''<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: bucketlist problem types</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}}
code{{background:#f3f3f3;padding:0 .2em}}</style></head>
<body><h1>{title}</h1>{body}
<p>Every error of this API is an RFC 9457 problem document (<code>application/problem+json</code>); its
<code>type</code> says which kind of refusal it is, <code>about:blank</code> for plain HTTP errors. The
<a href="/docs">documentation</a> lists the routes.</p></body></html>
'''
PROBLEMS_CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none';"
                                    " frame-ancestors 'none'")


def kind_html(kind):
    title, meaning = KINDS[kind]
    return (f'<h2 id="{kind}"><a href="{type_uri(kind)}">{html.escape(title)}</a></h2>'
            f'<p><code>{type_uri(kind)}</code>: {html.escape(meaning)}</p>')


@app.get('/problems', public=True, page=True)
def problem_types():
    response.content_type = 'text/html; charset=utf-8'
    response.set_header('Content-Security-Policy', PROBLEMS_CONTENT_SECURITY_POLICY)
    return PROBLEM_PAGE.format(title='Problem types', body=''.join(kind_html(kind) for kind in KINDS))


@app.get('/problems/<kind>', public=True, page=True)
def problem_type(kind):
    if kind not in KINDS:
        raise APIError(404, f'{type_uri(kind)[:200]} is not a problem type of this API: see /problems.',
                       kind='not-found')
    response.content_type = 'text/html; charset=utf-8'
    response.set_header('Content-Security-Policy', PROBLEMS_CONTENT_SECURITY_POLICY)
    return PROBLEM_PAGE.format(title=html.escape(KINDS[kind][0]),
                               body=kind_html(kind) + '<p><a href="/problems">Every problem type</a></p>')


@app.get('/', public=True)
def front_page():
    """What this is and where to go: links for API clients; a browser gets a small page."""
    return {'name': 'bucketlist', 'version': settings.VERSION,
            'description': 'A REST API for bucketlists: named lists of life goals, each holding items.',
            'links': {'documentation': '/docs', 'openapi': '/openapi.json', 'bucketlists': '/bucketlists/',
                      'health': '/health'}}


@app.get('/health', public=True)
def health():
    with answer_within(settings.HEALTH_SECONDS):  # (no such table: the errors plugin says SCHEMA_BEHIND)
        (applied,) = db.execute_sql('SELECT count(*) FROM "schema_migrations"').fetchone()
    if applied < len(migrations.STEPS):
        raise SCHEMA_BEHIND()
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
        steps = f'steps {", ".join(map(str, pending))} are' if len(pending) > 1 else f'step {pending[0]} is'
        raise APIError(503, f'Migration {steps} not applied yet: run '
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
