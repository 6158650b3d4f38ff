"""What routes say, declared once: every refusal they make on purpose (its status and text), and
the messages of their successes.

Handlers raise the refusals (``raise BUCKETLIST_NOT_FOUND(bucketlist_id=7)``) and return the
messages (``return BUCKETLIST_DELETED(bucketlist_id=7)``); the OpenAPI document shows both as its
examples, so the two cannot drift apart. ``web.problem_json`` renders every error, these and
Bottle's own, as an RFC 9457 problem document.
"""
from bottle import HTTPError

import settings


class APIError(HTTPError):
    """A failure the client can act on; ``errors`` maps field names to what is wrong with them."""

    def __init__(self, status, detail, errors=None, **headers):
        super().__init__(status, detail, **headers)
        self.errors = errors


class Problem:
    """A refusal: its status, and its detail as a template naming its values ({bucketlist_id});
    ``example`` fills them for the OpenAPI document."""

    def __init__(self, status, detail, **example):
        self.status, self.detail, self.example = status, detail, example

    def __call__(self, errors=None, headers=None, **values):
        return APIError(self.status, self.detail.format(**values), errors=errors, **(headers or {}))

    def example_detail(self, **values):
        return self.detail.format(**{**self.example, **values})


BUCKETLIST_NOT_FOUND = Problem(404, 'Bucketlist {bucketlist_id} does not exist.', bucketlist_id=1)
ITEM_NOT_FOUND = Problem(404, 'Item {item_id} does not exist in bucketlist {bucketlist_id}.', item_id=1,
                         bucketlist_id=1)
NO_ACCOUNT_WITH_EMAIL = Problem(404, 'No account has this email: its owner must register first.')
NO_SUCH_SESSION = Problem(404, 'You have no session {session_id}.', session_id=1)
NO_SUCH_API_TOKEN = Problem(404, 'You have no API token {token_id}.', token_id=1)
NOT_A_MEMBER = Problem(404, 'User {user_id} is not a member of bucketlist {bucketlist_id}.', user_id=2,
                       bucketlist_id=1)

BUCKETLIST_QUOTA = Problem(
    409, 'You already have {most} bucketlists, the most one account may hold (MAX_BUCKETLISTS_PER_USER).',
    most=settings.MAX_BUCKETLISTS_PER_USER)
ITEM_QUOTA = Problem(
    409, 'Bucketlist {bucketlist_id} already holds {most} items, the most one may hold (MAX_ITEMS_PER_BUCKETLIST).',
    bucketlist_id=1, most=settings.MAX_ITEMS_PER_BUCKETLIST)
MEMBER_QUOTA = Problem(
    409, 'Bucketlist {bucketlist_id} already has {most} members, the most one may have (MAX_MEMBERS_PER_BUCKETLIST).',
    bucketlist_id=1, most=settings.MAX_MEMBERS_PER_BUCKETLIST)
API_TOKEN_QUOTA = Problem(
    409, 'You already have {most} API tokens, the most one account may hold (MAX_API_TOKENS_PER_USER): revoke one '
         'first.', most=settings.MAX_API_TOKENS_PER_USER)
NAME_TAKEN = Problem(409, 'You already have a bucketlist named {name!r}.', name='Go to Borabora for vacation')
ALREADY_A_MEMBER = Problem(409, '{email} is a member of bucketlist {bucketlist_id} already.',
                           email='grace@example.com', bucketlist_id=1)
OWNER_ALREADY = Problem(409, 'You own bucketlist {bucketlist_id} already.', bucketlist_id=1)
OWNER_ROLE_FIXED = Problem(409, 'You own bucketlist {bucketlist_id}: that is not a role to change.', bucketlist_id=1)
OWNER_CANNOT_LEAVE = Problem(409, 'You own bucketlist {bucketlist_id}: delete it instead of leaving it.',
                             bucketlist_id=1)

VIEWER_CANNOT_WRITE = Problem(403, 'As a viewer of bucketlist {bucketlist_id} you may read it, not change it.',
                              bucketlist_id=1)
