"""Every setting of the service, read once at import from the environment and, for local work,
from a ``.env`` file in the working directory (the real environment wins; .env.example lists them)."""
import os
import secrets
import sys

from dotenv import load_dotenv

if os.environ.get('APP_SETTINGS') != 'testing':  # tests choose every setting themselves
    load_dotenv(os.path.join(os.getcwd(), '.env'), override=False)

APP_SETTINGS = os.environ.get('APP_SETTINGS', 'development')
if APP_SETTINGS not in ('development', 'testing', 'staging', 'production'):
    sys.exit(f'APP_SETTINGS must be development, testing, staging or production, not {APP_SETTINGS!r}')
TESTING = APP_SETTINGS == 'testing'


def integer(name, default, minimum=0):
    """The whole-number setting ``name``; the process exits with one line naming it when it is not one."""
    text = os.environ.get(name, str(default)).strip()
    if not (text.isascii() and text.isdigit() and int(text) >= minimum):
        sys.exit(f'{name} must be a whole number of at least {minimum}, not {text!r}')
    return int(text)


def number(name, default, minimum=0.0):
    text = os.environ.get(name, str(default)).strip()
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value >= minimum or value == float('inf'):
        sys.exit(f'{name} must be a number of at least {minimum}, not {text!r}')
    return value


def numbers(name, default):
    """The setting ``name``: comma-separated numbers of at least 0 (one at least)."""
    text = os.environ.get(name, default).strip()
    try:
        values = [float(part) for part in text.split(',')]
    except ValueError:
        values = []
    if not values or not all(0 <= value < float('inf') for value in values):
        sys.exit(f'{name} must be numbers of at least 0, separated by commas, not {text[:80]!r}')
    return values


def flag(name):
    """The on/off setting ``name``: 1 or 0 (unset: 0)."""
    text = os.environ.get(name, '0').strip()
    if text not in ('0', '1'):
        sys.exit(f'{name} must be 1 or 0, not {text!r}')
    return text == '1'


def _postgres_pool_url(url):
    # Hosting providers hand out postgres:// and postgresql:// URLs; we always
    # want the pooled flavour so a request never pays for a new connection.
    scheme, _, rest = url.partition('://')
    if scheme in ('postgres', 'postgresql', 'postgresql+pool') and rest:
        return 'postgresql+pool://' + rest
    if scheme == 'sqlite' and rest.startswith('/'):
        return url
    sys.exit(f'DATABASE_URL must be sqlite:///<path> or postgresql://<user>@<host>/<database> '
             f'(postgres:// too), not {url[:80]!r}')


DATABASE_URL = _postgres_pool_url(os.environ.get('DATABASE_URL', 'sqlite:///bucketlist.db'))

# Connections a worker process may hold open (PostgreSQL only), and how long a
# request waits for one before giving up with 503.
DATABASE_POOL_SIZE = integer('DATABASE_POOL_SIZE', 20, minimum=1)
DATABASE_POOL_WAIT_SECONDS = number('DATABASE_POOL_WAIT_SECONDS', 5)
# libpq waits at least 2 s for a connection; a network that silently drops packets is noticed
# after DATABASE_NETWORK_TIMEOUT_MS (TCP keepalives and tcp_user_timeout).
DATABASE_CONNECT_TIMEOUT_SECONDS = integer('DATABASE_CONNECT_TIMEOUT_SECONDS', 2, minimum=2)
DATABASE_STATEMENT_TIMEOUT_MS = integer('DATABASE_STATEMENT_TIMEOUT_MS', 5000, minimum=1)
DATABASE_NETWORK_TIMEOUT_MS = integer('DATABASE_NETWORK_TIMEOUT_MS', 2000, minimum=1000)
# What stands between the service and PostgreSQL: 'none' (a direct connection, or PgBouncer in
# session mode) or 'transaction' (PgBouncer in transaction mode: no prepared statements, and
# the statement timeout is set in every transaction, since a session's settings do not last).
DATABASE_POOLER = os.environ.get('DATABASE_POOLER', 'none')
if DATABASE_POOLER not in ('none', 'transaction'):
    sys.exit(f"DATABASE_POOLER must be none or transaction, not {DATABASE_POOLER!r}")

