"""What routes say, declared once: every refusal they make on purpose (its status, kind and text),
and the messages of their successes.

Handlers raise the refusals (``raise BUCKETLIST_NOT_FOUND(bucketlist_id=7)``) and return the
messages (``return BUCKETLIST_DELETED(bucketlist_id=7)``); the OpenAPI document shows both as its
examples, so the two cannot drift apart. ``web.problem_json`` renders every error, these and
Bottle's own, as an RFC 9457 problem document.
"""
from bottle import HTTPError

import settings

# The kinds of refusal a client can act on, each a problem document's ``type``: /problems/<kind>, a
# page this service serves (relative, so that a client compares it whatever host it calls).
# Plain HTTP errors (a body too large, a method not allowed, the database away…) are about:blank.
# {kind: (title, what it means and what to do)}
KINDS = {
    'invalid-fields': ('Invalid fields', 'A body field is invalid, missing, read-only or unknown: `errors` names '
                                         'each with what is wrong with it. Nothing changed.'),
    'invalid-body': ('Unreadable body', 'The body is not one JSON object (or URL-encoded form) in UTF-8, repeats '
                                        'a field, has too many, or ended before its Content-Length.'),
    'invalid-query': ('Invalid query parameter', 'A query parameter is unknown, repeated, out of range or not of '
                                                 'its type (a cursor this API did not give, too).'),
    'token-missing': ('Access token missing', 'Send an access token as "Authorization: Bearer <token>".'),
    'token-invalid': ('Access token invalid', 'The token is malformed or tampered with, or an API token that is '
                                              'unknown, expired or revoked: log in again.'),
    'token-expired': ('Access token expired', 'Exchange the refresh token at POST /auth/refresh for new tokens, '
                                              'then send the request again.'),
    'session-ended': ('Session ended', 'The session of this access token has ended (a logout, a password change, '
                                       'the session ended from another, a refresh token reused): log in again.'),
    'refresh-token-invalid': ('Refresh token invalid', 'The refresh token is unknown, expired or used up; a reuse '
                                                       'ends the session. Log in again.'),
    'wrong-credentials': ('Wrong email or password', 'No account has this email and password. Failed logins are '
                                                     'limited per account and per address.'),
    'wrong-password': ('Wrong password', 'The current password sent to confirm this change is not right. Nothing '
                                         'changed and the session stays: ask for the password again. Wrong '
                                         'passwords count toward the login throttle.'),
    'account-exists': ('Account exists', 'An account with this email exists already: log in.'),
    'not-found': ('Not found', 'No such resource you may see: it does not exist, or is somebody else\'s and not '
                               'shared with you.'),
    'unknown-email': ('Unknown email', 'No account has this email: its owner must register first.'),
    'viewer': ('Viewer', 'You are a viewer of this bucketlist: you may read it and its items, not change them.'),
    'owner-only': ('Owner only', 'Only the owner renames or deletes a bucketlist and manages its members (a member '
                                 'may leave).'),
    'read-only-token': ('Read-only token', 'This API token has the read scope: it may only read.'),
    'session-only': ('Session only', 'API tokens cannot manage sessions, API tokens, the password or the account, '
                                     'or export it: log in for that.'),
    'cross-site': ('Cross-site request', 'A browser\'s request from another site whose origin CORS_ORIGINS does '
                                         'not list.'),
    'quota-exceeded': ('Quota exceeded', 'The account, the bucketlist or the item holds the most it may '
                                         '(bucketlists, labels, items, steps, members or API tokens): delete one '
                                         'first.'),
    'name-taken': ('Name taken', 'You have a bucketlist with this name already: names are unique per owner.'),
    'label-name-taken': ('Label name taken', 'You have a label with this name already: label names are unique per '
                                             'account, ignoring case.'),
    'unknown-label': ('Unknown label', 'A label id in `labels` is not one of your labels: each account puts its '
                                       'own labels on items (GET /labels). Nothing changed.'),
    'already-a-member': ('Already a member', 'The email is the owner\'s or a member\'s of this bucketlist already.'),
    'owner-role-fixed': ('Owner\'s role fixed', 'The owner\'s role does not change, and the owner does not leave '
                                                 'their own list: they delete it.'),
    'changed-since-read': ('Changed since read', 'If-Match names none of the resource\'s current ETags: it changed '
                                                 'since you read it. Nothing changed; read it again.'),
    'due-time-without-date': ('Due time without a date', 'The item would have a due_time and no due_date: '
                                                         'send a due_date with it, or clear the time. Nothing '
                                                         'changed.'),
    'due-time-out-of-range': ('Due time out of range', 'The due_date and due_time in time_zone fall before '
                                                       'year 1 or after year 9999 in UTC: the instant has no '
                                                       'date. Nothing changed.'),
    'recurrence-without-date': ('Recurrence without a date', 'The item would repeat with no due_date to repeat '
                                                             'from: send a due_date with the recurrence, or clear '
                                                             'it. Nothing changed.'),
    'unsupported-recurrence': ('Unsupported recurrence', 'The RRULE is well-formed but not one this service keeps '
                                                         '(a part twice, a part its FREQ does not take here, COUNT '
                                                         'with UNTIL, a date that does not exist) or it never '
                                                         'occurs after the due: `errors` says why. Nothing '
                                                         'changed.'),
    'list-in-trash': ('Bucketlist in the trash', 'The item was deleted from a bucketlist that is in the trash now: '
                                                 'restore the bucketlist first, then the item.'),
    'webhook-url-refused': ('Webhook URL refused', 'A webhook must be an https URL (http only where the service '
                                                    'allows it) of a public host: not this machine, a private network '
                                                    'or a link-local (metadata) address.'),
    'webhooks-scope': ('Webhooks scope needed', 'Webhooks send the account\'s changes to a URL: only a session or an '
                                                'API token with the webhooks scope manages them.'),
    'too-many-streams': ('Too many streams', 'The account has EVENT_STREAMS_PER_ACCOUNT event streams open on this '
                                             'worker already: close one, or wait, then connect again.'),
    'unknown-temp-id': ('Unknown temp id', 'A sync command names a temp_id that no earlier command of its batch '
                                           'gave: nothing ran.'),
    'failed-dependency': ('Failed dependency', "A sync command names the temp_id of an earlier command that failed: "
                                               'nothing ran. Fix that one and send both again.'),
    'idempotency-key-reused': ('Idempotency key reused', 'This Idempotency-Key was used for a different request '
                                                         '(method, path or body).'),
    'cursor-too-old': ('Cursor too old', 'The cursor is older than the deletions kept (SYNC_TOMBSTONE_DAYS): sync '
                                         'from scratch, without a cursor.'),
}
PLAIN = 'about:blank'  # the type of plain HTTP errors