OWNER_ONLY = Problem(403, 'Only the owner of bucketlist {bucketlist_id} may rename it, delete it or manage its '
                          'members.', bucketlist_id=1)
ONLY_THE_OWNER_REMOVES = Problem(403, 'Only the owner of bucketlist {bucketlist_id} removes other members; you may '
                                      'leave.', bucketlist_id=1)
READ_SCOPE = Problem(403, 'This API token has the read scope: it cannot change anything.')
SESSION_SCOPE = Problem(403, 'API tokens cannot manage sessions, API tokens, the password or the account: '
                             'log in for that.')
CROSS_SITE = Problem(403, 'Cross-site requests from a browser are refused; an origin must be listed in '
                          'CORS_ORIGINS to call this API.')

REFRESH_TOKEN_INVALID = Problem(401, 'The refresh token is invalid. Please log in again.')
METRICS_TOKEN_NEEDED = Problem(401, 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".')
METRICS_OFF = Problem(404, 'Metrics are off: set METRICS_TOKEN to turn them on.')
SESSION_ENDED = Problem(401, 'The session of this access token has ended. Please log in again.')
WRONG_CREDENTIALS = Problem(401, 'Invalid email or password, Please try again')
ACCOUNT_EXISTS = Problem(409, 'User already exists. Please login.')

CHANGED_SINCE_READ = Problem(412, 'The resource has changed since you read it; fetch it again (If-Match).')
BODY_TOO_SLOW = Problem(408, 'The request body did not arrive within {seconds} seconds.',
                        seconds=settings.BODY_READ_SECONDS)
BODY_TOO_LARGE = Problem(413, 'The request body is larger than {limit} bytes.', limit=settings.MAX_BODY_BYTES)
UNSUPPORTED_MEDIA_TYPE = Problem(415, 'Send the body as application/json or application/x-www-form-urlencoded.')
IDEMPOTENCY_KEY_REUSED = Problem(422, 'This Idempotency-Key was already used for a different request.')
TOO_MANY_ATTEMPTS = Problem(429, 'Too many attempts. Please try again later.')
INTERNAL_ERROR = Problem(500, 'The server could not complete the request.')  # details go to the log only
METHOD_NOT_ALLOWED = Problem(405, 'Method not allowed.')  # Bottle's own
FILE_FORBIDDEN = Problem(403, 'You do not have permission to access this file.')  # Bottle's own
DATABASE_UNAVAILABLE = Problem(503, 'The database is unavailable. Please retry shortly.')
CURSOR_TOO_OLD = Problem(410, 'This cursor is older than the deletions kept (SYNC_TOMBSTONE_DAYS, {days} days): sync '
                              'from scratch, without a cursor.', days=settings.SYNC_TOMBSTONE_DAYS)
INVALID_FIELDS = Problem(400, 'The request body has invalid fields: {names}.', names='name')


class Message:
    """The message of a success, as a template naming its values; ``example`` fills them for the
    OpenAPI document."""

    def __init__(self, text, **example):
        self.text, self.example = text, example

    def __call__(self, **values):
        return {'message': self.text.format(**values)}

    def example_body(self):
        return self(**self.example)


REGISTERED = Message('You registered successfully. Please login.')
LOGGED_IN = Message('You logged in successfully.')
LOGGED_OUT = Message('You logged out successfully.')
SESSION_ENDED_BY_YOU = Message('The session was ended.')
ACCOUNT_DELETED = Message('Your account was deleted.')
PASSWORD_CHANGED = Message('Your password was changed; your other sessions were ended.')
API_TOKEN_REVOKED = Message('The API token was revoked.')
BUCKETLIST_DELETED = Message('bucketlist {bucketlist_id} deleted successfully', bucketlist_id=1)
ITEM_DELETED = Message('item {item_id} deleted successfully', item_id=1)
MEMBER_REMOVED = Message('User {user_id} is no longer a member of bucketlist {bucketlist_id}.', user_id=2,
                         bucketlist_id=1)