# Weak secrets: fewer distinct characters than this cannot hold 128 random bits in 32 characters.
SECRET_MIN_LENGTH, SECRET_MIN_DISTINCT_CHARACTERS = 32, 12
SECRET = os.environ.get('SECRET', '')
if APP_SETTINGS in ('production', 'staging'):
    if len(SECRET) < SECRET_MIN_LENGTH or len(set(SECRET)) < SECRET_MIN_DISTINCT_CHARACTERS:
        sys.exit(f'SECRET must be set to a random string of at least {SECRET_MIN_LENGTH} characters, '
                 f'{SECRET_MIN_DISTINCT_CHARACTERS} of them different, when APP_SETTINGS={APP_SETTINGS} '
                 f'({"it is not set" if not SECRET else "this one is too short or too plain"}; for example: '
                 f'python3 -c "import secrets; print(secrets.token_urlsafe(48))")')
# Development and tests may run without one: tokens then die with the process.
SECRET_IS_GENERATED = not SECRET
if SECRET_IS_GENERATED:
    SECRET = secrets.token_urlsafe(32)

TOKEN_TTL_SECONDS = integer('TOKEN_TTL_SECONDS', 3600, minimum=1)
# Sessions: a refresh token unused this long expires (each refresh makes a new one); a session
# ends this long after its login, refreshed or not; a refresh token presented again within the
# grace window (a client retrying a refresh whose answer it lost) is honoured, after it is reuse
# and ends the session.
REFRESH_TOKEN_TTL_SECONDS = integer('REFRESH_TOKEN_TTL_SECONDS', 30 * 86400, minimum=1)
SESSION_MAX_AGE_SECONDS = integer('SESSION_MAX_AGE_SECONDS', 90 * 86400, minimum=1)
REFRESH_GRACE_SECONDS = integer('REFRESH_GRACE_SECONDS', 30)
# Who issues the tokens and for whom: a token signed with the same SECRET for anything else
# (another service, another kind of token) is refused.
TOKEN_ISSUER = os.environ.get('TOKEN_ISSUER', 'bucketlist')

# argon2id cost. Changing these rehashes each password at its owner's next login.
PASSWORD_TIME_COST = integer('PASSWORD_TIME_COST', 1 if TESTING else 3, minimum=1)
PASSWORD_MEMORY_KIB = integer('PASSWORD_MEMORY_KIB', 1024 if TESTING else 65536, minimum=8)
# One lane: each worker hashes on one low-priority thread (auth.py), so more lanes only add threads.
PASSWORD_PARALLELISM = integer('PASSWORD_PARALLELISM', 1, minimum=1)

# Requests of a worker that may wait for its one password-hashing thread; a login or
# registration past that is 503 at once. One client address may hold only one of them.
PASSWORD_HASHES_WAITING = integer('PASSWORD_HASHES_WAITING', 2, minimum=1)

MAX_BODY_BYTES = integer('MAX_BODY_BYTES', 1024 * 1024, minimum=1)
PAGE_SIZE = integer('PAGE_SIZE', 20, minimum=1)
MAX_PAGE_SIZE = integer('MAX_PAGE_SIZE', 100, minimum=PAGE_SIZE)

