"""Passwords (argon2id), sessions with their access tokens (HS256 JWTs naming the session) and
rotating refresh tokens, and API tokens."""
import collections
import functools
import hashlib
import os
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

import problems
import settings
from fields import MAX_ID
from models import UNDER_GEVENT, ApiToken, RefreshToken, Session, User, db, locked, utcnow

password_hasher = PasswordHasher(time_cost=settings.PASSWORD_TIME_COST,
                                 memory_cost=settings.PASSWORD_MEMORY_KIB,
                                 parallelism=settings.PASSWORD_PARALLELISM,
                                 type=Type.ID)

# Verified when the email is unknown, so that answer takes as long as a wrong password.
DUMMY_HASH = password_hasher.hash('not anybody’s password')

ALGORITHM = 'HS256'
# RFC 9068's type and audience for access tokens: a token signed with the same SECRET for any
# other purpose lacks them and is refused (RFC 8725 §3.11, §3.12).
TOKEN_TYPE = 'at+jwt'
AUDIENCE = 'bucketlist-api'
REQUIRED_CLAIMS = ['iss', 'aud', 'sub', 'sid', 'iat', 'exp', 'jti']
# API tokens say what they are, so a leaked one is recognisable (secret scanners) and never
# mistaken for a JWT.
API_TOKEN_PREFIX = 'blt_'


class InvalidToken(Exception):
    """The request's credentials do not identify a user: ``refusal`` (problems.py) says why."""

    def __init__(self, refusal):
        super().__init__(refusal.detail)
        self.kind = refusal.kind


def _lower_priority():
    # The lowest: a hash gets only the CPU no request wants, so a burst of logins leaves every
    # other route its throughput (bench.py's login burst); logins wait, and past
    # ADDRESS_WAIT_SECONDS or PASSWORD_HASHES_WAITING get a 503 with Retry-After.
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)  # this thread only, on Linux
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
else:
    _hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix='argon2')
_address_lines = {}  # client address -> [its lock, requests holding or waiting for it]
_address_lines_lock = threading.Lock()
# How long a login waits for its turn (behind its own address's, then in the line of addresses)
# before it is refused; and how many addresses may wait in that line.
ADDRESS_WAIT_SECONDS = 5
ADDRESSES_WAITING = 64


class HashingBusy(Exception):
    """This worker's line for password hashing is full, or did not move in time: retry in a moment."""


class FairPlaces:
    """``size`` places, handed out first come, first served: a place freed goes straight to the
    request that has waited longest, never back to whoever freed it. Each client address has one
    request at most in this line (``hashing_slot``), so addresses take turns: two addresses
    flooding logins cannot keep every place from a third."""

    def __init__(self, size):
        self._free, self._waiting, self._lock = size, collections.deque(), threading.Lock()

    def acquire(self, timeout):
        """A place, within ``timeout`` seconds: True; or False (too many waiting, or too long)."""
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return True
            if len(self._waiting) >= ADDRESSES_WAITING:
                return False
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True
        with self._lock:
            if turn.is_set():  # handed its place just as it gave up
                return True
            self._waiting.remove(turn)
            return False

    def release(self):
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


_hash_slots = FairPlaces(settings.PASSWORD_HASHES_WAITING)


@contextmanager
def hashing_slot(address):
    """Hold one of this worker's PASSWORD_HASHES_WAITING places for password work, or raise
    HashingBusy. Login and registration take it first, so a request that would only queue is
    refused before it costs a query.

    One client ``address`` holds at most one place: its other requests wait in a line of its
    own (cheaply, up to ADDRESS_WAIT_SECONDS), so a flood from one address neither fills the
    places nor spins on refusals that would take the CPU from everybody else's hashing. The
    addresses then take turns at the places (FairPlaces): a flood from several addresses slows
    everybody's login alike, by a hash per address ahead, and fails nobody's.
    """
    with _address_lines_lock:
        line = _address_lines.setdefault(address, [threading.Lock(), 0])
        line[1] += 1
    try:
        started = time.monotonic()
        if not line[0].acquire(timeout=ADDRESS_WAIT_SECONDS):
            raise HashingBusy()
        try:
            if not _hash_slots.acquire(timeout=max(0, ADDRESS_WAIT_SECONDS - (time.monotonic() - started))):
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
    def lowered():
        _lower_priority()  # each time: a pool may replace its thread
        return work()
    return _hashing.submit(lowered).result()


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


