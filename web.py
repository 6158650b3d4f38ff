"""HTTP plumbing shared by every route: the ``app``, its plugins, errors, headers, body and query parsing."""
import hashlib
import ipaddress
import json
import logging
import os
import re
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from functools import partial
from urllib.parse import parse_qsl, urlencode

import orjson
from bottle import HTTP_CODES, Bottle, HTTPError, HTTPResponse, request, response
from peewee import DatabaseError, IntegrityError, InterfaceError, OperationalError
from playhouse.pool import MaxConnectionsExceeded, PooledDatabase

import auth
import browsable
import logs
import metrics
import settings
from database import check_session_first, run_session_check
from fields import FORM_BOOLEANS, MAX_ID, QUERY_VALUE_MAX_LENGTH, clean_text, one_of, parse_date
from models import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    THROTTLE_SUBJECT_MAX_LENGTH,
    UNDER_GEVENT,
    IdempotencyKey,
    ThrottleEvent,
    db,
    utcnow,
    violated_constraint,
)
from problems import (
    BODY_TOO_LARGE,
    BODY_TOO_SLOW,
    CHANGED_SINCE_READ,
    CROSS_SITE,
    DATABASE_UNAVAILABLE,
    IDEMPOTENCY_KEY_REUSED,
    INTERNAL_ERROR,
    INVALID_BODY,
    INVALID_FIELDS,
    INVALID_QUERY,
    KINDS,
    READ_SCOPE,
    SCHEMA_BEHIND,
    SESSION_SCOPE,
    TOO_MANY_ATTEMPTS,
    UNSUPPORTED_MEDIA_TYPE,
    WEBHOOK_SCOPE,
    APIError,
    type_uri,
)

# --- Request rules ---------------------------------------------------------------------------------

IDEMPOTENCY_KEY = re.compile(f'[\\x21-\\x7e]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}')  # printable ASCII, no space
IDEMPOTENCY_KEY_LIFETIME = timedelta(hours=24)
REQUEST_ID = re.compile(r'[A-Za-z0-9._-]{1,128}')
SAFE_METHODS = ('GET', 'HEAD', 'OPTIONS')
BODY_METHODS = ('POST', 'PUT', 'PATCH', 'DELETE')
KNOWN_METHODS = SAFE_METHODS + BODY_METHODS
CONTROL_CHARACTERS = re.compile(r'[\x00-\x1f\x7f]')
MAX_BODY_FIELDS = 32  # no body has this many; more is an attack, refused before looking at them


# --- Logging -------------------------------------------------------------------------------------