# Quotas: what one account may hold, so that every answer stays bounded.
MAX_BUCKETLISTS_PER_USER = integer('MAX_BUCKETLISTS_PER_USER', 1000, minimum=1)
MAX_ITEMS_PER_BUCKETLIST = integer('MAX_ITEMS_PER_BUCKETLIST', 500, minimum=1)
# A login past MAX_SESSIONS_PER_USER ends the account's least recently used session.
MAX_SESSIONS_PER_USER = integer('MAX_SESSIONS_PER_USER', 100, minimum=1)
MAX_API_TOKENS_PER_USER = integer('MAX_API_TOKENS_PER_USER', 100, minimum=1)
MAX_MEMBERS_PER_BUCKETLIST = integer('MAX_MEMBERS_PER_BUCKETLIST', 50, minimum=1)
MAX_LABELS_PER_USER = integer('MAX_LABELS_PER_USER', 500, minimum=1)
MAX_STEPS_PER_ITEM = integer('MAX_STEPS_PER_ITEM', 100, minimum=1)
# Adding members by email tells whether an address has an account: this many misses an hour per
# account, then 429.
UNKNOWN_EMAILS_PER_HOUR = integer('UNKNOWN_EMAILS_PER_HOUR', 20, minimum=1)
# Invitations to share a list: this many an hour sent by one owner, and received by one account
# (from all owners together), then 429.
INVITATIONS_PER_HOUR = integer('INVITATIONS_PER_HOUR', 20, minimum=1)
# Deletions are remembered this long for /sync; a cursor older than the ones kept is 410.
SYNC_TOMBSTONE_DAYS = integer('SYNC_TOMBSTONE_DAYS', 30, minimum=1)
# POST /sync runs at most this many commands a request (and its body is bounded by MAX_BODY_BYTES).
SYNC_MAX_COMMANDS = integer('SYNC_MAX_COMMANDS', 100, minimum=1)
TRASH_DAYS = integer('TRASH_DAYS', 30, minimum=1)  # how long a deleted list or item can be restored
ACTIVITY_DAYS = integer('ACTIVITY_DAYS', 365, minimum=1)  # how long a list's activity is kept

# Webhooks (webhooks.py, worker.py). A receiver gets WEBHOOK_TIMEOUT_SECONDS to answer; a delivery
# that fails is tried again after each of WEBHOOK_RETRY_SECONDS in turn (about a day), then its
# endpoint is turned off. A worker process makes WEBHOOK_CONCURRENCY deliveries at once, at most
# one at a time to each endpoint, and looks for due ones every WEBHOOK_POLL_SECONDS when idle.
MAX_WEBHOOKS_PER_USER = integer('MAX_WEBHOOKS_PER_USER', 10, minimum=1)
WEBHOOK_TIMEOUT_SECONDS = number('WEBHOOK_TIMEOUT_SECONDS', 10, minimum=0.1)
WEBHOOK_RETRY_SECONDS = numbers('WEBHOOK_RETRY_SECONDS', '5,300,1800,7200,18000,36000,36000')
WEBHOOK_CONCURRENCY = integer('WEBHOOK_CONCURRENCY', 8, minimum=1)
WEBHOOK_POLL_SECONDS = number('WEBHOOK_POLL_SECONDS', 1, minimum=0.01)
WEBHOOK_KEEP_DAYS = integer('WEBHOOK_KEEP_DAYS', 7, minimum=1)  # the delivery log's
# Receivers must be https and public; development may allow http, and tests private addresses
# (never production or staging: a webhook could then reach the host's own services).
WEBHOOK_ALLOW_HTTP = flag('WEBHOOK_ALLOW_HTTP')
WEBHOOK_ALLOW_PRIVATE = flag('WEBHOOK_ALLOW_PRIVATE')
if WEBHOOK_ALLOW_PRIVATE and APP_SETTINGS in ('production', 'staging'):
    sys.exit(f'WEBHOOK_ALLOW_PRIVATE is for tests only: it must not be set when APP_SETTINGS={APP_SETTINGS}')

