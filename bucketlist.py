"""The bucketlist API's routes: bucketlists, their items, and the operations routes; ``app`` serves them all."""
import hmac
import json
import os
from contextlib import nullcontext

from bottle import request, response, static_file
from peewee import IntegrityError

import accounts  # (its routes mount on app too)
import metrics
import migrations
import openapi
import settings
from models import Bucketlist, Item, answer_within, db, utcnow, violated_constraint
from web import (
    APIError,
    app,
    check_if_match,
    clean_body,
    clean_done,
    clean_name,
    etags_in,
    idempotent,
    log,
    paginate,
    query_boolean,
    query_param,
    timestamp,
    token_checked,
)

# /health answers within this, database or not: load balancers give up on it after a few seconds.
HEALTH_SECONDS = 2
STATIC_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'static')


# --- Representations -----------------------------------------------------------------------------

def bucketlist_json(bucketlist, items=None):
    body = {'id': bucketlist.id, 'name': bucketlist.name, 'created_by': bucketlist.owner_id,
            'date_created': timestamp(bucketlist.date_created),
            'date_modified': timestamp(bucketlist.date_modified)}
    if items is not None:
        body['items'] = [item_json(item) for item in items]
    return body


def item_json(item):
    return {'id': item.id, 'name': item.name, 'done': item.done, 'bucketlist_id': item.bucketlist_id,
            'date_created': timestamp(item.date_created),
            'date_modified': timestamp(item.date_modified)}


# --- Bucketlists ---------------------------------------------------------------------------------

def owned_bucketlist(bucketlist_id):
    """The caller's bucketlist with this id, or 404 (also when it is somebody else's)."""
    bucketlist = Bucketlist.owned_by(request.user_id, bucketlist_id)
    if bucketlist is None:
        raise APIError(404, f'Bucketlist {bucketlist_id} does not exist.')
    return bucketlist


def owned_bucketlist_with_items(bucketlist_id, for_update=False):
    """(bucketlist, items) of the caller's bucketlist with this id, or 404. The same query
    checks the token's session (for routes marked ``token_checked_in_query``): a row found means
    it is open; on a miss the token plugin tells 401 from 404."""
    found = Bucketlist.with_items(request.user_id, bucketlist_id, request.session_id, for_update)
    if found is None:
        raise APIError(404, f'Bucketlist {bucketlist_id} does not exist.')
    token_checked()
    return found


def save_bucketlist(bucketlist, fields):
    """Apply ``fields`` and save; a name the owner already uses is 409."""
    for name, value in fields.items():
        setattr(bucketlist, name, value)
    # One statement needs no savepoint: outside a transaction it is its own, inside one the
    # 409 rolls the whole transaction back anyway.
    try:
        if bucketlist.id is None:
            if not bucketlist.save_new(settings.MAX_BUCKETLISTS_PER_USER):
                raise APIError(409, f'You already have {settings.MAX_BUCKETLISTS_PER_USER} bucketlists, '
                                    'the most one account may hold (MAX_BUCKETLISTS_PER_USER).')
        elif not bucketlist.save_changes():
            raise APIError(404, f'Bucketlist {bucketlist.id} does not exist.')
    except IntegrityError as error:
        if violated_constraint(error) != 'unique':
            raise
        raise APIError(409, f'You already have a bucketlist named {bucketlist.name!r}.')


@app.post('/bucketlists/')
def bucketlist_create():
    fields = clean_body({'name': clean_name}, required=('name',))

    def create():
        now = utcnow()
        bucketlist = Bucketlist(owner=request.user_id, date_created=now, date_modified=now)
        save_bucketlist(bucketlist, fields)
        response.status = 201
        return bucketlist_json(bucketlist, items=[])
    return idempotent(create)


