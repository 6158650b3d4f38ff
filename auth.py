"""Passwords (argon2id) and access tokens (HS256 JWTs that logout can revoke)."""
import functools
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

import settings
from models import MAX_ID, UNDER_GEVENT, RevokedToken, utcnow

password_hasher = PasswordHasher(time_cost=settings.PASSWORD_TIME_COST,
                                 memory_cost=settings.PASSWORD_MEMORY_KIB,
                                 parallelism=settings.PASSWORD_PARALLELISM,
                                 type=Type.ID)

# Verified when the email is unknown, so that answer takes as long as a wrong password.
DUMMY_HASH = password_hasher.hash('not anybody’s password')

# A new password's length; any length is checked at login (a longer one just cannot match).
PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 8, 1024

ALGORITHM = 'HS256'
# RFC 9068's type and audience for access tokens: a token signed with the same SECRET for any
# other purpose lacks them and is refused (RFC 8725 §3.11, §3.12).
TOKEN_TYPE = 'at+jwt'
AUDIENCE = 'bucketlist-api'
REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'iat', 'exp', 'jti']


class InvalidToken(Exception):
    """The request's credentials do not identify a user; the message says why."""


def _lower_priority():
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # this thread only, on Linux
    except (AttributeError, OSError):
        pass  # elsewhere hashing keeps the normal priority


# Hashing is slow on purpose (tens of milliseconds of CPU and 64 MiB each). One low-priority
# thread per worker process does all of it, so a burst of logins queues here instead of
# taking the CPU from every other request; and at most PASSWORD_HASHES_WAITING request
# threads of a worker may wait on it, so the other threads stay free for everything else.
# Under gevent (gunicorn's gevent workers) threads are greenlets; hashing needs a real one.
if UNDER_GEVENT:
    from gevent.threadpool import ThreadPoolExecutor as NativeThreadPoolExecutor
    _hashing = NativeThreadPoolExecutor(max_workers=1)
    _hashing.submit(_lower_priority)
else:
    _hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix='argon2', initializer=_lower_priority)
_hash_slots = threading.BoundedSemaphore(settings.PASSWORD_HASHES_WAITING)
_address_lines = {}  # client address -> [its lock, requests holding or waiting for it]
_address_lines_lock = threading.Lock()
# How long a login waits behind another one from the same address before it is refused.
ADDRESS_WAIT_SECONDS = 5


class HashingBusy(Exception):
    """This worker already has PASSWORD_HASHES_WAITING hashes queued: retry in a moment."""


@contextmanager
def hashing_slot(address):
    """Hold one of this worker's PASSWORD_HASHES_WAITING places for password work, or raise
    HashingBusy. Login and registration take it first, so a request that would only queue is
    refused before it costs a query.

    One client ``address`` holds at most one place: its other requests wait in a line of its
    own (cheaply, up to ADDRESS_WAIT_SECONDS), so a flood from one address neither fills the
    places nor spins on refusals that would take the CPU from everybody else's hashing.
    """
    with _address_lines_lock:
        line = _address_lines.setdefault(address, [threading.Lock(), 0])
        line[1] += 1
    try:
        if not line[0].acquire(timeout=ADDRESS_WAIT_SECONDS):
            raise HashingBusy()
        try:
            if not _hash_slots.acquire(blocking=False):
                raise HashingBusy()
            try:
                yield
            finally:
                _hash_slots.release()
        finally:
            line[0].release()
    finally:
        with _address_lines_lock:
            line[1] -= 1
            if not line[1]:
                del _address_lines[address]


def hashes_queued():
    """Logins and registrations of this worker holding or waiting for a hashing place."""
    return sum(waiting for _, waiting in list(_address_lines.values()))


def _on_hashing_thread(work):
    """Run ``work`` on the hashing thread and wait for it; the caller holds a ``hashing_slot``."""
    return _hashing.submit(work).result()