def type_uri(kind):
    """A problem document's ``type`` for ``kind`` (None: a plain HTTP error)."""
    return f'/problems/{kind}' if kind else PLAIN


class APIError(HTTPError):
    """A failure the client can act on; ``errors`` maps field names to what is wrong with them,
    ``kind`` (one of KINDS, or None) says which."""

    def __init__(self, status, detail, errors=None, kind=None, **headers):
        if kind is not None and kind not in KINDS:
            raise ValueError(f'no problem kind {kind!r}')
        super().__init__(status, detail, **headers)
        self.errors, self.kind = errors, kind


class Problem:
    """A refusal: its status, its kind (KINDS; None: a plain HTTP error), and its detail as a
    template naming its values ({bucketlist_id}); ``example`` fills them for the OpenAPI document."""

    def __init__(self, status, kind, detail, **example):
        if kind is not None and kind not in KINDS:
            raise ValueError(f'no problem kind {kind!r}')
        self.status, self.kind, self.detail, self.example = status, kind, detail, example

    def __call__(self, errors=None, headers=None, **values):
        return APIError(self.status, self.detail.format(**values), errors=errors, kind=self.kind, **(headers or {}))

    def example_detail(self, **values):
        return self.detail.format(**{**self.example, **values})


BUCKETLIST_NOT_FOUND = Problem(404, 'not-found', 'Bucketlist {bucketlist_id} does not exist.', bucketlist_id=1)
ITEM_NOT_FOUND = Problem(404, 'not-found', 'Item {item_id} does not exist in bucketlist {bucketlist_id}.',
                         item_id=1, bucketlist_id=1)