@app.get('/bucketlists/', query=('page', 'limit', 'q'))
def bucketlist_list():
    query = Bucketlist.select().where(Bucketlist.owner == request.user_id)
    q = query_param('q')
    if q:
        query = query.where(Bucketlist.name_contains(q))
    return [bucketlist_json(b) for b in paginate(query, Bucketlist.id)]


@app.get('/bucketlists/<bucketlist_id:id>', token_checked_in_query=True)
def bucketlist_show(bucketlist_id):
    bucketlist, items = owned_bucketlist_with_items(bucketlist_id)
    return bucketlist_json(bucketlist, items)


def held_for_if_match():
    """A transaction when the request has If-Match, so the row read for the check is the row
    written (reads in it lock with FOR UPDATE). Without If-Match none is needed: the write is
    one UPDATE, and one that finds no row (deleted meanwhile) is a 404."""
    return db.atomic() if etags_in('If-Match') else nullcontext()


@app.route('/bucketlists/<bucketlist_id:id>', method=['PUT', 'PATCH'], token_checked_in_query=True)
def bucketlist_update(bucketlist_id):
    partial = request.method == 'PATCH'
    with held_for_if_match():
        bucketlist, items = owned_bucketlist_with_items(bucketlist_id, for_update=db.in_transaction())
        check_if_match(lambda: bucketlist_json(bucketlist, items))
        fields = clean_body({'name': clean_name}, required=() if partial else ('name',))
        bucketlist.date_modified = utcnow()
        save_bucketlist(bucketlist, fields)
        return bucketlist_json(bucketlist, items)


@app.delete('/bucketlists/<bucketlist_id:id>', token_checked_in_query=True)
def bucketlist_delete(bucketlist_id):
    with db.atomic():
        bucketlist, items = owned_bucketlist_with_items(bucketlist_id, for_update=True)
        check_if_match(lambda: bucketlist_json(bucketlist, items))
        bucketlist.delete_instance()
    return {'message': f'bucketlist {bucketlist_id} deleted successfully'}


# --- Items ---------------------------------------------------------------------------------------

ITEM_FIELDS = {'name': clean_name, 'done': clean_done}


def owned_item(bucketlist_id, item_id, for_update=False):
    item = Item.owned_by(request.user_id, bucketlist_id, item_id, for_update)
    if item is None:
        raise APIError(404, f'Item {item_id} does not exist in bucketlist {bucketlist_id}.')
    return item


@app.post('/bucketlists/<bucketlist_id:id>/items/')
def item_create(bucketlist_id):
    bucketlist = owned_bucketlist(bucketlist_id)
    fields = clean_body(ITEM_FIELDS, required=('name',))

    def create():
        item = Item.add(bucketlist.id, fields['name'], fields.get('done', False), utcnow(),
                        settings.MAX_ITEMS_PER_BUCKETLIST)
        if item is None:
            raise APIError(409, f'Bucketlist {bucketlist_id} already holds {settings.MAX_ITEMS_PER_BUCKETLIST} '
                                'items, the most one may hold (MAX_ITEMS_PER_BUCKETLIST).')
        response.status = 201
        return item_json(item)
    return idempotent(create)


@app.get('/bucketlists/<bucketlist_id:id>/items/', query=('page', 'limit', 'q', 'done'))
def item_list(bucketlist_id):
    bucketlist = owned_bucketlist(bucketlist_id)
    query = Item.select().where(Item.bucketlist == bucketlist)
    q = query_param('q')
    if q:
        query = query.where(Item.name_contains(q))
    done = query_boolean('done')
    if done is not None:
        query = query.where(Item.done == done)
    return [item_json(item) for item in paginate(query, Item.id)]


@app.get('/bucketlists/<bucketlist_id:id>/items/<item_id:id>')
def item_show(bucketlist_id, item_id):
    return item_json(owned_item(bucketlist_id, item_id))