class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every log record (``-`` outside a request)."""

    def filter(self, record):
        try:
            record.request_id = request.environ.get('bucketlist.request_id', '-')
        except RuntimeError:
            record.request_id = '-'
        return True


# No log line shows the thread, the multiprocessing process or the source line: not finding them
# out makes every record cheaper (the logging HOWTO's "Optimization"), and the request log writes
# one record per request.
logging.logThreads = logging.logMultiprocessing = False
logging._srcfile = None
log = logging.getLogger('bucketlist')
log.addFilter(RequestIdFilter())
if not log.handlers:
    _handler = logging.StreamHandler()
    _handler.setFormatter(logs.formatter())
    _handler.addFilter(RequestIdFilter())  # (a logger's filter skips its children's records: bucketlist.worker's)
    log.addHandler(_handler)
    log.setLevel(settings.LOG_LEVEL)
    log.propagate = False  # its own handler writes it; the root logger's would write it again


class Service(Bottle):
    """The Bottle application, which writes one log line per request once it is answered (the
    request log) and counts it for /metrics."""

    def wsgi(self, environ, start_response):
        started = time.perf_counter()
        answer = {}

        def start(status, headers, exc_info=None):
            answer['status'], answer['headers'] = status, headers
            return start_response(status, headers, exc_info)
        body = super().wsgi(environ, start)
        try:
            log_request(environ, answer, body, time.perf_counter() - started)
        except Exception:  # a log or metrics failure (a full disk) must not fail the answer
            log.exception('could not log the request')
        return body


def log_request(environ, answer, body, seconds):
    logging_on = log.isEnabledFor(logging.INFO)
    if not (logging_on or metrics.ENABLED):
        return
    status = int(answer.get('status', '500')[:3])
    route = environ.get('bottle.route')
    pattern = route.rule if route is not None else '-'
    method = environ.get('REQUEST_METHOD', '-')
    method = method if method in KNOWN_METHODS else 'OTHER'
    if metrics.ENABLED:
        metrics.record_request(pattern, method, status, seconds, *db_pool_use(), auth.hashes_queued())
    if not logging_on:
        return
    length = next((value for name, value in answer.get('headers', ()) if name.lower() == 'content-length'),
                  None)
    if length is not None:
        length = int(length)
    elif isinstance(body, list):
        length = sum(map(len, body))
    else:
        length = '-'  # a file, streamed
    path = environ.get('PATH_INFO', '-')
    if CONTROL_CHARACTERS.search(path):  # escaped, so that a path cannot write a line of its own into the log
        path = CONTROL_CHARACTERS.sub(lambda c: f'\\x{ord(c.group()):02x}', path)
    fields = {'method': method, 'route': pattern, 'path': path,
              'status': status, 'duration_ms': round(seconds * 1000, 2), 'bytes': length,
              'request_id': environ.get('bucketlist.request_id', '-'),
              'user_id': environ.get('bucketlist.user_id', '-'), 'client': client_address(environ)}
    log.info('{method} {path} {status} {duration_ms}ms {bytes}B route={route} '
             'user_id={user_id} client={client}'.format(**fields), extra={'request': fields})


def db_pool_use():
    """(connections in use, requests waiting for one) of this worker's pool; (0, 0) without one."""
    if isinstance(db, PooledDatabase):
        return len(db._in_use), db.waiting
    return 0, 0


app = Service()
# Path ids are digits only; longer than 18 digits can name no row, so they do not even match (404).
app.router.add_filter('id', lambda config: (r'[0-9]{1,18}', int, str))


# --- Errors: everything that fails becomes an RFC 9457 problem document ---------------------------

# The most an error document may hold: one that would be larger loses its per-field errors
# and has its detail cut, so a hostile body cannot make us write megabytes back.
MAX_PROBLEM_BYTES = 4096