NO_ACCOUNT_WITH_EMAIL = Problem(404, 'unknown-email', 'No account has this email: its owner must register first.')
NO_SUCH_SESSION = Problem(404, 'not-found', 'You have no session {session_id}.', session_id=1)
NO_SUCH_API_TOKEN = Problem(404, 'not-found', 'You have no API token {token_id}.', token_id=1)
NOT_A_MEMBER = Problem(404, 'not-found', 'User {user_id} is not a member of bucketlist {bucketlist_id}.',
                       user_id=2, bucketlist_id=1)
STEP_NOT_FOUND = Problem(404, 'not-found', 'Step {step_id} does not exist in item {item_id}.', step_id=1, item_id=1)
LABEL_NOT_FOUND = Problem(404, 'not-found', 'You have no label {label_id}.', label_id=1)
FEED_NOT_FOUND = Problem(404, 'not-found', 'No calendar feed has this URL (rotated, or mistyped).')
NOT_IN_TRASH = Problem(404, 'not-found', 'Your trash holds no {what} {object_id}.', what='item', object_id=7)
NO_SUCH_INVITATION = Problem(404, 'not-found', 'You have no invitation {invitation_id}.', invitation_id=1)

BUCKETLIST_QUOTA = Problem(
    409, 'quota-exceeded',
    'You already have {most} bucketlists, the most one account may hold (MAX_BUCKETLISTS_PER_USER).',
    most=settings.MAX_BUCKETLISTS_PER_USER)
ITEM_QUOTA = Problem(
    409, 'quota-exceeded',
    'Bucketlist {bucketlist_id} already holds {most} items, the most one may hold (MAX_ITEMS_PER_BUCKETLIST).',
    bucketlist_id=1, most=settings.MAX_ITEMS_PER_BUCKETLIST)
MEMBER_QUOTA = Problem(
    409, 'quota-exceeded',
    'Bucketlist {bucketlist_id} already has {most} members, the most one may have (MAX_MEMBERS_PER_BUCKETLIST).',
    bucketlist_id=1, most=settings.MAX_MEMBERS_PER_BUCKETLIST)
API_TOKEN_QUOTA = Problem(
    409, 'quota-exceeded',
    'You already have {most} API tokens, the most one account may hold (MAX_API_TOKENS_PER_USER): revoke one first.',
    most=settings.MAX_API_TOKENS_PER_USER)
STEP_QUOTA = Problem(
    409, 'quota-exceeded',
    'Item {item_id} already has {most} steps, the most one may have (MAX_STEPS_PER_ITEM).',
    item_id=1, most=settings.MAX_STEPS_PER_ITEM)
LABEL_QUOTA = Problem(
    409, 'quota-exceeded',
    'You already have {most} labels, the most one account may hold (MAX_LABELS_PER_USER): delete one first.',
    most=settings.MAX_LABELS_PER_USER)
LABEL_NAME_TAKEN = Problem(409, 'label-name-taken', 'You already have a label named {name!r} (ignoring case).',
                           name='Errands')
UNKNOWN_LABEL = Problem(422, 'unknown-label', 'You have no label {label_id}.', label_id=7)
NAME_TAKEN = Problem(409, 'name-taken', 'You already have a bucketlist named {name!r}.',
                     name='Go to Borabora for vacation')
LIST_IN_TRASH = Problem(409, 'list-in-trash', 'Bucketlist {bucketlist_id} of this item is in the trash: restore '
                                             'it first.', bucketlist_id=1)
ALREADY_A_MEMBER = Problem(409, 'already-a-member', '{email} is a member of bucketlist {bucketlist_id} already.',
                           email='grace@example.com', bucketlist_id=1)
OWNER_ALREADY = Problem(409, 'already-a-member', 'You own bucketlist {bucketlist_id} already.', bucketlist_id=1)
ALREADY_INVITED = Problem(409, 'already-a-member', '{email} is invited to bucketlist {bucketlist_id} already.',
                          email='grace@example.com', bucketlist_id=1)
OWNER_ROLE_FIXED = Problem(409, 'owner-role-fixed',
                           'You own bucketlist {bucketlist_id}: that is not a role to change.', bucketlist_id=1)
OWNER_CANNOT_LEAVE = Problem(409, 'owner-role-fixed',
                             'You own bucketlist {bucketlist_id}: delete it instead of leaving it.', bucketlist_id=1)

