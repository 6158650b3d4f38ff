"""The bucketlist HTTP API: the Bottle application ``app``, its plugins and its routes."""
import hashlib
import json
import logging
import os
import re
from contextlib import nullcontext
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

from bottle import HTTP_CODES, Bottle, HTTPError, HTTPResponse, request, response, static_file
from peewee import IntegrityError, InterfaceError, OperationalError
from playhouse.pool import PooledDatabase

import auth
import browsable
import openapi
import settings
from models import MAX_ID, Bucketlist, IdempotencyKey, Item, ThrottleEvent, User, db, utcnow


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every log record (``-`` outside a request)."""

    def filter(self, record):
        try:
            record.request_id = request.environ.get('bucketlist.request_id', '-')
        except RuntimeError:
            record.request_id = '-'
        return True


log = logging.getLogger('bucketlist')
log.addFilter(RequestIdFilter())
if not log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logging.Formatter(
        '%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s'))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)

app = Bottle()
# Path ids are digits only; longer than 18 digits can name no row, so they do not even match (404).
app.router.add_filter('id', lambda config: (r'[0-9]{1,18}', int, str))


# --- Errors: everything that fails becomes an RFC 9457 problem document -------------------------

class APIError(HTTPError):
    """A failure the client can act on; ``errors`` maps field names to what is wrong with them."""

    def __init__(self, status, detail, errors=None, **headers):
        super().__init__(status, detail, **headers)
        self.errors = errors


def problem_json(error):
    """Bottle's handler for every error status, its own 404/405/500 included."""
    status = error.status_code
    # A 500's body may hold internals (the exception text); the client gets a fixed sentence.
    detail = error.body if status != 500 else 'The server could not complete the request.'
    body = {'type': 'about:blank', 'title': HTTP_CODES.get(status, 'Error'), 'status': status,
            'detail': detail, 'message': detail}
    if getattr(error, 'errors', None):
        body['errors'] = error.errors
    response.content_type = 'application/problem+json'
    if status == 401:
        response.set_header('WWW-Authenticate', 'Bearer')
    add_standard_headers()
    return json.dumps(body)


app.default_error_handler = problem_json