def problem(status, detail, errors=None, kind=None):
    """The problem document for ``status``, of the refusal ``kind`` (problems.KINDS; None: a plain
    HTTP error, titled by its status): the one shape of every error body."""
    if len(detail) + len(json.dumps(errors or {})) > MAX_PROBLEM_BYTES // 2:
        detail, errors = detail[:MAX_PROBLEM_BYTES // 4] + '…', None
    title = KINDS[kind][0] if kind else HTTP_CODES.get(status, 'Error')
    body = {'type': type_uri(kind), 'title': title, 'status': status, 'detail': detail, 'message': detail}
    if errors:
        body['errors'] = errors
    return body


def problem_of(error):
    """The problem document of ``error``, an HTTPError (an APIError with its kind and errors)."""
    status = error.status_code
    # A 500's body may hold internals (the exception text); the client gets a fixed sentence.
    detail = error.body if status != 500 else INTERNAL_ERROR.detail
    return problem(status, detail, getattr(error, 'errors', None), getattr(error, 'kind', None))


def problem_json(error):
    """Bottle's handler for every error status, its own 404/405/500 included."""
    response.content_type = 'application/problem+json'
    if error.status_code == 401:
        response.set_header('WWW-Authenticate', 'Bearer')
    add_standard_headers()
    return dumps(problem_of(error))


app.default_error_handler = problem_json

RETRY_SHORTLY = {'Retry_After': '1'}


def is_database_unavailable(error):
    # MaxConnectionsExceeded: no pooled connection came free in DATABASE_POOL_WAIT_SECONDS.
    return isinstance(error, (OperationalError, InterfaceError, MaxConnectionsExceeded))


def is_schema_behind(error):
    """A table or column this release reads is missing: its migrations have not run."""
    return isinstance(error, DatabaseError) and (
        getattr(error.__context__, 'pgcode', None) in ('42P01', '42703')  # undefined table, column
        or str(error).startswith(('no such table', 'no such column')))  # SQLite's


def is_violation(kind):
    return lambda error: isinstance(error, IntegrityError) and violated_constraint(error) == kind


# What an exception a route raises means to the client: the one table of them, first match
# wins. None as the detail shows the exception's own message.
EXCEPTION_STATUSES = [
    (lambda error: isinstance(error, auth.InvalidToken), 401, None, {}),
    (is_schema_behind, 503, SCHEMA_BEHIND.detail, RETRY_SHORTLY),
    (lambda error: isinstance(error, auth.HashingBusy), 503,
     'Too many logins and registrations at once. Please retry shortly.', RETRY_SHORTLY),
    (is_database_unavailable, 503, DATABASE_UNAVAILABLE.detail, RETRY_SHORTLY),
    # A row this request refers to was deleted by another one that committed first.
    (is_violation('foreign_key'), 404, 'What this request refers to no longer exists.', {}),
    (is_violation('unique'), 409, 'This conflicts with a change made at the same time; read it again.', {}),
]


class ErrorsPlugin:
    """Turns the exceptions of ``EXCEPTION_STATUSES`` into the errors ``problem_json`` renders;
    anything else is a 500 whose details go to the log only."""
    name, api = 'errors', 2

    def apply(self, callback, route):
        def wrapper(*args, **kwargs):
            try:
                return callback(*args, **kwargs)
            except HTTPResponse:
                raise
            except Exception as error:
                raise error_of(error) from error
        return wrapper


def error_of(error):
    """The HTTPError an exception stands for: as ``EXCEPTION_STATUSES`` says, else a 500 (logged)."""
    if isinstance(error, HTTPError):
        return error
    for matches, status, detail, headers in EXCEPTION_STATUSES:
        if matches(error):
            if matches is is_database_unavailable:
                database_unavailable(error)
            elif matches is is_schema_behind:
                log.error('%s on %s %s: %s', SCHEMA_BEHIND.detail, request.method, request.path,
                          str(error).strip().splitlines()[0])
            return APIError(status, detail or str(error), kind=getattr(error, 'kind', None), **headers)
    log.exception('unhandled error on %s %s', request.method, request.path, exc_info=error)
    return HTTPError(500)


def database_unavailable(error):
    # A connection that failed (no server error code) suggests its idle siblings died with it; a
    # statement the server cancelled (a timeout, a deadlock) says nothing about them.
    if isinstance(db, PooledDatabase) and getattr(error.__context__, 'pgcode', None) is None:
        db.close_idle()
    # One line, no traceback: during an outage every request lands here.
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    log.warning('database unavailable on %s %s: %s', request.method, request.path, first_line)


# --- JSON answers, ETags ---------------------------------------------------------------------------

def dumps(body):
    """The JSON of every answer. orjson writes it several times faster than the standard library,
    which takes over only for what orjson refuses: a string with a lone surrogate (a JSON body may
    hold one, escaped), which it escapes, and that one alone (the rest stays UTF-8, not six bytes
    of escape a character)."""
    try:
        return orjson.dumps(body)
    except orjson.JSONEncodeError:
        return json.dumps(body, ensure_ascii=False).encode('utf-8', 'backslashreplace')


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


def is_conditional():
    """Whether the write must first check the object is as the client saw it: If-Match, or a sync
    command's ``if_version`` (commands.py)."""
    return bool(etags_in('If-Match')) or IF_VERSION in request.environ


IF_VERSION = 'bucketlist.if_version'  # (the environ's key of a sync command's)


def check_if_match(*representations):
    """412 when the request's If-Match names none of the current ETags of the resource, each of one
    of its ``representations()`` (an item as a write answers it, and as GET one shows it), or
    when the object's version is not a sync command's ``if_version``."""
    wanted = etags_in('If-Match')
    if wanted and '*' not in wanted and not any(etag_of(dumps(shown())) in wanted for shown in representations):
        raise CHANGED_SINCE_READ()
    version = request.environ.get(IF_VERSION)  # (a version, or an ETag, compared whole)
    if version is not None and not any(shown()['version'] == version if type(version) is int
                                       else etag_of(dumps(shown())) == version for shown in representations):
        raise CHANGED_SINCE_READ()


# --- Tokens --------------------------------------------------------------------------------------

class TokenAuthPlugin:
    """Requires a valid Bearer token on every route not marked ``public=True``: an access token of
    an open session, or an API token with the scope the route needs.

    Inside the route, ``request.user_id`` is the caller's id and ``request.session_id`` the
    access token's session (None for an API token). A route marked ``scope='session'`` takes no
    API token; otherwise GET needs the 'read' scope and every other method 'write'.

    Whether the session is still open needs the database. The route's first statement proves it
    when it checks the session itself (sql.py's ``checks_session``: a GET is then one round trip);
    before any other statement, and as the route answers if none proved it, the session's check
    runs (database.check_session_first). No route can forget it.
    """
    name, api = 'token_auth', 2

    def apply(self, callback, route):
        if route.config.get('public'):
            return callback
        scope = route.config.get('scope') or ('read' if route.method in ('GET', 'HEAD') else 'write')

        def wrapper(*args, **kwargs):
            # The whole body first: a client that sends it slowly must not hold a database
            # connection (or a transaction) while it does.
            if request.method in BODY_METHODS:
                read_body()
            token = auth.bearer_token(request.get_header('Authorization'))
            if token.startswith(auth.API_TOKEN_PREFIX):
                _, user_id, token_scope = auth.read_api_token(token)
                authenticated(user_id, None)
                refuse_out_of_scope(scope, token_scope)
                return callback(*args, **kwargs)
            claims = auth.read_token(token)
            authenticated(int(claims['sub']), claims['sid'])
            check_session_first(partial(auth.refuse_ended, request.session_id, request.user_id),
                                request.session_id, request.user_id)
            try:
                answer = callback(*args, **kwargs)
                run_session_check()  # (no statement proved the session: the check tells)
                return answer
            except HTTPResponse:  # a 404 may be an ended session's: the check tells
                run_session_check()
                raise
            finally:
                check_session_first(None)  # (after any other failure too: nothing left for the next request)
        return wrapper


def authenticated(user_id, session_id):
    request.user_id, request.session_id = user_id, session_id
    request.environ['bucketlist.user_id'] = user_id  # for the request log


def refuse_out_of_scope(needed, token_scope):
    if needed == 'session':
        raise SESSION_SCOPE()
    if needed == 'write' and token_scope != 'write':
        raise READ_SCOPE()
    if needed == 'webhooks' and token_scope != 'webhooks':
        raise WEBHOOK_SCOPE()


class QueryParamsPlugin:
    """Refuses query parameters a route does not take (its ``query`` config), as bodies refuse
    unknown fields: ``?sort=name`` must not look as if it had worked."""
    name, api = 'query_params', 2

    def apply(self, callback, route):
        allowed = set(route.config.get('query', ()))

        def wrapper(*args, **kwargs):
            unknown = sorted(set(request.query) - allowed)
            if unknown:
                name = unknown[0].encode('latin1').decode('utf-8', 'replace')[:64]
                raise APIError(400, f'Unknown query parameter {name!r}.' + (
                    f' This URL takes {", ".join(sorted(allowed))}.' if allowed else ' This URL takes none.'),
                    errors={name: 'Unknown query parameter.'}, kind='invalid-query')
            return callback(*args, **kwargs)
        return wrapper


# Installed first means outermost: errors see everything, the HTML page needs no token.
app.uninstall('json')
app.install(ErrorsPlugin())
app.install(QueryParamsPlugin())
app.install(JSONPlugin())
app.install(browsable.BrowsablePlugin())
app.install(TokenAuthPlugin())


# --- Every request and response ------------------------------------------------------------------

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
                raise APIError(400, f'The {name[5:].replace("_", "-").title()} header is not valid UTF-8.') from None
    given = environ.get('HTTP_X_REQUEST_ID', '')
    environ['bucketlist.request_id'] = given if REQUEST_ID.fullmatch(given) else os.urandom(16).hex()
    # No URL of ours has them; Bottle's patterns would let a trailing newline match.
    if CONTROL_CHARACTERS.search(environ.get('PATH_INFO', '')):
        raise APIError(400, 'The path holds control characters.')
    # Bottle drops the bytes that are not UTF-8 (/metr%ffics would be /metrics, past a proxy's
    # rule for that path): refused instead.
    if not environ.get('bottle.raw_path', '').isascii():
        try:
            environ['bottle.raw_path'].encode('latin1').decode('utf-8')
        except UnicodeError:
            raise APIError(400, 'The path is not valid UTF-8.') from None
    if request.method not in SAFE_METHODS and is_cross_site():
        raise CROSS_SITE()
    if request.method == 'OPTIONS' and cors_origin():
        raise HTTPResponse(status=204, **{
            'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE',
            'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match, If-None-Match, '
                                            'Idempotency-Key, Last-Event-ID, X-Request-ID',
            'Access-Control-Max-Age': '600'})


@app.hook('after_request')
def finish_request():
    # Returns the connection to the pool, also when the route raised.
    if not db.is_closed():
        db.close()
    add_standard_headers()


def is_cross_site():
    """True for a browser's request that Fetch Metadata or Origin mark as coming from another site
    not listed in CORS_ORIGINS. Other clients send neither header and are never refused."""
    origin = request.environ.get('HTTP_ORIGIN')
    if origin is not None and origin in settings.CORS_ORIGINS:
        return False
    if request.environ.get('HTTP_SEC_FETCH_SITE') == 'cross-site':
        return True
    # Hosts are compared, not schemes: behind a proxy that ends TLS, the app sees plain http.
    return origin is not None and origin.partition('://')[2] != request.environ.get('HTTP_HOST')


def cors_origin():
    """The request's Origin when CORS_ORIGINS allows it, else None."""
    origin = request.get_header('Origin')
    return origin if origin in settings.CORS_ORIGINS else None


def add_standard_headers():
    """The headers of every response, added once: the hook adds them, and so does ``problem_json``
    for an error that replaced the response after the hook ran (Bottle's own 500)."""
    if 'X-Request-ID' in response:
        return
    response.set_header('X-Request-ID', request.environ.get('bucketlist.request_id', ''))
    response.set_header('X-Content-Type-Options', 'nosniff')
    response.set_header('Cache-Control', 'no-store')
    route = request.environ.get('bottle.route')
    vary = ['Accept'] if route is not None and browsable.is_resource(route) else []
    if settings.CORS_ORIGINS:
        vary.append('Origin')
        origin = cors_origin()
        if origin:
            response.set_header('Access-Control-Allow-Origin', origin)
            response.set_header('Access-Control-Expose-Headers', 'ETag, Link, X-Total-Count, X-Request-ID')
    if vary:
        response.set_header('Vary', ', '.join(vary))


# --- Reading request bodies ----------------------------------------------------------------------

def read_body():
    """The raw request body, refused with 413 before reading when it is over the limit."""
    if 'bucketlist.body' not in request.environ:
        request.environ['bucketlist.body'] = _read_limited_body()
    return request.environ['bucketlist.body']


class BodyTooSlow(Exception):
    """The client took longer than settings.BODY_READ_SECONDS to send its body."""


def body_deadline():
    """Under gevent, a deadline on reading the body: a client trickling it in holds nothing else
    (the body is read before any database work), but it should not hold its greenlet forever."""
    if UNDER_GEVENT:
        from gevent import Timeout
        return Timeout(settings.BODY_READ_SECONDS, BodyTooSlow)
    return nullcontext()


def _read_limited_body():
    limit = settings.MAX_BODY_BYTES
    too_large = BODY_TOO_LARGE(limit=limit)
    if request.content_length > limit:
        raise too_large
    stream = request.environ.get('wsgi.input')
    chunked = 'chunked' in request.environ.get('HTTP_TRANSFER_ENCODING', '').lower()
    if stream is None or (request.content_length < 0 and not chunked):
        return b''  # neither a length nor chunks: no body (and a server may block on reading one)
    size = request.content_length if request.content_length >= 0 else limit + 1
    try:
        with body_deadline():
            body = stream.read(size) if size else b''
    except BodyTooSlow:
        raise BODY_TOO_SLOW(seconds=settings.BODY_READ_SECONDS) from None
    except Exception as error:  # the server's reader raises its own types: bad chunk sizes, a closed socket
        raise APIError(400, 'The request body could not be read: malformed chunked encoding, or the '
                            'connection closed early.', kind='invalid-body') from error
    if len(body) > limit:
        raise too_large
    if 0 <= request.content_length != len(body):
        raise APIError(400, 'The request body is shorter than its Content-Length.', kind='invalid-body')
    return body


def _refuse_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError('duplicate key')
    return dict(pairs)


def _refuse_constant(name):
    raise ValueError(f'{name} is not JSON')


def request_fields():
    """The request body as (fields, from_form): a JSON object or a URL-encoded form; parsed once a
    request, however many ask (a PATCH of an item looks at its fields before cleaning them)."""
    parsed = request.environ.get('bucketlist.request_fields')
    if parsed is None:
        parsed = request.environ['bucketlist.request_fields'] = _parsed_request_fields()
    return parsed


def _parsed_request_fields():
    body = read_body()
    media_type = request.content_type.split(';')[0].strip().lower()
    if not body and not media_type:
        return {}, False
    if media_type == 'application/json' or media_type.endswith('+json'):
        try:
            fields = json.loads(body.decode('utf-8'), object_pairs_hook=_refuse_duplicate_keys,
                                parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise APIError(400, 'The request body is not valid JSON (UTF-8, no duplicate keys).',
                           kind='invalid-body') from None
        if not isinstance(fields, dict):
            raise INVALID_BODY()
        return fields, False
    if media_type == 'application/x-www-form-urlencoded':
        try:
            pairs = parse_qsl(body.decode('utf-8'), keep_blank_values=True, errors='strict',
                              max_num_fields=MAX_BODY_FIELDS)
        except ValueError:
            raise APIError(400, 'The request body is not a valid UTF-8 URL-encoded form.',
                           kind='invalid-body') from None
        fields = dict(pairs)
        if len(fields) != len(pairs):
            raise APIError(400, 'The request body repeats a field.', kind='invalid-body')
        return fields, True
    raise UNSUPPORTED_MEDIA_TYPE()


def clean_body(declared, required=()):
    """Clean values for the fields of ``declared`` (``fields.Field``s) that the body sends, or 400
    naming every bad field: invalid, missing though ``required``, read-only or unknown."""
    sent, from_form = request_fields()
    if len(sent) > MAX_BODY_FIELDS:
        raise APIError(400, f'The request body has more than {MAX_BODY_FIELDS} fields.', kind='invalid-body')
    errors = {}
    for name in sent.keys() - declared.keys():
        errors[name[:64]] = 'Unknown field.'
    values = {}
    for name, field in declared.items():
        if name not in sent:
            if name in required:
                errors[name] = 'This field is required.'
        elif field.read_only:
            errors[name] = 'This field is read-only.'
        else:
            try:
                values[name] = field.clean(sent[name], from_form)
            except ValueError as invalid:
                errors[name] = str(invalid)
    if errors:
        raise INVALID_FIELDS(names=', '.join(sorted(errors)), errors=errors)
    return values


# --- Query strings and pages ---------------------------------------------------------------------

def query_param(name):
    """One query-string parameter as text (None when absent), or 400."""
    values = request.query.getall(name)
    if len(values) > 1:
        raise INVALID_QUERY(name=name)
    if not values:
        return None
    try:
        text = clean_text(values[0].encode('latin1').decode('utf-8'))
    except (UnicodeError, ValueError):
        raise APIError(400, f'The query parameter {name!r} is not valid UTF-8 text.', kind='invalid-query') from None
    if len(text) > QUERY_VALUE_MAX_LENGTH:
        raise APIError(400, f'The query parameter {name!r} is longer than {QUERY_VALUE_MAX_LENGTH} characters.',
                       errors={name: f'At most {QUERY_VALUE_MAX_LENGTH} characters.'}, kind='invalid-query')
    return text


def query_boolean(name):
    """A true/false query parameter (None when absent), or 400."""
    text = query_param(name)
    if text is not None and text not in FORM_BOOLEANS:
        raise APIError(400, f'The query parameter {name!r} must be true or false.',
                       errors={name: 'Must be true or false.'}, kind='invalid-query')
    return None if text is None else FORM_BOOLEANS[text]


def query_date(name):
    """A YYYY-MM-DD query parameter as a date (None when absent), or 400."""
    text = query_param(name)
    if text is None:
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise APIError(400, f'The query parameter {name!r} must be a date as YYYY-MM-DD.',
                       errors={name: 'Must be a date as YYYY-MM-DD.'}, kind='invalid-query') from None


def query_instant(name):
    """An ISO 8601 date and time query parameter with its offset (2026-11-25T15:43:58Z), as a naive
    UTC datetime as stored (None when absent), or 400."""
    text = query_param(name)
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.upper())  # (RFC 3339 allows a lower-case t and z)
        if moment.tzinfo is None or len(text) > 40:
            raise ValueError(text)
        return moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise APIError(400, f'The query parameter {name!r} must be a date and time with its offset, as '
                            '2026-11-25T15:43:58Z.', errors={name: 'Must be a date and time with its offset.'},
                       kind='invalid-query') from None


def query_choice(name, choices):
    """A query parameter that must be one of ``choices`` (None when absent), or 400."""
    text = query_param(name)
    if text is None:
        return None
    try:
        return one_of(choices)(text)
    except ValueError as invalid:
        raise APIError(400, f'The query parameter {name!r} must be one of {", ".join(choices)}.',
                       errors={name: str(invalid)}, kind='invalid-query') from None


def query_sort_key(fields, default):
    """(the name in ``fields`` that ``?sort=`` asks for, whether descending), or 400."""
    text = query_param('sort')
    text = default if text is None else text
    name = text.removeprefix('-')
    if name not in fields:
        choices = ', '.join(fields)
        raise APIError(400, f"The query parameter 'sort' must be one of {choices}, each optionally with a "
                            "leading '-' for descending order.", errors={'sort': f'Must be one of {choices}.'},
                       kind='invalid-query')
    return name, text.startswith('-')


def positive_query_int(name, default, maximum):
    text = query_param(name)
    if text is None:
        return default
    # The length check first keeps int() away from megabytes of digits.
    if not (text.isascii() and text.isdigit() and len(text) <= len(str(maximum)) and 1 <= int(text) <= maximum):
        raise APIError(400, f'The query parameter {name!r} must be a whole number from 1 to {maximum}.',
                       errors={name: f'Must be a whole number from 1 to {maximum}.'}, kind='invalid-query')
    return int(text)


def page_and_limit():
    """The page (from 1) and rows per page the query string asks for, or 400."""
    return (positive_query_int('page', 1, MAX_ID),
            positive_query_int('limit', settings.PAGE_SIZE, settings.MAX_PAGE_SIZE))


def set_page_headers(total, page, limit):
    """Link (first, prev, next, last) and X-Total-Count for this page of ``total`` rows."""
    last = max(1, -(-total // limit))
    links = {'first': 1, 'last': last}
    if page > 1:
        links['prev'] = min(page - 1, last)
    if page < last:
        links['next'] = page + 1
    # Bottle gives query values decoded as Latin-1: back to the UTF-8 text the client sent.
    other_params = urlencode([(k, v.encode('latin1').decode('utf-8')) for k, v in request.query.allitems()
                              if k not in ('page', 'limit')])
    start = f'{request.path}?{other_params}&' if other_params else f'{request.path}?'
    response.set_header('Link', ', '.join(f'<{start}page={number}&limit={limit}>; rel="{rel}"'
                                          for rel, number in links.items()))
    response.set_header('X-Total-Count', str(total))


# --- Abuse limits --------------------------------------------------------------------------------

def client_address(environ=None):
    """The client's address: the connection's, or X-Forwarded-For's when proxies are trusted."""
    environ = request.environ if environ is None else environ
    hops = settings.TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [a.strip() for a in environ.get('HTTP_X_FORWARDED_FOR', '').split(',')]
        if len(forwarded) >= hops and forwarded[-hops]:
            return forwarded[-hops][:THROTTLE_SUBJECT_MAX_LENGTH]
    return environ.get('REMOTE_ADDR') or '-'


def address_key(address):
    """What one client controls of ``address``, for per-address limits: an IPv4 address, or an
    IPv6 address's /64, which a single host usually has whole."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f'{ip}/64', strict=False))


def throttle_attempt(limits):
    """Count one attempt against each (kind, subject, limit, window); 429 with Retry-After when that
    makes more than ``limit`` in the window. Counting first is what makes it exact: of any number
    of racing attempts at most ``limit`` get through. Returns the ids of the events counted, for
    the caller to forget when the attempt turns out not to count (a login that succeeds)."""
    now = utcnow()
    event_ids = ThrottleEvent.record(limits, now)
    refuse_past_limits(limits, now, counted=True)
    return event_ids


COUNTED_AFTER = 'bucketlist.counted_after'  # (the environ's key of a sync command's failures to count)


def count_failure(limits):
    """Count one failed attempt against each of ``limits`` (those ``throttle_check`` checks), in a
    statement of its own: it must count though the request's write is refused. A sync command's
    transaction is rolled back with its refusal, so commands.py counts its failures after it."""
    deferred = request.environ.get(COUNTED_AFTER)
    if deferred is None:
        ThrottleEvent.record(limits, utcnow())
    else:
        deferred.append(limits)


def throttle_check(limits):
    """429 when one more attempt would pass a limit, without counting it: for a caller that counts
    only the attempts that fail (``ThrottleEvent.record``)."""
    refuse_past_limits(limits, utcnow(), counted=False)


def refuse_past_limits(limits, now, counted):
    """429 with Retry-After if any limit has more events in its window than it allows, the
    attempt at hand included (already ``counted`` among them, or not)."""
    for kind, subject, limit, window in limits:
        allowed = limit if counted else limit - 1
        recent = [event.created_at for event in ThrottleEvent.recent(kind, subject, now - window, allowed + 1)]
        if len(recent) > allowed:
            metrics.record_throttled(kind)
            retry_after = int((recent[-1] + window - now).total_seconds()) + 1
            raise TOO_MANY_ATTEMPTS(headers={'Retry_After': str(retry_after)})


# --- Creating exactly once -----------------------------------------------------------------------

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
        raise APIError(400, f'Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable '
                            'ASCII characters.')
    fingerprint = hashlib.sha256(f'{request.method} {request.path}\n'.encode() + read_body()).hexdigest()
    with db.atomic():
        IdempotencyKey.forget_older_than(request.user_id, utcnow() - IDEMPOTENCY_KEY_LIFETIME)
        try:
            with db.atomic():
                record = IdempotencyKey.create(owner=request.user_id, key=key, fingerprint=fingerprint)
        except IntegrityError:
            record = IdempotencyKey.get((IdempotencyKey.owner == request.user_id) & (IdempotencyKey.key == key))
            if record.fingerprint != fingerprint:
                raise IDEMPOTENCY_KEY_REUSED() from None
            response.status = record.status
            return json.loads(record.body)
        body = create()
        record.status, record.body = response.status_code, json.dumps(body)
        record.save()
        return body