def issue_token(user_id, session_id, session_expires_at):
    """An access token of that session, lasting TOKEN_TTL_SECONDS or until the session's end."""
    issued = time.time()
    until = session_expires_at.replace(tzinfo=UTC).timestamp()
    claims = {'iss': settings.TOKEN_ISSUER, 'aud': AUDIENCE, 'sub': str(user_id), 'sid': session_id,
              'iat': issued, 'exp': min(issued + settings.TOKEN_TTL_SECONDS, until), 'jti': uuid.uuid4().hex}
    return jwt.encode(claims, settings.SECRET, algorithm=ALGORITHM, headers={'typ': TOKEN_TYPE})


def read_token(token):
    """The claims of a valid access token, or InvalidToken.

    The algorithm is pinned, so a token signed with 'none' or any other is refused. Whether its
    session is still open needs the database: the caller checks it (``refuse_ended``, or in its
    own query).
    """
    try:
        claims = _verified_claims(token)
    except jwt.InvalidTokenError:
        raise InvalidToken(problems.TOKEN_INVALID) from None
    if claims['exp'] <= time.time():  # checked on every use: the claims may come from the cache
        raise InvalidToken(problems.TOKEN_EXPIRED)
    subject, session_id = claims['sub'], claims['sid']
    if not (isinstance(subject, str) and subject.isascii() and subject.isdigit() and 0 < int(subject) <= MAX_ID
            and type(session_id) is int and 0 < session_id <= MAX_ID and isinstance(claims['jti'], str)):
        raise InvalidToken(problems.TOKEN_INVALID)
    return claims


def bearer_token(authorization):
    """The token of an Authorization header value ("Bearer <token>"), or InvalidToken."""
    scheme, _, token = (authorization or '').partition(' ')
    if scheme.lower() != 'bearer' or not token.strip():
        raise InvalidToken(problems.TOKEN_MISSING)
    return token.strip()


def refuse_ended(session_id, user_id):
    if not Session.is_open(session_id, user_id):
        raise InvalidToken(problems.SESSION_ENDED)


def secret_hash(secret):
    """How refresh and API tokens are stored: their SHA-256. They are 256 random bits, so a slow
    hash would add nothing but cost."""
    return hashlib.sha256(secret.encode('utf-8', 'surrogatepass')).hexdigest()


# --- Sessions ------------------------------------------------------------------------------------

def open_session(user, user_agent):
    """A new session of ``user``'s: (access token, refresh token, its access token's lifetime), or
    None when the password just checked has changed since. Past MAX_SESSIONS_PER_USER, the
    least recently used sessions end, dead ones first."""
    now = utcnow()
    with db.atomic():
        # The account's row, locked: a password change racing this login either comes first (and
        # this login fails) or ends this session too; and racing logins take turns at the cap.
        current = locked(User.select(User.password_hash).where(User.id == user.id)).get_or_none()
        if current is None or current.password_hash != user.password_hash:
            return None
        Session.delete().where((Session.user == user.id) & ~Session.is_alive(now)).execute()
        surplus = (Session.select(Session.id).where(Session.user == user.id)
                   .order_by(Session.last_used.desc(), Session.id.desc()).offset(settings.MAX_SESSIONS_PER_USER - 1))
        Session.delete().where(Session.id.in_(surplus)).execute()
        session = Session.create(user=user.id, date_created=now, last_used=now, user_agent=user_agent,
                                 expires_at=now + timedelta(seconds=settings.SESSION_MAX_AGE_SECONDS))
        return _new_tokens(session, now, parent_hash=None)


def _new_tokens(session, now, parent_hash):
    refresh_token = secrets.token_urlsafe(32)
    RefreshToken.create(token_hash=secret_hash(refresh_token), session=session.id, parent_hash=parent_hash,
                        expires_at=min(now + timedelta(seconds=settings.REFRESH_TOKEN_TTL_SECONDS),
                                       session.expires_at))
    access_token = issue_token(session.user_id, session.id, session.expires_at)
    expires_in = min(settings.TOKEN_TTL_SECONDS, int((session.expires_at - now).total_seconds()))
    return access_token, refresh_token, expires_in


class RefreshRefused(Exception):
    """The refresh token does not renew a session; the message says why."""


# How many times one refresh token may be exchanged, its first use and a client's retries within
# REFRESH_GRACE_SECONDS together; one more is reuse.
EXCHANGES_PER_REFRESH_TOKEN = 3