class ErrorsPlugin:
    """Turns exceptions a route raises into the HTTP errors ``problem_json`` renders."""
    name, api = 'errors', 2

    def apply(self, callback, route):
        def wrapper(*args, **kwargs):
            try:
                return callback(*args, **kwargs)
            except HTTPResponse:
                raise
            except auth.HashingBusy:
                raise APIError(503, 'Too many logins and registrations at once. Please retry shortly.',
                               Retry_After='1')
            except (OperationalError, InterfaceError) as error:
                if isinstance(db, PooledDatabase):
                    db.close_idle()  # the idle ones most likely died with this one
                # One line, no traceback: during an outage every request lands here.
                log.warning('database unavailable on %s %s: %s', request.method, request.path,
                            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
                raise APIError(503, 'The database is unavailable. Please retry shortly.',
                               Retry_After='1')
            except Exception:
                log.exception('unhandled error on %s %s', request.method, request.path)
                raise HTTPError(500)
        return wrapper


def dumps(body):
    return json.dumps(body).encode()


def etag_of(body_bytes):
    return '"' + hashlib.sha256(body_bytes).hexdigest()[:32] + '"'


class JSONPlugin:
    """Serialises what a route returns (dict or list), with an ETag; answers If-None-Match with 304."""
    name, api = 'json', 2

    def apply(self, callback, route):
        def wrapper(*args, **kwargs):
            body = callback(*args, **kwargs)
            if not isinstance(body, (dict, list)):
                return body
            payload = dumps(body)
            etag = etag_of(payload)
            response.content_type = 'application/json'
            response.set_header('ETag', etag)
            if request.method in ('GET', 'HEAD') and etag in etags_in('If-None-Match'):
                response.status = 304
                return b''
            return payload
        return wrapper


def etags_in(header):
    """The entity tags listed in a conditional request header ('*' included as is)."""
    return [tag.strip() for tag in (request.get_header(header) or '').split(',') if tag.strip()]


def check_if_match(representation):
    """412 when the request's If-Match names none of ``representation()``'s current ETag."""
    wanted = etags_in('If-Match')
    if wanted and '*' not in wanted and etag_of(dumps(representation())) not in wanted:
        raise APIError(412, 'The resource has changed since you read it; fetch it again (If-Match).')


class TokenAuthPlugin:
    """Requires a valid Bearer token on every route not marked ``public=True``.

    The token's user id is ``request.user_id`` inside the route. A route marked
    ``revocation_in_query=True`` refuses a revoked token in its own query (one round trip
    instead of two) and must call ``auth.refuse_revoked`` when that query finds nothing.
    An ``auth.InvalidToken`` raised by either is a 401.
    """
    name, api = 'token_auth', 2

    def apply(self, callback, route):
        if route.config.get('public'):
            return callback
        check_revocation = not route.config.get('revocation_in_query')

        def wrapper(*args, **kwargs):
            try:  # around the route too: it may find the token revoked (revocation_in_query)
                claims = auth.read_token(request.get_header('Authorization'), check_revocation)
                request.token_claims, request.user_id = claims, int(claims['sub'])
                return callback(*args, **kwargs)
            except auth.InvalidToken as invalid:
                raise APIError(401, str(invalid))
        return wrapper


# Installed first means outermost: errors see everything, the HTML page needs no token.
app.uninstall('json')
app.install(ErrorsPlugin())
app.install(JSONPlugin())
app.install(browsable.BrowsablePlugin())
app.install(TokenAuthPlugin())


REQUEST_ID = re.compile(r'[A-Za-z0-9._-]{1,128}')


@app.hook('before_request')
def start_request():
    environ = request.environ
    # Bottle decodes header values as UTF-8 when a route reads them and fails on anything
    # else; refuse such a request here, once, instead of failing wherever a header is read.
    for name, value in environ.items():
        if name.startswith('HTTP_') and not value.isascii():
            try:
                value.encode('latin1').decode('utf-8')
            except UnicodeError:
                raise APIError(400, f'The {name[5:].replace("_", "-").title()} header is not valid UTF-8.')
    given = environ.get('HTTP_X_REQUEST_ID', '')
    environ['bucketlist.request_id'] = given if REQUEST_ID.fullmatch(given) else os.urandom(16).hex()
    if request.method == 'OPTIONS' and cors_origin():
        raise HTTPResponse(status=204, **{
            'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE',
            'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match, If-None-Match, '
                                            'Idempotency-Key, X-Request-ID',
            'Access-Control-Max-Age': '600'})


def cors_origin():
    """The request's Origin when CORS_ORIGINS allows it, else None."""
    origin = request.get_header('Origin')
    return origin if origin in settings.CORS_ORIGINS else None


def add_standard_headers():
    response.set_header('X-Content-Type-Options', 'nosniff')
    response.set_header('Cache-Control', 'no-store')
    response.set_header('X-Request-ID', request.environ.get('bucketlist.request_id', ''))
    if settings.CORS_ORIGINS:
        response.add_header('Vary', 'Origin')
        origin = cors_origin()
        if origin:
            response.set_header('Access-Control-Allow-Origin', origin)
            response.set_header('Access-Control-Expose-Headers', 'ETag, Link, X-Total-Count, X-Request-ID')


@app.hook('after_request')
def finish_request():
    # Returns the connection to the pool, also when the route raised.
    if not db.is_closed():
        db.close()
    add_standard_headers()


# --- Reading requests ----------------------------------------------------------------------------

def read_body():
    """The raw request body, refused with 413 before reading when it is over the limit."""
    if 'bucketlist.body' not in request.environ:
        request.environ['bucketlist.body'] = _read_limited_body()
    return request.environ['bucketlist.body']


def _read_limited_body():
    limit = settings.MAX_BODY_BYTES
    too_large = APIError(413, f'The request body is larger than {limit} bytes.')
    if request.content_length > limit:
        raise too_large
    stream = request.environ.get('wsgi.input')
    if stream is None:
        return b''
    size = request.content_length if request.content_length >= 0 else limit + 1
    body = stream.read(size) if size else b''
    if len(body) > limit:
        raise too_large
    return body


def _refuse_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError('duplicate key')
    return dict(pairs)


def _refuse_constant(name):
    raise ValueError(f'{name} is not JSON')


def request_fields():
    """The request body as (fields, from_form): a JSON object or a URL-encoded form."""
    body = read_body()
    media_type = request.content_type.split(';')[0].strip().lower()
    if not body and not media_type:
        return {}, False
    if media_type == 'application/json' or media_type.endswith('+json'):
        try:
            fields = json.loads(body.decode('utf-8'), object_pairs_hook=_refuse_duplicate_keys,
                                parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise APIError(400, 'The request body is not valid JSON (UTF-8, no duplicate keys).')
        if not isinstance(fields, dict):
            raise APIError(400, 'The request body must be a JSON object.')
        return fields, False
    if media_type == 'application/x-www-form-urlencoded':
        try:
            pairs = parse_qsl(body.decode('utf-8'), keep_blank_values=True, errors='strict',
                              max_num_fields=100)
        except ValueError:
            raise APIError(400, 'The request body is not a valid UTF-8 URL-encoded form.')
        fields = dict(pairs)
        if len(fields) != len(pairs):
            raise APIError(400, 'The request body repeats a field.')
        return fields, True
    raise APIError(415, 'Send the body as application/json or application/x-www-form-urlencoded.')


READ_ONLY_FIELDS = {'id', 'created_by', 'owner_id', 'bucketlist_id', 'date_created',
                    'date_modified', 'items'}


def clean_body(cleaners, required=()):
    """Clean values for the fields in ``cleaners`` from the body, or 400 naming every bad field.

    ``cleaners`` maps a field to a function of (value, from_form) that returns the clean
    value or raises ValueError with a message for the client.
    """
    fields, from_form = request_fields()
    errors = {}
    for name in fields.keys() - cleaners.keys():
        errors[name] = 'This field is read-only.' if name in READ_ONLY_FIELDS else 'Unknown field.'
    values = {}
    for name, clean in cleaners.items():
        if name not in fields:
            if name in required:
                errors[name] = 'This field is required.'
            continue
        try:
            values[name] = clean(fields[name], from_form)
        except ValueError as invalid:
            errors[name] = str(invalid)
    if errors:
        raise APIError(400, 'The request body has invalid fields: ' + ', '.join(sorted(errors)) + '.',
                       errors=errors)
    return values


def clean_text(value, from_form=False):
    if not isinstance(value, str):
        raise ValueError('Must be a string.')
    if '\x00' in value:
        raise ValueError('Must not contain NUL characters.')
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise ValueError('Must be valid Unicode text.')
    return value


def clean_name(value, from_form=False):
    name = clean_text(value).strip()
    if not name:
        raise ValueError('Must not be blank.')
    if len(name) > 255:
        raise ValueError('Must be at most 255 characters.')
    return name


def clean_done(value, from_form):
    if isinstance(value, bool):
        return value
    if from_form and value in FORM_BOOLEANS:
        return FORM_BOOLEANS[value]
    raise ValueError('Must be a boolean (true or false).')


FORM_BOOLEANS = {'true': True, 'false': False, '1': True, '0': False}
EMAIL = re.compile(r'[^@\s]+@[^@\s]+\.[^@\s]+')


def clean_email(value, from_form=False):
    email = clean_text(value).strip().lower()
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise ValueError('Must be a valid email address.')
    return email


def clean_new_password(value, from_form=False):
    password = clean_text(value)
    if not 8 <= len(password) <= 1024:
        raise ValueError('Must be from 8 to 1024 characters.')
    return password


def query_param(name):
    """One query-string parameter as text (None when absent), or 400."""
    values = request.query.getall(name)
    if len(values) > 1:
        raise APIError(400, f'The query parameter {name!r} is given more than once.')
    if not values:
        return None
    try:
        return clean_text(values[0].encode('latin1').decode('utf-8'))
    except (UnicodeError, ValueError):
        raise APIError(400, f'The query parameter {name!r} is not valid UTF-8 text.')


def positive_query_int(name, default, maximum):
    text = query_param(name)
    if text is None:
        return default
    # The length check first keeps int() away from megabytes of digits.
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(maximum)) and 1 <= int(text) <= maximum):
        raise APIError(400, f'The query parameter {name!r} must be a whole number from 1 to {maximum}.',
                       errors={name: f'Must be a whole number from 1 to {maximum}.'})
    return int(text)