VIEWER_CANNOT_WRITE = Problem(403, 'viewer',
                              'As a viewer of bucketlist {bucketlist_id} you may read it, not change it.',
                              bucketlist_id=1)
OWNER_ONLY = Problem(403, 'owner-only',
                     'Only the owner of bucketlist {bucketlist_id} may rename it, delete it or manage its members.',
                     bucketlist_id=1)
ONLY_THE_OWNER_REMOVES = Problem(403, 'owner-only',
                                 'Only the owner of bucketlist {bucketlist_id} removes other members; you may leave.',
                                 bucketlist_id=1)
READ_SCOPE = Problem(403, 'read-only-token', 'This API token has the read scope: it cannot change anything.')
SESSION_SCOPE = Problem(403, 'session-only', 'API tokens cannot manage sessions, API tokens, the password or the '
                                             'account: log in for that.')
CROSS_SITE = Problem(403, 'cross-site', 'Cross-site requests from a browser are refused; an origin must be listed '
                                        'in CORS_ORIGINS to call this API.')
WRONG_PASSWORD = Problem(403, 'wrong-password', 'The password is not right.')

TOKEN_MISSING = Problem(401, 'token-missing', 'Send an access token as "Authorization: Bearer <token>".')
TOKEN_INVALID = Problem(401, 'token-invalid', 'The access token is invalid.')
TOKEN_EXPIRED = Problem(401, 'token-expired', 'The access token has expired. Refresh it, or log in again.')
API_TOKEN_INVALID = Problem(401, 'token-invalid', 'The API token is invalid, expired or revoked.')
SESSION_ENDED = Problem(401, 'session-ended', 'The session of this access token has ended. Please log in again.')
REFRESH_TOKEN_INVALID = Problem(401, 'refresh-token-invalid', 'The refresh token is invalid. Please log in again.')
WRONG_CREDENTIALS = Problem(401, 'wrong-credentials', 'Invalid email or password, Please try again')
METRICS_TOKEN_NEEDED = Problem(401, None, 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".')
METRICS_OFF = Problem(404, None, 'Metrics are off: set METRICS_TOKEN to turn them on.')
ACCOUNT_EXISTS = Problem(409, 'account-exists', 'User already exists. Please login.')

CHANGED_SINCE_READ = Problem(412, 'changed-since-read',
                             'The resource has changed since you read it; fetch it again (If-Match).')
DUE_TIME_WITHOUT_DATE = Problem(422, 'due-time-without-date',
                                'A due_time needs a due_date: send one with it, or clear the time.')
DUE_TIME_OUT_OF_RANGE = Problem(422, 'due-time-out-of-range',
                                'This due_date and due_time in {time_zone} fall outside years 1 to 9999 in UTC.',
                                time_zone='Etc/GMT+12')
RECURRENCE_WITHOUT_DATE = Problem(422, 'recurrence-without-date',
                                  'A recurrence needs a due_date: send one with it, or clear the recurrence.')
UNSUPPORTED_RECURRENCE = Problem(422, 'unsupported-recurrence', 'This recurrence cannot be kept: {reason}',
                                 reason='FREQ=DAILY takes no BYDAY here.')
NO_SUCH_WEBHOOK = Problem(404, 'not-found', 'You have no webhook {webhook_id}.', webhook_id=1)
NO_SUCH_DELIVERY = Problem(404, 'not-found', 'Webhook {webhook_id} has no delivery {message_id}.', webhook_id=1,
                           message_id=42)
UNSEEN_WEBHOOK_LIST = Problem(422, 'invalid-fields', 'You see no bucketlist {bucketlist_id}.', bucketlist_id=1)
WEBHOOK_QUOTA = Problem(
    409, 'quota-exceeded',
    'You already have {most} webhooks, the most one account may hold (MAX_WEBHOOKS_PER_USER): delete one first.',
    most=settings.MAX_WEBHOOKS_PER_USER)
WEBHOOK_URL_REFUSED = Problem(422, 'webhook-url-refused', 'This URL cannot receive webhooks: {reason}.',
                              reason='its host is a loopback address')
WEBHOOK_SCOPE = Problem(403, 'webhooks-scope', 'Only a session or an API token with the webhooks scope manages '
                                               'webhooks.')
TOO_MANY_STREAMS = Problem(429, 'too-many-streams',
                           'You have {most} event streams open here already (EVENT_STREAMS_PER_ACCOUNT).',
                           most=settings.EVENT_STREAMS_PER_ACCOUNT)
STREAMS_FULL = Problem(503, None, 'This worker holds all the event streams it may (EVENT_STREAMS_PER_WORKER): '
                                  'connect again in a moment.')
IDEMPOTENCY_KEY_REUSED = Problem(422, 'idempotency-key-reused',
                                 'This Idempotency-Key was already used for a different request.')
UNKNOWN_TEMP_ID = Problem(422, 'unknown-temp-id', '{name} names the temp_id {temp_id!r}, which no earlier command '
                                                  'of this batch created.', name='bucketlist_id', temp_id='trip')
FAILED_DEPENDENCY = Problem(424, 'failed-dependency', '{name} names the temp_id {temp_id!r} of a command that failed.',
                            name='bucketlist_id', temp_id='trip')
COMMAND_REUSED = Problem(422, 'idempotency-key-reused', 'This uuid was already used for a different command.')
TEMP_ID_TAKEN = Problem(422, 'invalid-fields', 'The temp_id {temp_id!r} is an earlier command\'s of this batch.',
                        temp_id='trip')
CURSOR_TOO_OLD = Problem(410, 'cursor-too-old', 'This cursor is older than the deletions kept (SYNC_TOMBSTONE_DAYS, '
                                                '{days} days): sync from scratch, without a cursor.',
                         days=settings.SYNC_TOMBSTONE_DAYS)
INVALID_FIELDS = Problem(400, 'invalid-fields', 'The request body has invalid fields: {names}.', names='name')
INVALID_BODY = Problem(400, 'invalid-body', 'The request body must be a JSON object.')
INVALID_QUERY = Problem(400, 'invalid-query', 'The query parameter {name!r} is given more than once.', name='page')

BODY_TOO_SLOW = Problem(408, None, 'The request body did not arrive within {seconds} seconds.',
                        seconds=settings.BODY_READ_SECONDS)
BODY_TOO_LARGE = Problem(413, None, 'The request body is larger than {limit} bytes.', limit=settings.MAX_BODY_BYTES)
UNSUPPORTED_MEDIA_TYPE = Problem(415, None, 'Send the body as application/json or application/x-www-form-urlencoded.')
TOO_MANY_ATTEMPTS = Problem(429, None, 'Too many attempts. Please try again later.')
INTERNAL_ERROR = Problem(500, None, 'The server could not complete the request.')  # details go to the log only
FILE_FORBIDDEN = Problem(403, None, 'You do not have permission to access this file.')  # Bottle's own
DATABASE_UNAVAILABLE = Problem(503, None, 'The database is unavailable. Please retry shortly.')
SCHEMA_BEHIND = Problem(503, None, 'The database schema is behind this release: run "python migrations.py" '
                                   '(the release phase).')

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
PASSWORD_CHANGED = Message('Your password was changed: every session ended; use the new tokens.')
API_TOKEN_REVOKED = Message('The API token was revoked.')
BUCKETLIST_DELETED = Message('bucketlist {bucketlist_id} deleted successfully', bucketlist_id=1)
STEP_DELETED = Message('step {step_id} deleted successfully', step_id=1)
WEBHOOK_DELETED = Message('webhook {webhook_id} deleted successfully', webhook_id=1)
LABEL_DELETED = Message('label {label_id} deleted successfully', label_id=1)
ITEM_DELETED = Message('item {item_id} deleted successfully', item_id=1)
BUCKETLIST_PURGED = Message('bucketlist {bucketlist_id} deleted for good', bucketlist_id=1)
ITEM_PURGED = Message('item {item_id} deleted for good', item_id=7)
INVITATION_DECLINED = Message('You declined the invitation to bucketlist {bucketlist_id}.', bucketlist_id=1)
INVITATION_WITHDRAWN = Message('The invitation of user {user_id} to bucketlist {bucketlist_id} was withdrawn.',
                               user_id=2, bucketlist_id=1)
MEMBER_REMOVED = Message('User {user_id} is no longer a member of bucketlist {bucketlist_id}.', user_id=2,
                         bucketlist_id=1)
