"""Every setting of the service, read once from the environment at import."""
import os
import secrets
import sys

APP_SETTINGS = os.environ.get('APP_SETTINGS', 'development')
if APP_SETTINGS not in ('development', 'testing', 'staging', 'production'):
    sys.exit(f'APP_SETTINGS must be development, testing, staging or production, not {APP_SETTINGS!r}')
TESTING = APP_SETTINGS == 'testing'


def _postgres_pool_url(url):
    # Hosting providers hand out postgres:// and postgresql:// URLs; we always
    # want the pooled flavour so a request never pays for a new connection.
    scheme, _, rest = url.partition('://')
    if scheme in ('postgres', 'postgresql'):
        return 'postgresql+pool://' + rest
    return url


DATABASE_URL = _postgres_pool_url(os.environ.get('DATABASE_URL', 'sqlite:///bucketlist.db'))

# Connections a worker process may hold open (PostgreSQL only), and how long a
# request waits for one before giving up with 503.
DATABASE_POOL_SIZE = int(os.environ.get('DATABASE_POOL_SIZE', '20'))
DATABASE_POOL_WAIT_SECONDS = float(os.environ.get('DATABASE_POOL_WAIT_SECONDS', '5'))
DATABASE_CONNECT_TIMEOUT_SECONDS = int(os.environ.get('DATABASE_CONNECT_TIMEOUT_SECONDS', '3'))
DATABASE_STATEMENT_TIMEOUT_MS = int(os.environ.get('DATABASE_STATEMENT_TIMEOUT_MS', '5000'))

SECRET = os.environ.get('SECRET', '')
if APP_SETTINGS in ('production', 'staging'):
    if len(SECRET) < 32:
        sys.exit('SECRET must be set to a random string of at least 32 characters '
                 f'when APP_SETTINGS={APP_SETTINGS}')
# Development and tests may run without one: tokens then die with the process.
SECRET_IS_GENERATED = not SECRET
if SECRET_IS_GENERATED:
    SECRET = secrets.token_urlsafe(32)

TOKEN_TTL_SECONDS = int(os.environ.get('TOKEN_TTL_SECONDS', '3600'))

# argon2id cost. Changing these rehashes each password at its owner's next login.
PASSWORD_TIME_COST = int(os.environ.get('PASSWORD_TIME_COST', '1' if TESTING else '3'))
PASSWORD_MEMORY_KIB = int(os.environ.get('PASSWORD_MEMORY_KIB', '1024' if TESTING else '65536'))
# One lane: each worker hashes on one low-priority thread (auth.py), so more lanes only add threads.
PASSWORD_PARALLELISM = int(os.environ.get('PASSWORD_PARALLELISM', '1'))

# Request threads of a worker that may wait for its one password-hashing thread; a login or
# registration past that is 503 at once. Keep it below gunicorn's --threads (Procfile: 4) so a
# login burst always leaves threads for the other routes.
PASSWORD_HASHES_WAITING = int(os.environ.get('PASSWORD_HASHES_WAITING', '2'))

MAX_BODY_BYTES = int(os.environ.get('MAX_BODY_BYTES', str(1024 * 1024)))
PAGE_SIZE = int(os.environ.get('PAGE_SIZE', '20'))
MAX_PAGE_SIZE = int(os.environ.get('MAX_PAGE_SIZE', '100'))

PORT = int(os.environ.get('PORT', '8000'))
WEB_CONCURRENCY = int(os.environ.get('WEB_CONCURRENCY', '2'))

# Abuse limits, counted in the database so every instance shares them.
LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get('LOGIN_FAILURES_PER_ACCOUNT', '5'))
LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get('LOGIN_FAILURES_PER_ADDRESS', '20'))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get('LOGIN_FAILURE_WINDOW_SECONDS', '900'))
REGISTRATIONS_PER_ADDRESS = int(os.environ.get('REGISTRATIONS_PER_ADDRESS', '10'))
REGISTRATION_WINDOW_SECONDS = int(os.environ.get('REGISTRATION_WINDOW_SECONDS', '3600'))

# How many reverse proxies in front of the service append to X-Forwarded-For. 0 (the default)
# trusts no proxy header: the client address is the connection's.
TRUSTED_PROXY_COUNT = int(os.environ.get('TRUSTED_PROXY_COUNT', '0'))

# Origins allowed to call the API from a browser (comma-separated); empty turns CORS off.
CORS_ORIGINS = [origin.strip() for origin in os.environ.get('CORS_ORIGINS', '').split(',') if origin.strip()]