def paginate(query, order_by):
    """One page of ``query`` as a list; sets the Link and X-Total-Count headers."""
    page = positive_query_int('page', 1, MAX_ID)
    limit = positive_query_int('limit', settings.PAGE_SIZE, settings.MAX_PAGE_SIZE)
    total = query.count()
    last = max(1, -(-total // limit))
    links = {'first': 1, 'last': last}
    if page > 1:
        links['prev'] = min(page - 1, last)
    if page < last:
        links['next'] = page + 1
    other_params = [(k, v) for k, v in request.query.allitems() if k not in ('page', 'limit')]
    response.set_header('Link', ', '.join(
        f'<{request.path}?{urlencode(other_params + [("page", number), ("limit", limit)])}>; rel="{rel}"'
        for rel, number in links.items()))
    response.set_header('X-Total-Count', str(total))
    return list(query.order_by(order_by).paginate(page, limit))


# --- Representations -----------------------------------------------------------------------------

def timestamp(moment):
    return moment.isoformat(timespec='microseconds') + 'Z'


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


# --- Accounts ------------------------------------------------------------------------------------

def client_address():
    """The client's address: the connection's, or X-Forwarded-For's when proxies are trusted."""
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [a.strip() for a in (request.get_header('X-Forwarded-For') or '').split(',')]
        if len(forwarded) >= hops and forwarded[-hops]:
            return forwarded[-hops][:255]
    return request.environ.get('REMOTE_ADDR') or '-'


def throttle(limits):
    """429 with Retry-After when a (kind, subject, limit, window) already counts ``limit`` recent events."""
    now = utcnow()
    for kind, subject, limit, window in limits:
        recent = [event.created_at for event in ThrottleEvent.recent(kind, subject, now - window, limit)]
        if len(recent) >= limit:
            retry_after = int((recent[-1] + window - now).total_seconds()) + 1
            raise APIError(429, 'Too many attempts. Please try again later.', Retry_After=str(retry_after))


def login_limits(email):
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    return [('login-account', email, settings.LOGIN_FAILURES_PER_ACCOUNT, window),
            ('login-address', client_address(), settings.LOGIN_FAILURES_PER_ADDRESS, window)]


@app.post('/auth/register', public=True)
def register():
    fields = clean_body({'email': clean_email, 'password': clean_new_password},
                        required=('email', 'password'))
    window = timedelta(seconds=settings.REGISTRATION_WINDOW_SECONDS)
    limits = [('register-address', client_address(), settings.REGISTRATIONS_PER_ADDRESS, window)]
    with auth.hashing_slot():
        throttle(limits)
        ThrottleEvent.record(limits)
        try:
            User.create(email=fields['email'], password_hash=auth.hash_password(fields['password']))
        except IntegrityError:
            raise APIError(409, 'User already exists. Please login.')
    response.status = 201
    return {'message': 'You registered successfully. Please login.'}


@app.post('/auth/login', public=True)
def login():
    fields = clean_body({'email': clean_text, 'password': clean_text}, required=('email', 'password'))
    email = fields['email'].strip().lower()
    limits = login_limits(email)
    with auth.hashing_slot():
        throttle(limits)
        user = User.get_or_none(User.email == email)
        if not auth.check_password(user, fields['password']):
            ThrottleEvent.record(limits)
            raise APIError(401, 'Invalid email or password, Please try again')
        ThrottleEvent.forget('login-account', email)
    return {'message': 'You logged in successfully.', 'access_token': auth.issue_token(user.id)}


@app.post('/auth/logout')
def logout():
    auth.revoke_token(request.token_claims)
    return {'message': 'You logged out successfully.'}


# --- Creating exactly once -------------------------------------------------------------------------

IDEMPOTENCY_KEY = re.compile(r'[\x21-\x7e]{1,255}')  # printable ASCII, no spaces
IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)


def idempotent(create):
    """Run ``create()`` once per Idempotency-Key of the caller: a retry of the same request with the
    key gets the first answer again; another request with the same key is 422.

    The key's row is inserted first, inside the transaction: a concurrent retry waits on the
    unique index until the first request commits, then replays its answer.
    """
    key = request.get_header('Idempotency-Key')
    if key is None:
        return create()
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise APIError(400, 'Idempotency-Key must be 1 to 255 printable ASCII characters.')
    fingerprint = hashlib.sha256(f'{request.method} {request.path}\n'.encode() + read_body()).hexdigest()
    with db.atomic():
        IdempotencyKey.forget_older_than(request.user_id, utcnow() - IDEMPOTENCY_KEY_LIFETIME)
        try:
            with db.atomic():
                record = IdempotencyKey.create(owner=request.user_id, key=key, fingerprint=fingerprint)
        except IntegrityError:
            record = IdempotencyKey.get((IdempotencyKey.owner == request.user_id) & (IdempotencyKey.key == key))
            if record.fingerprint != fingerprint:
                raise APIError(422, 'This Idempotency-Key was already used for a different request.')
            response.status = record.status
            return json.loads(record.body)
        body = create()
        record.status, record.body = response.status_code, json.dumps(body)
        record.save()
        return body


# --- Bucketlists ---------------------------------------------------------------------------------

def owned_bucketlist(bucketlist_id):
    """The caller's bucketlist with this id, or 404 (also when it is somebody else's)."""
    bucketlist = Bucketlist.owned_by(request.user_id, bucketlist_id)
    if bucketlist is None:
        raise APIError(404, f'Bucketlist {bucketlist_id} does not exist.')
    return bucketlist


def owned_bucketlist_with_items(bucketlist_id, for_update=False):
    """(bucketlist, items) of the caller's bucketlist with this id, or 404; 401 when the
    token is revoked (for routes marked ``revocation_in_query``, checked by the same query)."""
    found = Bucketlist.with_items(request.user_id, bucketlist_id, request.token_claims['jti'], for_update)
    if found is None:
        auth.refuse_revoked(request.token_claims)
        raise APIError(404, f'Bucketlist {bucketlist_id} does not exist.')
    return found


def save_bucketlist(bucketlist, fields):
    """Apply ``fields`` and save; a name the owner already uses is 409."""
    for name, value in fields.items():
        setattr(bucketlist, name, value)
    # One statement needs no savepoint: outside a transaction it is its own, inside one the
    # 409 rolls the whole transaction back anyway.
    try:
        saved = bucketlist.save_changes() if bucketlist.id else bucketlist.save_new()
    except IntegrityError:
        raise APIError(409, f'You already have a bucketlist named {bucketlist.name!r}.')
    if not saved:
        raise APIError(404, f'Bucketlist {bucketlist.id} does not exist.')


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


@app.get('/bucketlists/')
def bucketlist_list():
    query = Bucketlist.select().where(Bucketlist.owner == request.user_id)
    q = query_param('q')
    if q:
        query = query.where(Bucketlist.name_contains(q))
    return [bucketlist_json(b) for b in paginate(query, Bucketlist.id)]


@app.get('/bucketlists/<bucketlist_id:id>', revocation_in_query=True)
def bucketlist_show(bucketlist_id):
    bucketlist, items = owned_bucketlist_with_items(bucketlist_id)
    return bucketlist_json(bucketlist, items)


def held_for_if_match():
    """A transaction when the request has If-Match, so the row read for the check is the row
    written (reads in it lock with FOR UPDATE). Without If-Match none is needed: the write is
    one UPDATE, and one that finds no row (deleted meanwhile) is a 404."""
    return db.atomic() if etags_in('If-Match') else nullcontext()


@app.route('/bucketlists/<bucketlist_id:id>', method=['PUT', 'PATCH'], revocation_in_query=True)
def bucketlist_update(bucketlist_id):
    partial = request.method == 'PATCH'
    with held_for_if_match():
        bucketlist, items = owned_bucketlist_with_items(bucketlist_id, for_update=db.in_transaction())
        check_if_match(lambda: bucketlist_json(bucketlist, items))
        fields = clean_body({'name': clean_name}, required=() if partial else ('name',))
        bucketlist.date_modified = utcnow()
        save_bucketlist(bucketlist, fields)
        return bucketlist_json(bucketlist, items)


@app.delete('/bucketlists/<bucketlist_id:id>', revocation_in_query=True)
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
        now = utcnow()
        item = Item.create(bucketlist=bucketlist, date_created=now, date_modified=now, **fields)
        response.status = 201
        return item_json(item)
    return idempotent(create)


@app.get('/bucketlists/<bucketlist_id:id>/items/')
def item_list(bucketlist_id):
    bucketlist = owned_bucketlist(bucketlist_id)
    query = Item.select().where(Item.bucketlist == bucketlist)
    q = query_param('q')
    if q:
        query = query.where(Item.name_contains(q))
    done = query_param('done')
    if done is not None:
        if done not in FORM_BOOLEANS:
            raise APIError(400, "The query parameter 'done' must be true or false.",
                           errors={'done': 'Must be true or false.'})
        query = query.where(Item.done == FORM_BOOLEANS[done])
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


# --- Operations ----------------------------------------------------------------------------------

@app.get('/openapi.json', public=True)
def openapi_document():
    return openapi.DOCUMENT


@app.get('/docs', public=True)
def docs():
    response.content_type = 'text/html; charset=utf-8'
    return openapi.docs_page()


@app.get('/static/<filename:path>', public=True)
def static(filename):
    return static_file(filename, root=STATIC_ROOT)


STATIC_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'static')


@app.get('/health', public=True)
def health():
    db.execute_sql('SELECT 1')
    return {'status': 'ok', 'database': 'reachable'}


if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO)
    if settings.SECRET_IS_GENERATED:
        log.warning('SECRET is not set: using a random one, so tokens die with this process')
    app.run(host='127.0.0.1', port=settings.PORT)