def hash_password(password):
    return _on_hashing_thread(lambda: password_hasher.hash(password))


def check_password(user, password):
    """True when ``password`` is the user's (``user`` may be None). Rehashes on a cost change."""
    if user is None:
        _verify(DUMMY_HASH, password)
        return False
    if not _verify(user.password_hash, password):
        return False
    if password_hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        user.save(only=[type(user).password_hash])
    return True


def _verify(password_hash, password):
    def verify():
        try:
            return password_hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
    return _on_hashing_thread(verify)


def issue_token(user_id):
    now = utcnow()
    # iat with its fraction of a second: a password reset refuses tokens issued before it, to
    # the microsecond (tokens_valid_after), not to the second.
    issued = now.replace(tzinfo=UTC).timestamp()
    claims = {'iss': settings.TOKEN_ISSUER, 'aud': AUDIENCE, 'sub': str(user_id), 'iat': issued,
              'exp': issued + settings.TOKEN_TTL_SECONDS, 'jti': uuid.uuid4().hex}
    return jwt.encode(claims, settings.SECRET, algorithm=ALGORITHM, headers={'typ': TOKEN_TYPE})


def read_token(authorization):
    """The claims of a valid Bearer token in an Authorization header value, or InvalidToken.

    The algorithm is pinned, so a token signed with 'none' or any other is refused. Revocation
    needs the database: the caller checks it (``refuse_revoked``, or in its own query).
    """
    scheme, _, token = (authorization or '').partition(' ')
    if scheme.lower() != 'bearer' or not token.strip():
        raise InvalidToken('Send an access token as "Authorization: Bearer <token>".')
    try:
        claims = _verified_claims(token.strip())
    except jwt.InvalidTokenError:
        raise InvalidToken('The access token is invalid.')
    if claims['exp'] <= time.time():  # checked on every use: the claims may come from the cache
        raise InvalidToken('The access token has expired. Please log in again.')
    subject = claims['sub']
    if not (isinstance(subject, str) and subject.isascii() and subject.isdigit()
            and 0 < int(subject) <= MAX_ID and isinstance(claims['jti'], str)):
        raise InvalidToken('The access token is invalid.')
    return claims


def issued_at(claims):
    """When the token was issued, as the database stores times (naive UTC)."""
    return datetime.fromtimestamp(claims['iat'], UTC).replace(tzinfo=None)


def refuse_revoked(claims):
    if RevokedToken.is_revoked(claims['jti'], int(claims['sub']), issued_at(claims)):
        raise InvalidToken('The access token has been revoked. Please log in again.')


@functools.lru_cache(maxsize=4096)
def _verified_claims(token):
    """The claims of a token whose signature and claims check out, remembered per process.

    A token is sent again and again; checking its HMAC each time was 8 % of a request. The
    cache is keyed by the whole token, so only the very same bytes skip the check; expiry and
    revocation are still checked on every request. Raises jwt.InvalidTokenError.
    """
    if jwt.get_unverified_header(token).get('typ') != TOKEN_TYPE:
        raise jwt.InvalidTokenError('not an access token')
    claims = jwt.decode(token, settings.SECRET, algorithms=[ALGORITHM], audience=AUDIENCE,
                        issuer=settings.TOKEN_ISSUER,
                        options={'require': REQUIRED_CLAIMS, 'verify_exp': False})
    if not all(isinstance(claims[name], (int, float)) and not isinstance(claims[name], bool)
               for name in ('exp', 'iat')):
        raise jwt.InvalidTokenError('exp or iat is not a number')
    return claims


def revoke_token(claims):
    """Refuse this token from now on, on every instance sharing the database."""
    now = utcnow()
    expires_at = datetime.fromtimestamp(claims['exp'], UTC).replace(tzinfo=None)
    RevokedToken.delete().where(RevokedToken.expires_at < now).execute()
    RevokedToken.insert(jti=claims['jti'], expires_at=expires_at).on_conflict_ignore().execute()