@app.route('/bucketlists/<bucketlist_id:id>/items/<item_id:id>', method=['PUT', 'PATCH'])
def item_update(bucketlist_id, item_id):
    partial = request.method == 'PATCH'
    with db.atomic():
        item = owned_item(bucketlist_id, item_id, for_update=True)
        check_if_match(lambda: item_json(item))
        fields = clean_body(ITEM_FIELDS, required=() if partial else ('name',))
        if not partial:
            fields.setdefault('done', False)
        for name, value in fields.items():
            setattr(item, name, value)
        item.date_modified = utcnow()
        item.save()
        return item_json(item)


@app.delete('/bucketlists/<bucketlist_id:id>/items/<item_id:id>')
def item_delete(bucketlist_id, item_id):
    with db.atomic():
        item = owned_item(bucketlist_id, item_id, for_update=True)
        check_if_match(lambda: item_json(item))
        item.delete_instance()
    return {'message': f'item {item_id} deleted successfully'}


# --- The account's data, to take away ----------------------------------------------------------

@app.get('/users/me/export')
def export():
    """Everything the account holds, as one JSON document to download (GDPR Art. 20). Quotas bound
    it. Items are read a hundred bucketlists at a time, so only the text is held whole (it is not
    streamed: the connection goes back to the pool before Bottle would send a stream)."""
    user = accounts.current_user()
    response.content_type = 'application/json'
    response.set_header('Content-Disposition', 'attachment; filename="bucketlist-export.json"')
    return ''.join(export_parts(user))


def export_parts(user):
    # The account's credentials as its lists show them: never a secret.
    sessions = [accounts.session_json(session) for session in accounts.open_sessions(user.id)]
    api_tokens = [accounts.api_token_json(token) for token in accounts.api_tokens_of(user.id)]
    yield ('{"account": ' + json.dumps(accounts.account_json(user)) + ', "sessions": ' + json.dumps(sessions)
           + ', "api_tokens": ' + json.dumps(api_tokens) + ', "bucketlists": [')
    bucketlists = list(Bucketlist.select().where(Bucketlist.owner == user.id).order_by(Bucketlist.id))
    for start in range(0, len(bucketlists), 100):
        batch = bucketlists[start:start + 100]
        items = {}
        for item in Item.select().where(Item.bucketlist.in_([b.id for b in batch])).order_by(Item.id):
            items.setdefault(item.bucketlist_id, []).append(item)
        for position, bucketlist in enumerate(batch, start):
            yield (', ' if position else '') + json.dumps(bucketlist_json(bucketlist, items.get(bucketlist.id, [])))
    yield ']}'


# --- Operations ----------------------------------------------------------------------------------

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
    with answer_within(HEALTH_SECONDS):
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
    with answer_within(HEALTH_SECONDS):
        pending = migrations.pending_versions(db)
    if pending:
        raise APIError(503, f'Migration steps {", ".join(map(str, pending))} are not applied yet: run '
                            '"python migrations.py" (the release phase).', Retry_After='5')
    return {'status': 'ready', 'version': settings.VERSION}


@app.get('/metrics', public=True)
def metrics_exposition():
    """Prometheus metrics of all workers; 404 unless METRICS_TOKEN is set, then it needs it."""
    if not metrics.ENABLED:
        raise APIError(404, 'Metrics are off: set METRICS_TOKEN to turn them on.')
    scheme, _, token = (request.get_header('Authorization') or '').partition(' ')
    if scheme.lower() != 'bearer' or not hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode()):
        raise APIError(401, 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".')
    content_type, body = metrics.exposition()
    response.content_type = content_type
    return body


if __name__ == '__main__':
    if settings.SECRET_IS_GENERATED:
        log.warning('SECRET is not set: using a random one, so tokens die with this process')
    log.info('serving on http://127.0.0.1:%s/ (Ctrl-C to stop)', settings.PORT)
    # quiet: the development server's own line per request would repeat the request log's.
    app.run(host='127.0.0.1', port=settings.PORT, quiet=True)
