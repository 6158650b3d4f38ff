"""Passwords (argon2id) and access tokens (HS256 JWTs that logout can revoke)."""
import uuid
from datetime import datetime, timedelta, timezone

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

import settings
from models import MAX_ID, RevokedToken, utcnow

password_hasher = PasswordHasher(time_cost=settings.PASSWORD_TIME_COST,
                                 memory_cost=settings.PASSWORD_MEMORY_KIB,
                                 parallelism=settings.PASSWORD_PARALLELISM,
                                 type=Type.ID)

# Verified when the email is unknown, so that answer takes as long as a wrong password.
DUMMY_HASH = password_hasher.hash('not anybody’s password')

ALGORITHM = 'HS256'
REQUIRED_CLAIMS = ['sub', 'iat', 'exp', 'jti']


class InvalidToken(Exception):
    """The request's credentials do not identify a user; the message says why."""


def hash_password(password):
    return password_hasher.hash(password)


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
    try:
        return password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(user_id):
    now = utcnow()
    claims = {'sub': str(user_id), 'iat': now, 'exp': now + timedelta(seconds=settings.TOKEN_TTL_SECONDS),
              'jti': uuid.uuid4().hex}
    return jwt.encode(claims, settings.SECRET, algorithm=ALGORITHM)


def read_token(authorization):
    """The claims of a valid, unrevoked Bearer token in an Authorization header value.

    The algorithm is pinned, so a token signed with 'none' or any other is refused.
    """
    scheme, _, token = (authorization or '').partition(' ')
    if scheme.lower() != 'bearer' or not token.strip():
        raise InvalidToken('Send an access token as "Authorization: Bearer <token>".')
    try:
        claims = jwt.decode(token.strip(), settings.SECRET, algorithms=[ALGORITHM],
                            options={'require': REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError:
        raise InvalidToken('The access token has expired. Please log in again.')
    except jwt.InvalidTokenError:
        raise InvalidToken('The access token is invalid.')
    subject = claims['sub']
    if not (isinstance(subject, str) and subject.isascii() and subject.isdigit()
            and 0 < int(subject) <= MAX_ID and isinstance(claims['jti'], str)):
        raise InvalidToken('The access token is invalid.')
    if RevokedToken.select().where(RevokedToken.jti == claims['jti']).exists():
        raise InvalidToken('The access token has been revoked. Please log in again.')
    return claims


def revoke_token(claims):
    """Refuse this token from now on, on every instance sharing the database."""
    now = utcnow()
    expires_at = datetime.fromtimestamp(claims['exp'], timezone.utc).replace(tzinfo=None)
    RevokedToken.delete().where(RevokedToken.expires_at < now).execute()
    RevokedToken.insert(jti=claims['jti'], expires_at=expires_at).on_conflict_ignore().execute()