# Live event streams (GET /events): at most this many open at once per account and per worker
# process; a comment every EVENT_HEARTBEAT_SECONDS keeps idle ones open through proxies; a stream
# ends after EVENT_STREAM_MAX_SECONDS (the client resumes it with Last-Event-ID). On SQLite, which
# cannot wake them, streams look for changes every EVENT_POLL_SECONDS.
EVENT_STREAMS_PER_ACCOUNT = integer('EVENT_STREAMS_PER_ACCOUNT', 5, minimum=1)
EVENT_STREAMS_PER_WORKER = integer('EVENT_STREAMS_PER_WORKER', 500, minimum=1)
EVENT_HEARTBEAT_SECONDS = number('EVENT_HEARTBEAT_SECONDS', 15, minimum=0.1)
EVENT_STREAM_MAX_SECONDS = number('EVENT_STREAM_MAX_SECONDS', 3600, minimum=0.1)
EVENT_POLL_SECONDS = number('EVENT_POLL_SECONDS', 1, minimum=0.05)

PORT = integer('PORT', 8000)
# /health answers within this, database or not: load balancers give up on it after a few seconds.
HEALTH_SECONDS = 2
# A request's body must arrive within this (408 after), so a client trickling it in holds nothing long.
BODY_READ_SECONDS = 10
# The running version, for /health: the release (CHANGELOG.md's newest), and where a Heroku-style
# host says which commit it built (SOURCE_VERSION), that commit as build metadata: 3.1.0+1a2b3c4d5e6f.
RELEASE = '3.4.0'
COMMIT = os.environ.get('SOURCE_VERSION') or os.environ.get('HEROKU_SLUG_COMMIT') or ''
VERSION = f'{RELEASE}+{COMMIT[:12]}' if COMMIT else RELEASE

# Logs: LOG_LEVEL of the service's own lines (one per request at INFO), in LOG_FORMAT text or
# json (then every line on the stream is one JSON object, gunicorn's included).
LOG_LEVEL = os.environ.get('LOG_LEVEL', 'INFO').upper()
if LOG_LEVEL not in ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'):
    sys.exit(f'LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, not {LOG_LEVEL!r}')
LOG_FORMAT = os.environ.get('LOG_FORMAT', 'text')
if LOG_FORMAT not in ('text', 'json'):
    sys.exit(f'LOG_FORMAT must be text or json, not {LOG_FORMAT!r}')

# /metrics is off unless METRICS_TOKEN is set; then it needs "Authorization: Bearer <METRICS_TOKEN>".
METRICS_TOKEN = os.environ.get('METRICS_TOKEN', '')
WEB_CONCURRENCY = integer('WEB_CONCURRENCY', 2, minimum=1)

# Abuse limits, counted in the database so every instance shares them. Failed logins lock an
# account only for the address they came from; from all addresses together they only slow it.
LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = integer('LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS', 5, minimum=1)
LOGIN_FAILURES_PER_ACCOUNT = integer('LOGIN_FAILURES_PER_ACCOUNT', 100, minimum=1)
LOGIN_FAILURES_PER_ADDRESS = integer('LOGIN_FAILURES_PER_ADDRESS', 20, minimum=1)
LOGINS_PER_ADDRESS = integer('LOGINS_PER_ADDRESS', 60, minimum=1)
LOGIN_FAILURE_WINDOW_SECONDS = integer('LOGIN_FAILURE_WINDOW_SECONDS', 900, minimum=1)
REGISTRATIONS_PER_ADDRESS = integer('REGISTRATIONS_PER_ADDRESS', 10, minimum=1)
REGISTRATION_WINDOW_SECONDS = integer('REGISTRATION_WINDOW_SECONDS', 3600, minimum=1)

# How many reverse proxies in front of the service append to X-Forwarded-For. 0 (the default)
# trusts no proxy header: the client address is the connection's.
TRUSTED_PROXY_COUNT = integer('TRUSTED_PROXY_COUNT', 0)

# Origins allowed to call the API from a browser (comma-separated); empty turns CORS off.
CORS_ORIGINS = [origin.strip() for origin in os.environ.get('CORS_ORIGINS', '').split(',') if origin.strip()]