def refresh_session(refresh_token):
    """Exchange a refresh token for a new access token and a new refresh token (rotation), as
    ``open_session`` returns them, or raise RefreshRefused.

    A refresh token used before, past REFRESH_GRACE_SECONDS, is reuse: one of the two holders of
    it is a thief, so the whole session ends. Within the window it is a client retrying a
    refresh whose answer it lost (or two tabs racing), and it gets a new pair too, a few times
    at most. The answers to one token are siblings: using one of them uses them all up, so
    whichever copy is presented later is reuse. Racing refreshes take turns on the session's
    row (FOR UPDATE; SQLite's transactions take turns whole).
    """
    now, token_hash = utcnow(), secret_hash(refresh_token)
    with db.atomic():  # (a refusal returns from it, so that ending a session is committed)
        # The session's row first, then the token's: the order in which ending a session (ON
        # DELETE CASCADE) takes them, so that a refresh and a logout never deadlock.
        session = locked(Session.select().where(Session.id == RefreshToken.select(RefreshToken.session).where(
            RefreshToken.token_hash == token_hash))).get_or_none()
        stored = session and locked(RefreshToken.select().where(RefreshToken.token_hash == token_hash)).get()
        refusal = _refusal(session, stored, now)
        if refusal is None:
            siblings = (RefreshToken.token_hash == token_hash) if stored.parent_hash is None else (
                RefreshToken.parent_hash == stored.parent_hash)
            RefreshToken.update(used_at=now).where((RefreshToken.session == session.id) & siblings
                                                   & RefreshToken.used_at.is_null()).execute()
            RefreshToken.delete().where((RefreshToken.session == session.id)
                                        & (RefreshToken.expires_at <= now)).execute()
            Session.update(last_used=now).where(Session.id == session.id).execute()
            return _new_tokens(session, now, parent_hash=token_hash)
    raise RefreshRefused(refusal)


def _refusal(session, stored, now):
    """Why this refresh token renews nothing (ending its session on reuse), or None."""
    if session is None:
        return problems.REFRESH_TOKEN_INVALID.detail
    # A used token is a client's retry only within the grace window, a few times, and only if it
    # was exchanged itself: one used up because a sibling (another answer to the same token) was
    # exchanged is the other holder's, and two holders would each keep a lineage going.
    if stored.used_at is not None:
        exchanges = RefreshToken.select().where(RefreshToken.parent_hash == stored.token_hash).count()
        if (now - stored.used_at > timedelta(seconds=settings.REFRESH_GRACE_SECONDS)
                or not 0 < exchanges < EXCHANGES_PER_REFRESH_TOKEN):
            session.delete_instance()
            return ('This refresh token was already used, so it may have been stolen: its session has been '
                    'ended. Please log in again.')
    if stored.expires_at <= now or session.expires_at <= now:
        return 'The refresh token has expired. Please log in again.'
    return None


def end_session(session_id, user_id):
    """End a session of this user's (its refresh tokens go with it); False when there is none."""
    return Session.delete().where((Session.id == session_id) & (Session.user == user_id)).execute() > 0


# --- API tokens ----------------------------------------------------------------------------------

def new_api_token():
    """A new API token: (the token, shown once, and the hash stored)."""
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, secret_hash(token)


# When this process last wrote each API token's last_used: at most once a minute, so using a
# token does not turn every read into a write.
_api_tokens_touched = {}
LAST_USED_RESOLUTION = timedelta(minutes=1)


def read_api_token(token):
    """(token id, user id, scope) of a valid API token, or InvalidToken."""
    now, token_hash = utcnow(), secret_hash(token)
    holder = ApiToken.holder(token_hash, now)
    if holder is None:
        raise InvalidToken(problems.API_TOKEN_INVALID)
    if now - _api_tokens_touched.get(token_hash, datetime.min) >= LAST_USED_RESOLUTION:
        if len(_api_tokens_touched) > 10_000:
            _api_tokens_touched.clear()
        ApiToken.update(last_used=now).where(ApiToken.id == holder[0]).execute()
        _api_tokens_touched[token_hash] = now
    return holder


@functools.lru_cache(maxsize=4096)
def _verified_claims(token):
    """The claims of a token whose signature and claims check out, remembered per process.

    A token is sent again and again; checking its HMAC each time was 8 % of a request. The
    cache is keyed by the whole token, so only the very same bytes skip the check; expiry and
    the session are still checked on every request. Raises jwt.InvalidTokenError.
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
