"""The OpenAPI 3.1 document of the API, served at /openapi.json, and the Swagger UI page at /docs."""
import importlib.util
import os

import commands
import problems
import settings
import sync
import web
import webhooks
from fields import (
    ACCOUNT,
    ACTIVITY_ENTRY,
    ANSWER_TEXT_MAX,
    API_TOKEN,
    BUCKETLIST,
    BUCKETLIST_SORTS,
    COMPLETION,
    DATE,
    DELIVERY,
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    EVENT_TYPES,
    EXAMPLE_TIME,
    ID,
    INVITATION,
    ITEM,
    ITEM_SORTS,
    LABEL,
    LOGIN,
    MAX_ID,
    MEMBER,
    MEMBER_CHANGE,
    MOVE,
    NAME_MAX_LENGTH,
    NAME_PATTERN,
    NO_NUL_PATTERN,
    PASSWORD_CHANGE,
    PASSWORD_CONFIRMATION,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    PRIORITY,
    QUERY_VALUE_MAX_LENGTH,
    REFRESH,
    REGISTRATION,
    ROLES,
    SESSION,
    SHARED_SCHEMAS,
    STEP,
    TIMESTAMP,
    TRASH_ENTRY,
    WEBHOOK,
    answer_schema,
    body_schema,
    component,
    example,
    request_schema,
)
from models import IDEMPOTENCY_KEY_MAX_LENGTH
from web import IDEMPOTENCY_KEY, problem

# --- Building blocks -----------------------------------------------------------------------------


def ref(kind, name):
    return {'$ref': f'#/components/{kind}/{name}'}


schema = component


def response(description, content=None, headers=()):
    """A response object; every response carries X-Request-ID."""
    answer = {'description': description,
              'headers': {name: ref('headers', name) for name in ('X-Request-ID', *headers)}}
    if content:
        answer['content'] = content
    return answer


def json_content(body, example):
    return {'application/json': {'schema': body, 'example': example}}


BODY_SCHEMAS = {}  # each operation's body, named: components.schemas has them beside SCHEMAS


def request_body(name, declared, required=(), body_example=None):
    """A body setting the fields of ``declared``, its schema the component ``name``; its example is
    the fields' own unless ``body_example``. Documented as JSON only: the same fields sent as a
    URL-encoded form (what ``curl -d`` sends) are taken too, as DESCRIPTION says."""
    BODY_SCHEMAS[name] = request_schema(declared, required)
    body_example = example(declared, writable=True) if body_example is None else body_example
    # (Without fields it needs, the body may be left out: a PATCH without one changes nothing.)
    return {'required': bool(required),
            'content': {'application/json': {'schema': schema(name), 'example': body_example}}}


def operation(operation_id, tag, summary, description, responses, parameters=(), body=None,
              public=False, security=()):
    """An operation; every one may answer 400 (a header that is not UTF-8), 500 and 503. A public
    one takes no account's token, but may take the ``security`` schemes of its own."""
    answer = {'operationId': operation_id, 'tags': [tag], 'summary': summary,
              'description': description}
    if parameters:
        answer['parameters'] = [ref('parameters', name) for name in parameters]
    if body:
        answer['requestBody'] = body
    if public:
        answer['security'] = [{scheme: []} for scheme in security]
    answer['responses'] = {'400': ref('responses', 'BadRequest'), **responses,
                           '500': ref('responses', 'InternalServerError'),
                           '503': ref('responses', 'ServiceUnavailable')}
    if not public:
        answer['responses']['401'] = ref('responses', 'Unauthorized')
        answer['responses']['403'] = ref('responses', 'Forbidden')
    answer['responses'] = dict(sorted(answer['responses'].items()))
    return answer


def without_read_only(node):
    """A schema as a request holds it: ``node`` without its readOnly marks."""
    if isinstance(node, dict):
        return {key: without_read_only(value) for key, value in node.items() if key != 'readOnly'}
    return [without_read_only(value) for value in node] if isinstance(node, list) else node


# --- Examples ------------------------------------------------------------------------------------

ITEM_EXAMPLE = example(ITEM)
BUCKETLIST_EXAMPLE = example(BUCKETLIST)
MEMBER_EXAMPLE = example(MEMBER)
INVITATION_EXAMPLE = example(INVITATION)
BUCKETLIST_WITH_ITEMS_EXAMPLE = {**BUCKETLIST_EXAMPLE, 'items': [ITEM_EXAMPLE], 'has_more_items': False}
API_TOKEN_EXAMPLE = example(API_TOKEN)
LABEL_EXAMPLE = example(LABEL)
STEP_EXAMPLE = example(STEP)
TRASH_ENTRY_EXAMPLE = example(TRASH_ENTRY)
ACTIVITY_EXAMPLE = example(ACTIVITY_ENTRY)
COMPLETION_EXAMPLE = example(COMPLETION)
CALENDAR_URL_EXAMPLE = {'url': 'https://bucketlist.example/calendar/1.' + 'kP3vQ8' * 7 + 'x.ics'}
ACCOUNT_EXAMPLE = example(ACCOUNT)
SESSION_EXAMPLE = {**example(SESSION), 'current': True}


def problem_content(refusals, errors=None, **values):
    """A problem document of each refusal (problems.py) as an example, filled with ``values``."""
    bodies = {refusal.kind or 'plain': problem(refusal.status, refusal.example_detail(**values), errors, refusal.kind)
              for refusal in refusals}
    if len(bodies) == 1:
        return {'application/problem+json': {'schema': schema('Problem'), 'example': next(iter(bodies.values()))}}
    return {'application/problem+json': {'schema': schema('Problem'), 'examples': {
        kind: {'summary': body['title'], 'value': body} for kind, body in bodies.items()}}}


# --- Schemas -------------------------------------------------------------------------------------

TOKENS_PROPERTIES = {
    'access_token': {'type': 'string', 'description': 'An HS256 JWT naming the session (its sid claim).'},
    'refresh_token': {'type': 'string', 'description': 'Opaque; exchange it at POST /auth/refresh before it '
                                                       'expires (REFRESH_TOKEN_TTL_SECONDS unused). Keep it secret.'},
    'token_type': {'const': 'Bearer'},
    'expires_in': {'type': 'integer', 'minimum': 0, 'description': 'Seconds the access token lasts.'},
}
TOKENS_EXAMPLE = {'access_token': 'eyJhbGciOiJIUzI1NiJ9…', 'refresh_token': 'nKQ25V0bPezvqZGcNQWahRw1PED9…',
                  'token_type': 'Bearer', 'expires_in': settings.TOKEN_TTL_SECONDS}
LOGGED_IN_EXAMPLE = {**problems.LOGGED_IN.example_body(), **TOKENS_EXAMPLE}

SCHEMAS = {
    'Name': {'type': 'string', 'pattern': NAME_PATTERN,
             'description': f'The name of a bucketlist or item: 1 to {NAME_MAX_LENGTH} characters once '
                            'trimmed of surrounding white space, without NUL.',
             'examples': ['Go to Borabora for vacation']},
    'Email': {'type': 'string', 'pattern': EMAIL_PATTERN, 'maxLength': EMAIL_MAX_LENGTH,
              'description': 'Stored lower-cased; one account per address.',
              'examples': ['ada@example.com']},
    'NewPassword': {'type': 'string', 'minLength': PASSWORD_MIN_LENGTH, 'maxLength': PASSWORD_MAX_LENGTH,
                    'pattern': NO_NUL_PATTERN,
                    'description': f'{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters, without NUL.',
                    'examples': ['difference-engine']},
    'Bucketlist': {
        **answer_schema(BUCKETLIST),
        'description': 'A bucketlist, as lists show it (without its items).',
        'examples': [BUCKETLIST_EXAMPLE],
    },
    'BucketlistWithItems': {
        **answer_schema(BUCKETLIST, items={'type': 'array', 'items': schema('Item'),
                                           'description': 'In position order: all of them, unless has_more_items.'},
                        has_more_items={'type': 'boolean', 'description': (
                            'True when the items hold more text (names and notes) than one answer '
                            f'carries ({ANSWER_TEXT_MAX:,} characters): the first ones (one at least) '
                            'are here, and GET /bucketlists/{id}/items/ pages through them all.')}),
        'description': 'One bucketlist with its items.',
        'examples': [BUCKETLIST_WITH_ITEMS_EXAMPLE],
    },
    'Item': {
        **answer_schema(ITEM),
        'examples': [ITEM_EXAMPLE],
    },
    'CalendarUrl': {
        **body_schema({'url': {'type': 'string', 'format': 'uri'}}, ['url']),
        'examples': [CALENDAR_URL_EXAMPLE],
    },
    'Step': {
        **answer_schema(STEP),
        'description': "One of an item's ordered steps.",
        'examples': [STEP_EXAMPLE],
    },
    'ItemWithSteps': {
        **answer_schema(ITEM, steps={'type': 'array', 'items': schema('Step'), 'description': 'In order.'}),
        'description': 'One item, with its steps.',
        'examples': [{**ITEM_EXAMPLE, 'steps': [STEP_EXAMPLE]}],
    },
    'Label': {
        **answer_schema(LABEL),
        'description': 'One of your labels: you put it on items you see (their `labels`), where only you see it.',
        'examples': [LABEL_EXAMPLE],
    },
    'Webhook': {
        **answer_schema(WEBHOOK),
        'description': 'An endpoint that receives your events, signed as Standard Webhooks says.',
        'examples': [example(WEBHOOK)],
    },
    'WebhookWithSecret': {
        **answer_schema(WEBHOOK, secret={'type': 'string', 'pattern': '^whsec_[A-Za-z0-9+/]+=*$',
                                         'description': 'The signing secret, shown this once (whsec_ and '
                                                        'base64, as Standard Webhooks libraries take it).'}),
        'description': 'A new endpoint, or one whose secret was just rotated: with its signing secret.',
        'examples': [{**example(WEBHOOK), 'secret': 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'}],
    },
    'Delivery': {
        **answer_schema(DELIVERY),
        'description': 'One event sent (or being sent) to an endpoint, with how its last attempt went.',
        'examples': [example(DELIVERY)],
    },
    'Event': {
        'type': 'object', 'required': ['type', 'timestamp', 'data'], 'additionalProperties': False,
        'properties': {'type': {'anyOf': [component('EventType'), {'const': 'ping'}],
                                'description': 'An event type, or `ping` (POST /webhooks/{webhook_id}/ping).'},
                       'timestamp': {**TIMESTAMP, 'description': 'When it happened.'},
                       'data': {'anyOf': [schema('EventChange'), {
                           'type': 'object', 'required': ['webhook_id'], 'properties': {'webhook_id': ID}}],
                           'description': 'The change, as the list\'s activity shows it (a ping: the webhook).'}},
        'description': 'A webhook\'s body: one change to a list you see.',
        'examples': [{'type': 'item.updated', 'timestamp': EXAMPLE_TIME, 'data': ACTIVITY_EXAMPLE}],
    },
    # What a webhook receives is a request to its receiver: the entry's fields are not read-only there.
    'EventChange': {
        **without_read_only(answer_schema(ACTIVITY_ENTRY)),
        'description': 'A change to a list, as its activity shows it (GET /bucketlists/{bucketlist_id}/activity).',
        'examples': [ACTIVITY_EXAMPLE],
    },
    'ActivityEntry': {
        **answer_schema(ACTIVITY_ENTRY),
        'description': 'One change to a bucketlist: who made it, when, by which request, and what it changed.',
        'examples': [ACTIVITY_EXAMPLE],
    },
    'Completion': {
        **answer_schema(COMPLETION),
        'description': 'An item ticked done, or an occurrence of a recurring one: kept through unticks and deletes.',
        'examples': [COMPLETION_EXAMPLE],
    },
    'TrashEntry': {
        **answer_schema(TRASH_ENTRY),
        'description': 'A deleted bucketlist (with its items) or item, until it is restored or purged.',
        'examples': [TRASH_ENTRY_EXAMPLE],
    },
    'Member': {
        **answer_schema(MEMBER),
        'examples': [MEMBER_EXAMPLE],
    },
    'Invitation': {
        **answer_schema(INVITATION),
        'description': 'An invitation to share a bucketlist, as its invitee sees it.',
        'examples': [INVITATION_EXAMPLE],
    },
    'Sync': {
        **body_schema({
            'cursor': {'type': 'string', 'description': 'Send it back as ?cursor= for what changes next.'},
            'has_more': {'type': 'boolean', 'description': 'True: this answer is one page; sync again with its '
                                                           'cursor at once for the rest.'},
            'bucketlists': {'type': 'array', 'items': schema('Bucketlist'),
                            'description': 'Created or changed since the cursor, whole and current.'},
            'items': {'type': 'array', 'items': schema('Item'),
                      'description': 'Created, changed or moved since the cursor, whole and current (with your '
                                     'labels).'},
            'labels': {'type': 'array', 'items': schema('Label'),
                       'description': 'Your labels created or changed since the cursor.'},
            'steps': {'type': 'array', 'items': schema('Step'),
                      'description': 'Steps created, changed or moved since the cursor.'},
            'deleted': body_schema({'bucketlists': {'type': 'array', 'items': ID},
                                    'items': {'type': 'array', 'items': ID},
                                    'labels': {'type': 'array', 'items': ID},
                                    'steps': {'type': 'array', 'items': ID}},
                                   ['bucketlists', 'items', 'labels', 'steps']),
        }, ['cursor', 'has_more', 'bucketlists', 'items', 'labels', 'steps', 'deleted']),
        'description': 'Apply `deleted` first, then the objects, replacing those with the same id. A deleted '
                       'bucketlist takes its items with them, and a deleted item its steps: drop those you hold in '
                       'it. (A deleted list\'s items '
                       'are usually in `deleted.items` too, one may have moved into it since your last sync; a '
                       'list you left or were removed from comes alone.)',
        'examples': [{'cursor': 'WzE3LG51bGwsbnVsbCxudWxsXQ', 'has_more': False, 'bucketlists': [BUCKETLIST_EXAMPLE],
                      'items': [ITEM_EXAMPLE], 'labels': [LABEL_EXAMPLE], 'steps': [STEP_EXAMPLE],
                      'deleted': {'bucketlists': [4], 'items': [7, 9], 'labels': [3], 'steps': [5]}}],
    },
    'Account': {
        **answer_schema(ACCOUNT),
        'examples': [ACCOUNT_EXAMPLE],
    },
    'Export': {
        **body_schema({'account': schema('Account'),
                       'sessions': {'type': 'array', 'items': schema('Session')},
                       'api_tokens': {'type': 'array', 'items': schema('ApiToken')},
                       'labels': {'type': 'array', 'items': schema('Label')},
                       'bucketlists': {'type': 'array', 'items': schema('BucketlistWithItems')},
                       'steps': {'type': 'array', 'items': schema('Step'),
                                 'description': "The steps of your bucketlists' items."},
                       'activity': {'type': 'array', 'items': schema('ActivityEntry'),
                                    'description': 'The activity of your bucketlists, oldest first.'},
                       'completions': {'type': 'array', 'items': schema('Completion'),
                                       'description': 'The completions in your bucketlists, oldest first.'},
                       'trash': {'type': 'array', 'items': {
                           **answer_schema(TRASH_ENTRY, contents={
                               'type': 'object', 'description': 'What a restore brings back: the rows as '
                                                                'they were stored, by table.'}),
                       }, 'description': 'Your trash: the bucketlists you deleted and the items deleted from '
                                         'them, with what each held.'}},
                      ['account', 'sessions', 'api_tokens', 'labels', 'bucketlists', 'steps', 'activity',
                       'completions', 'trash']),
        'description': 'Everything the account holds, in id order; sessions and API tokens without '
                       'their secrets.',
    },
    'Session': {
        **answer_schema(SESSION, current={'type': 'boolean', 'description': 'The session of this request.'}),
        'examples': [SESSION_EXAMPLE],
    },
    'ApiToken': {
        **answer_schema(API_TOKEN),
        'description': 'An API token, without its secret.',
        'examples': [API_TOKEN_EXAMPLE],
    },
    'NewApiToken': {
        **answer_schema(API_TOKEN, token={'type': 'string', 'pattern': '^blt_[A-Za-z0-9_-]{43}$',
                                          'description': 'The secret: shown here only, stored only as a hash.'}),
        'examples': [{**API_TOKEN_EXAMPLE, 'token': 'blt_' + 'x' * 43}],
    },
    'Message': {
        **body_schema({'message': {'type': 'string'}}, ['message']),
        'examples': [problems.BUCKETLIST_DELETED.example_body()],
    },
    'LoggedIn': {
        **body_schema({'message': {'type': 'string'}, **TOKENS_PROPERTIES},
                      ['message', *TOKENS_PROPERTIES]),
        'examples': [LOGGED_IN_EXAMPLE],
    },
    'Tokens': {
        **body_schema(TOKENS_PROPERTIES, list(TOKENS_PROPERTIES)),
        'examples': [TOKENS_EXAMPLE],
    },
    'Health': body_schema({'status': {'const': 'ok'}, 'database': {'const': 'reachable'},
                           'version': {'type': 'string', 'description': 'The release (CHANGELOG.md), and the commit '
                                       'a host built as build metadata where it says which (SOURCE_VERSION).'}},
                          ['status', 'database', 'version']),
    'Ready': body_schema({'status': {'const': 'ready'}, 'version': {'type': 'string'}}, ['status', 'version']),
    'Live': body_schema({'status': {'const': 'ok'}}, ['status']),
    'FrontPage': body_schema({
        'name': {'type': 'string'}, 'version': {'type': 'string'}, 'description': {'type': 'string'},
        'links': {'type': 'object', 'additionalProperties': {'type': 'string'}}},
        ['name', 'version', 'description', 'links']),
    'Problem': {
        **body_schema({
            'type': schema('ProblemType'),
            'title': {'type': 'string', 'description': "The type's title; a plain HTTP error's reason phrase."},
            'status': {'type': 'integer', 'minimum': 400, 'maximum': 599},
            'detail': {'type': 'string', 'description': 'What went wrong, for a person.'},
            'message': {'type': 'string', 'description': 'The same as detail, for tutorial clients.'},
            'errors': {'type': 'object', 'additionalProperties': {'type': 'string'},
                       'description': 'Each invalid field of the body, with what is wrong with it.'},
        }, ['type', 'title', 'status', 'detail', 'message']),
        'description': 'An RFC 9457 problem document: every error, Bottle\'s own 404/405/500 included.',
    },
    'ProblemType': {
        'type': 'string', 'enum': [problems.PLAIN, *map(problems.type_uri, problems.KINDS)],
        'x-enum-varnames': ['PLAIN', *(kind.upper().replace('-', '_') for kind in problems.KINDS)],
        'description': 'Which kind of refusal: act on it, not on the English of detail. A page of this service '
                       'describes each (GET the URI, relative to this service); about:blank is a plain HTTP '
                       'error, its status says it all.\n\n' + '\n'.join(
                           f'- `{problems.type_uri(kind)}`: {meaning}'
                           for kind, (_, meaning) in problems.KINDS.items()),
    },
    **SHARED_SCHEMAS,
}

# --- Parameters and headers ----------------------------------------------------------------------

def sort_parameter(name, sorts, default):
    """?sort=, of the enum ``name`` (fields.SHARED_SCHEMAS) of the ``sorts``."""
    return {'name': 'sort', 'in': 'query', 'example': '-' + sorts[1], 'schema': {**schema(name), 'default': default},
            'description': 'The order: one of the fields, a leading - for descending. Missing values (null) '
                           'come last either way; ties in id order.'}


PARAMETERS = {
    'BucketlistId': {'name': 'bucketlist_id', 'in': 'path', 'required': True, 'schema': ID,
                     'example': 1,
                     'description': 'Digits. Anything but a bucketlist you own or share is 404: '
                                    'another user\'s, a missing one, or an id outside 1..2147483647.'},
    'SessionId': {'name': 'session_id', 'in': 'path', 'required': True, 'schema': ID, 'example': 1,
                  'description': 'A session of yours (GET /auth/sessions); anything else is 404.'},
    'TokenId': {'name': 'token_id', 'in': 'path', 'required': True, 'schema': ID, 'example': 1,
                'description': 'An API token of yours (GET /users/me/tokens); anything else is 404.'},
    'Feed': {'name': 'feed', 'in': 'path', 'required': True,
             'schema': {'type': 'string', 'pattern': '^[0-9]{1,10}[.][A-Za-z0-9_-]{43}[.]ics$'},
             'description': 'The secret part of the URL GET /users/me/calendar gives.'},
    'StepId': {'name': 'step_id', 'in': 'path', 'required': True, 'schema': ID, 'example': 1,
               'description': 'A step of that item; anything else is 404.'},
    'WebhookId': {'name': 'webhook_id', 'in': 'path', 'required': True, 'schema': ID, 'example': 1,
                  'description': 'A webhook of yours (GET /webhooks); anything else is 404.'},
    'MessageId': {'name': 'message_id', 'in': 'path', 'required': True, 'schema': ID, 'example': 42,
                  'description': 'A delivery of that webhook: the digits of its id (msg_42).'},
    'LastEventId': {'name': 'Last-Event-ID', 'in': 'header', 'required': False,
                    'schema': {'type': 'string', 'maxLength': QUERY_VALUE_MAX_LENGTH},
                    'description': 'The id of the last event received (a browser\'s EventSource sends it when it '
                                   'reconnects), or any sync cursor: the stream goes on from there. It wins over '
                                   '`cursor`.'},
    'LabelId': {'name': 'label_id', 'in': 'path', 'required': True, 'schema': ID, 'example': 1,
                'description': 'A label of yours (GET /labels); anything else is 404.'},
    'Label': {'name': 'label', 'in': 'query', 'schema': ID, 'example': 1,
              'description': 'Only items with this label of yours on them.'},
    'TrashedBucketlistId': {'name': 'bucketlist_id', 'in': 'path', 'required': True, 'schema': ID, 'example': 1,
                            'description': 'A bucketlist in your trash (GET /trash); anything else is 404.'},
    'TrashedItemId': {'name': 'item_id', 'in': 'path', 'required': True, 'schema': ID, 'example': 7,
                      'description': 'An item in the trash that you see there (GET /trash); anything else is 404.'},
    'ActivityKind': {'name': 'kind', 'in': 'query', 'schema': schema('ActivityKind'), 'example': 'item.completed',
                     'description': 'Only entries of this kind.'},
    'Since': {'name': 'since', 'in': 'query', 'schema': {'type': 'string', 'format': 'date-time', 'maxLength': 40},
              'example': '2026-11-25T00:00:00Z', 'description': 'Only from this moment on (an ISO 8601 date and time '
                                                                'with its offset).'},
    'Until': {'name': 'until', 'in': 'query', 'schema': {'type': 'string', 'format': 'date-time', 'maxLength': 40},
              'example': '2026-12-25T00:00:00Z', 'description': 'Only up to this moment (an ISO 8601 date and time '
                                                                'with its offset).'},
    'UserId': {'name': 'user_id', 'in': 'path', 'required': True, 'schema': ID, 'example': 2,
               'description': 'A member of the bucketlist (or, for the owner, one invited); anybody else is 404.'},
    'InvitationId': {'name': 'invitation_id', 'in': 'path', 'required': True, 'schema': ID, 'example': 1,
                     'description': 'An invitation of yours (GET /invitations); anything else is 404.'},
    'Role': {'name': 'role', 'in': 'query', 'schema': schema('Role'),
             'description': 'Only the bucketlists where your role is this.'},
    'ItemId': {'name': 'item_id', 'in': 'path', 'required': True, 'schema': ID, 'example': 1,
               'description': 'An item of that bucketlist; anything else is 404.'},
    'Page': {'name': 'page', 'in': 'query', 'schema': {'type': 'integer', 'minimum': 1,
                                                       'maximum': MAX_ID, 'default': 1},
             'description': 'A page past the last one is an empty array.'},
    'Limit': {'name': 'limit', 'in': 'query',
              'schema': {'type': 'integer', 'minimum': 1, 'maximum': settings.MAX_PAGE_SIZE,
                         'default': settings.PAGE_SIZE},
              'description': 'Rows per page.'},
    'Q': {'name': 'q', 'in': 'query',
          'schema': {'type': 'string', 'pattern': NO_NUL_PATTERN, 'maxLength': QUERY_VALUE_MAX_LENGTH},
          'example': 'bora',
          'description': 'Only names holding this text, ignoring case; % and _ are literal.'},
    'Done': {'name': 'done', 'in': 'query', 'schema': {'type': 'boolean'},
             'description': 'Only items done (true) or not done (false); 1 and 0 are taken too.'},
    'BucketlistSort': sort_parameter('BucketlistSort', BUCKETLIST_SORTS, 'id'),
    'ItemSort': sort_parameter('ItemSort', ITEM_SORTS, 'position'),
    'EveryItemSort': {**sort_parameter('ItemSort', ITEM_SORTS, 'due_date'), 'example': 'due_date'},
    'Due': {'name': 'due', 'in': 'query', 'schema': schema('DueWindow'), 'example': 'today',
            'description': 'Only items due today, overdue (before now, and not done), or from today through '
                           'the sixth day after, in your time zone.'},
    'DueBefore': {'name': 'due_before', 'in': 'query', 'schema': DATE, 'example': '2027-12-31',
                  'description': 'Only items due on or before this date.'},
    'DueAfter': {'name': 'due_after', 'in': 'query', 'schema': DATE, 'example': '2027-01-01',
                 'description': 'Only items due on or after this date.'},
    'Priority': {'name': 'priority', 'in': 'query', 'schema': PRIORITY, 'example': 1,
                 'description': 'Only items of this priority (1, the highest, to 4).'},
    'Cursor': {'name': 'cursor', 'in': 'query', 'schema': {'type': 'string', 'maxLength': QUERY_VALUE_MAX_LENGTH},
               'description': 'The cursor of the last answer; without it, everything (a full sync).'},
    'SyncLimit': {'name': 'limit', 'in': 'query',
                  'schema': {'type': 'integer', 'minimum': 1, 'maximum': sync.MAX_PAGE_SIZE,
                             'default': sync.DEFAULT_PAGE_SIZE},
                  'description': 'Most objects (bucketlists, items and deletions) per answer.'},
    'IfNoneMatch': {'name': 'If-None-Match', 'in': 'header', 'schema': {'type': 'string'},
                    'example': '"9f2c1a0b7e5d4c3b2a1908f7e6d5c4b3"',
                    'description': 'An ETag you hold: 304 without a body when it is still current.'},
    'IfMatch': {'name': 'If-Match', 'in': 'header', 'schema': {'type': 'string'},
                'description': 'The ETag you last read (or several, comma-separated, or *): 412 '
                               'when the resource has changed since.'},
    'IdempotencyKey': {'name': 'Idempotency-Key', 'in': 'header',
                       'schema': {'type': 'string', 'pattern': f'^{IDEMPOTENCY_KEY.pattern}$'},
                       'example': 'c3a1f0e2-trip-1',
                       'description': f'1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters, '
                                      'no spaces. A retry with '
                                      'the same key and the same request gets the first answer '
                                      f'again (for {web.IDEMPOTENCY_KEY_LIFETIME.total_seconds() / 3600:g} hours); '
                                      'the same key with another request '
                                      'is 422.'},
}

HEADERS = {
    'X-Request-ID': {'required': True, 'schema': {'type': 'string'},
                     'description': 'The request\'s X-Request-ID when it is 1 to 128 of '
                                    'A-Z a-z 0-9 . _ -, else a new random one; also in the logs.'},
    'ETag': {'schema': {'type': 'string'},
             'description': 'With JSON: identifies this representation, for If-None-Match and '
                            'If-Match.'},
    # Not required: a browser's HTML page of the list (same status) comes without them.
    'Link': {'schema': {'type': 'string'},
             'example': '</bucketlists/?page=1&limit=20>; rel="first", '
                        '</bucketlists/?page=2&limit=20>; rel="next", '
                        '</bucketlists/?page=3&limit=20>; rel="last"',
             'description': 'With the JSON array: RFC 8288 links to its first, prev, next and last '
                            'pages.'},
    'X-Total-Count': {'schema': {'type': 'integer', 'minimum': 0},
                      'description': 'With the JSON array: how many rows match, over all pages.'},
    'WWW-Authenticate': {'required': True, 'schema': {'type': 'string', 'const': 'Bearer'},
                         'description': 'Bearer: the route needs an access token.'},
    'Retry-After': {'required': True, 'schema': {'type': 'integer', 'minimum': 0},
                    'description': 'Seconds to wait before trying again.'},
    'Content-Disposition': {'required': True, 'schema': {'type': 'string'},
                            'example': 'attachment; filename="bucketlist-export.json"',
                            'description': 'A browser saves the answer as a file of this name.'},
}


# --- Responses -----------------------------------------------------------------------------------

def problem_response(description, *refusals, errors=None, headers=(), **values):
    """A response of the ``refusals`` (problems.py), an example of each filled with ``values``."""
    return response(description, problem_content(refusals, errors, **values), headers)


RESPONSES = {
    'BadRequest': problem_response(
        'The request is malformed: a body field is invalid, missing, read-only or unknown (each is '
        f'named in errors); the body has more than {web.MAX_BODY_FIELDS} fields, is not valid JSON or UTF-8, '
        'not one object, shorter than its Content-Length or badly chunked; a query parameter is unknown, '
        'out of range or repeated; a header is not valid UTF-8.',
        problems.INVALID_FIELDS, problems.INVALID_BODY, problems.INVALID_QUERY,
        errors={'name': 'Must not be blank.'}),
    'Unauthorized': problem_response(
        'The Bearer token is missing, malformed, tampered with or expired; its session has ended '
        '(logout, the session ended from another, a password change, a reused refresh token); or '
        'the API token is revoked or expired. Only token-expired asks for a refresh '
        '(POST /auth/refresh); the others for a new login.',
        problems.TOKEN_EXPIRED, problems.SESSION_ENDED, problems.TOKEN_MISSING, problems.TOKEN_INVALID,
        headers=['WWW-Authenticate']),
    'Forbidden': problem_response(
        'You may see this bucketlist but your role does not allow this: viewers only read; editors also '
        'write items; only the owner renames or deletes the list and manages its members. Or an API '
        'token without what this route needs: a read token cannot write, and no API token may manage '
        'sessions, API tokens, the password or the account (log in for those). For a write, also a '
        'browser\'s cross-site request from an origin CORS_ORIGINS does not list. Where the route asks '
        'for your password, a wrong one (wrong-password: the session stays, ask again).',
        problems.VIEWER_CANNOT_WRITE, problems.OWNER_ONLY, problems.READ_SCOPE, problems.SESSION_SCOPE,
        problems.WRONG_PASSWORD, problems.CROSS_SITE, problems.WEBHOOK_SCOPE),
    'NotFound': problem_response(
        'No such resource you may see: it does not exist, is somebody else\'s and not shared with you, '
        f'or the id is not a positive integer up to {MAX_ID}.',
        problems.BUCKETLIST_NOT_FOUND),
    'ItemQuota': problem_response(
        f'The bucketlist already holds MAX_ITEMS_PER_BUCKETLIST items ({settings.MAX_ITEMS_PER_BUCKETLIST} here).',
        problems.ITEM_QUOTA),
    'NameTaken': problem_response(
        'You already have a bucketlist with this name; or, on create, you already have '
        f'MAX_BUCKETLISTS_PER_USER bucketlists ({settings.MAX_BUCKETLISTS_PER_USER} here).',
        problems.NAME_TAKEN),
    'PreconditionFailed': problem_response(
        'If-Match names none of the resource\'s current ETags: it changed since you read it. '
        'Nothing was changed; GET it again.',
        problems.CHANGED_SINCE_READ),
    'BodyTooSlow': problem_response(
        f'The body did not arrive within {settings.BODY_READ_SECONDS} seconds (served by gunicorn).',
        problems.BODY_TOO_SLOW),
    'ContentTooLarge': problem_response(
        f'The body is over MAX_BODY_BYTES ({settings.MAX_BODY_BYTES} here); refused unread.',
        problems.BODY_TOO_LARGE),
    'UnsupportedMediaType': problem_response(
        'The body is neither application/json nor application/x-www-form-urlencoded.',
        problems.UNSUPPORTED_MEDIA_TYPE),
    'IdempotencyKeyReused': problem_response(
        'This Idempotency-Key was already used for a different request (method, path or body).',
        problems.IDEMPOTENCY_KEY_REUSED),
    'ItemUnprocessable': problem_response(
        'This Idempotency-Key was already used for a different request; or the item would have a due_time '
        'or a recurrence and no due_date, a due whose instant falls outside years 1 to 9999, or a recurrence '
        'this service does not keep.',
        problems.IDEMPOTENCY_KEY_REUSED, problems.DUE_TIME_WITHOUT_DATE, problems.DUE_TIME_OUT_OF_RANGE,
        problems.RECURRENCE_WITHOUT_DATE, problems.UNSUPPORTED_RECURRENCE),
    'DueTimeUnplaceable': problem_response(
        'The item would have a due_time or a recurrence and no due_date (as sent, or as it is stored), a due '
        'whose instant falls outside years 1 to 9999, or a recurrence this service does not keep.',
        problems.DUE_TIME_WITHOUT_DATE, problems.DUE_TIME_OUT_OF_RANGE, problems.RECURRENCE_WITHOUT_DATE,
        problems.UNSUPPORTED_RECURRENCE),
    'TooManyRequests': problem_response(
        'Too many attempts from this address or for this account.',
        problems.TOO_MANY_ATTEMPTS, headers=['Retry-After']),
    'InternalServerError': problem_response(
        'Something unexpected failed; the details go to the server log only.',
        problems.INTERNAL_ERROR),
    'ServiceUnavailable': problem_response(
        'The database is unreachable or busy; or, on login and registration, this instance is '
        'already hashing as many passwords as it may (PASSWORD_HASHES_WAITING).',
        problems.DATABASE_UNAVAILABLE, headers=['Retry-After']),
    'CrossSite': problem_response(
        'A browser\'s request from another site (Sec-Fetch-Site: cross-site, or an Origin whose host '
        'is not this one) whose origin CORS_ORIGINS does not list. Clients other than browsers send '
        'neither header and are never refused.',
        problems.CROSS_SITE),
    'NotModified': response('The ETag in If-None-Match is still current: no body.',
                            headers=['ETag']),
}

# (A browser, ranking text/html above application/json, gets an HTML page for these URLs: the
# browsable API, which DESCRIPTION tells of. Clients get JSON, and the document shows only that.)
def read_response(description, body, example):
    return response(description, json_content(body, example), headers=['ETag'])


def list_response(description, item_schema, example):
    return response(description, json_content({'type': 'array', 'items': item_schema}, [example]),
                    headers=['ETag', 'Link', 'X-Total-Count'])


def links_to(operations, **parameters):
    """OpenAPI links from a created resource to the operations on it (also used by schemathesis)."""
    return {operation_id[0].upper() + operation_id[1:]: {'operationId': operation_id,
                                                         'parameters': parameters}
            for operation_id in operations}


BUCKETLIST_LINKS = links_to(['getBucketlist', 'replaceBucketlist', 'updateBucketlist',
                             'deleteBucketlist', 'listItems', 'createItem'],
                            bucketlist_id='$response.body#/id')
ITEM_LINKS = links_to(['getItem', 'replaceItem', 'updateItem', 'deleteItem'],
                      bucketlist_id='$response.body#/bucketlist_id', item_id='$response.body#/id')


def created(description, body, example, links):
    answer = response(description, json_content(body, example), headers=['ETag'])
    answer['links'] = links
    return answer


# --- Request bodies ------------------------------------------------------------------------------


# --- Operations ----------------------------------------------------------------------------------

NOT_FOUND = {'404': ref('responses', 'NotFound')}
WRITE_ERRORS = {'408': ref('responses', 'BodyTooSlow'), '413': ref('responses', 'ContentTooLarge'),
                '415': ref('responses', 'UnsupportedMediaType')}
CONDITIONAL_WRITE = {'412': ref('responses', 'PreconditionFailed')}
CREATE_ERRORS = {**WRITE_ERRORS, '422': ref('responses', 'IdempotencyKeyReused')}
NOT_MODIFIED = {'304': ref('responses', 'NotModified')}

PUSH_EXAMPLE = {'cursor': 'WzE3LG51bGwsbnVsbCxudWxsXQ', 'commands': [
    {'uuid': '5b0c1a7e-8f3d-4d8e-9c1f-2a6b7c8d9e01', 'type': 'bucketlist.create', 'temp_id': 'trip',
     'args': {'name': 'Japan trip'}},
    {'uuid': '5b0c1a7e-8f3d-4d8e-9c1f-2a6b7c8d9e02', 'type': 'item.create', 'temp_id': 'flights',
     'args': {'bucketlist_id': 'trip', 'name': 'Book flights'}},
    {'uuid': '5b0c1a7e-8f3d-4d8e-9c1f-2a6b7c8d9e03', 'type': 'item.update', 'if_version': 17,
     'args': {'bucketlist_id': 1, 'item_id': 1, 'done': True}}]}
PUSH_ANSWER_EXAMPLE = {
    'cursor': 'WzQyLG51bGwsbnVsbCxudWxsXQ', 'has_more': False,
    'bucketlists': [{**BUCKETLIST_EXAMPLE, 'id': 2, 'name': 'Japan trip'}],
    'items': [{**ITEM_EXAMPLE, 'id': 5, 'bucketlist_id': 2}], 'labels': [], 'steps': [],
    'deleted': {'bucketlists': [], 'items': [], 'labels': [], 'steps': []},
    'results': [
        {'uuid': '5b0c1a7e-8f3d-4d8e-9c1f-2a6b7c8d9e01', 'type': 'bucketlist.create', 'status': 201, 'ok': True,
         'body': {**BUCKETLIST_EXAMPLE, 'id': 2, 'name': 'Japan trip'},
         'replayed': False},
        {'uuid': '5b0c1a7e-8f3d-4d8e-9c1f-2a6b7c8d9e02', 'type': 'item.create', 'status': 201, 'ok': True,
         'body': {**ITEM_EXAMPLE, 'id': 5, 'bucketlist_id': 2}, 'replayed': False},
        {'uuid': '5b0c1a7e-8f3d-4d8e-9c1f-2a6b7c8d9e03', 'type': 'item.update', 'status': 412, 'ok': False,
         'body': problem(412, problems.CHANGED_SINCE_READ.example_detail(), kind='changed-since-read'),
         'current': ITEM_EXAMPLE, 'replayed': False}],
    'temp_ids': {'trip': 2, 'flights': 5}}
THROTTLED = {'429': ref('responses', 'TooManyRequests')}

PATHS = {
    '/auth/register': {'post': operation(
        'register', 'accounts', 'Create an account',
        'Passwords are hashed with argon2id. Registrations are limited per client address '
        '(REGISTRATIONS_PER_ADDRESS per REGISTRATION_WINDOW_SECONDS).',
        {'201': response('Registered; now log in.', json_content(
            schema('Message'), problems.REGISTERED.example_body())),
         '409': problem_response('An account with this email already exists.', problems.ACCOUNT_EXISTS),
         **WRITE_ERRORS, **THROTTLED},
        body=request_body('Registration', REGISTRATION, ['email', 'password']), public=True)},
    '/auth/login': {'post': operation(
        'login', 'accounts', 'Log in: open a session',
        'Send the access token as `Authorization: Bearer <access_token>`; it lasts `expires_in` seconds '
        '(TOKEN_TTL_SECONDS). Before then, exchange the refresh token at POST /auth/refresh for new ones. '
        'Past MAX_SESSIONS_PER_USER, a login ends the least recently used session. Failed logins are '
        'limited per account and per client address.',
        {'200': response('Logged in.', json_content(schema('LoggedIn'), LOGGED_IN_EXAMPLE)),
         '401': problem_response('Wrong email or password.', problems.WRONG_CREDENTIALS,
                                 headers=['WWW-Authenticate']),
         **WRITE_ERRORS, **THROTTLED},
        body=request_body('Login', LOGIN, ['email', 'password']), public=True)},
    '/auth/refresh': {'post': operation(
        'refresh', 'accounts', 'Renew the access token',
        'Exchanges a refresh token for a new access token and a new refresh token (rotation): the old '
        'refresh token is used up. Presenting a used one again more than REFRESH_GRACE_SECONDS '
        f'({settings.REFRESH_GRACE_SECONDS}) '
        'after its first use is taken as theft and ends the whole session; within that window (a retry '
        'whose answer was lost, two tabs racing) it is answered with new tokens too. A refresh token '
        'unused for REFRESH_TOKEN_TTL_SECONDS expires, and no session outlives SESSION_MAX_AGE_SECONDS.',
        {'200': response('New tokens.', json_content(schema('Tokens'), TOKENS_EXAMPLE)),
         '401': problem_response('The refresh token is unknown, expired, or reused (the session was ended).',
                                 problems.REFRESH_TOKEN_INVALID, headers=['WWW-Authenticate']),
         **WRITE_ERRORS},
        body=request_body('Refresh', REFRESH, ['refresh_token']), public=True)},
    '/auth/logout': {'post': operation(
        'logout', 'accounts', 'Log out: end this session',
        'Its access and refresh tokens are refused at once, on every instance sharing the database.',
        {'200': response('Logged out.', json_content(
            schema('Message'), problems.LOGGED_OUT.example_body())),
         **WRITE_ERRORS})},
    '/auth/sessions': {'get': operation(
        'listSessions', 'accounts', 'Your open sessions',
        'Every session not ended, oldest first (at most MAX_SESSIONS_PER_USER); `current` marks this one.',
        {'200': read_response('The sessions.', {'type': 'array', 'items': schema('Session')},
                              [SCHEMAS['Session']['examples'][0]]),
         **NOT_MODIFIED})},
    '/auth/sessions/{session_id}': {'delete': operation(
        'endSession', 'accounts', 'End a session',
        'Its access and refresh tokens are refused at once, on every instance.',
        {'200': response('Ended.', json_content(schema('Message'), problems.SESSION_ENDED_BY_YOU.example_body())),
         **NOT_FOUND, **WRITE_ERRORS},
        parameters=['SessionId'])},

    '/users/me': {
        'get': operation(
            'getAccount', 'accounts', 'Your account', 'Its id, email and when it was made.',
            {'200': read_response('The account.', schema('Account'),
                                  ACCOUNT_EXAMPLE),
             **NOT_MODIFIED}),
        'patch': operation(
            'changeAccount', 'accounts', 'Change your account\'s settings',
            "Its time_zone: the zone of the due times of items that name none, when they are written "
            '(an item keeps the zone it was given).',
            {'200': response('Changed.', json_content(schema('Account'), {**ACCOUNT_EXAMPLE,
                                                                         'time_zone': 'Asia/Tokyo'}), ['ETag']),
             **WRITE_ERRORS},
            body=request_body('AccountPatch', ACCOUNT, body_example={'time_zone': 'Asia/Tokyo'})),
        'delete': operation(
            'deleteAccount', 'accounts', 'Delete your account and everything it owns',
            'Needs the password. Every token of the account is refused at once, and the email can '
            'register again. Wrong passwords count toward the login throttle.',
            {'200': response('Deleted.', json_content(schema('Message'), problems.ACCOUNT_DELETED.example_body()),
                             ['ETag']),
             **WRITE_ERRORS, **THROTTLED},
            body=request_body('PasswordConfirmation', PASSWORD_CONFIRMATION, ['password'])),
    },
    '/users/me/calendar': {
        'get': operation(
            'getCalendarUrl', 'accounts', 'Your calendar feed\'s URL',
            'A secret URL that Google Calendar, Apple Calendar or Thunderbird subscribe to: the open items '
            'you see that are due, as iCalendar; recurring ones with their RRULE. It needs no token, so keep it '
            'secret: rotate it if it leaks. Sessions only.',
            {'200': read_response('The URL.', schema('CalendarUrl'), CALENDAR_URL_EXAMPLE), **NOT_MODIFIED}),
        'post': operation(
            'rotateCalendarUrl', 'accounts', 'Rotate your calendar feed\'s URL',
            'A new secret URL; the old one is 404 from now on. Sessions only.',
            {'200': response('The new URL.', json_content(schema('CalendarUrl'), CALENDAR_URL_EXAMPLE)),
             **WRITE_ERRORS}),
    },
    '/calendar/{feed}': {'get': operation(
        'getCalendarFeed', 'accounts', 'A calendar feed',
        'The iCalendar (RFC 5545) feed at a URL GET /users/me/calendar gave: one event for each open item its '
        'account sees that is due (the soonest 1,000), all-day for a date, at its local time in its time zone '
        'otherwise, with its RRULE when it repeats; each tells its name and due, nothing else.',
        {'200': response('The feed.', {'text/calendar': {'schema': {'type': 'string'}}}),
         '404': problem_response('No feed has this URL: rotated, or mistyped.', problems.FEED_NOT_FOUND)},
        parameters=['Feed'], public=True)},
    '/users/me/export': {'get': operation(
        'exportAccount', 'accounts', 'Download everything your account holds',
        'The account, its sessions and API tokens (without their secrets) and every bucketlist with its '
        'items (every one), as one JSON document (`Content-Disposition: attachment; '
        'filename="bucketlist-export.json"`). One export of an account at a time: another meanwhile is 429.',
        {**THROTTLED, '200': response('The export.', json_content(schema('Export'), {
            'account': ACCOUNT_EXAMPLE,
            'sessions': SCHEMAS['Session']['examples'], 'api_tokens': [API_TOKEN_EXAMPLE], 'labels': [LABEL_EXAMPLE],
            'bucketlists': [BUCKETLIST_WITH_ITEMS_EXAMPLE], 'steps': [STEP_EXAMPLE], 'activity': [ACTIVITY_EXAMPLE],
            'completions': [COMPLETION_EXAMPLE],
            'trash': [{**TRASH_ENTRY_EXAMPLE, 'contents': {'items': [{'id': 7, 'name': 'Visit Kyoto'}]}}]}),
            ['Content-Disposition'])})},
    '/users/me/password': {'post': operation(
        'changePassword', 'accounts', 'Change your password',
        'Needs the current password; wrong ones count toward the login throttle. Every session ends, this '
        'one too, with all its tokens (whoever else holds one is out); you go on in a new session, whose '
        'tokens the answer carries. API tokens stay.',
        {'200': response('Changed: use the new tokens.', json_content(
            schema('LoggedIn'), {**problems.PASSWORD_CHANGED.example_body(), **TOKENS_EXAMPLE})),
         **WRITE_ERRORS, **THROTTLED},
        body=request_body('PasswordChange', PASSWORD_CHANGE, ['current_password', 'new_password']))},
    '/users/me/tokens': {
        'get': operation(
            'listApiTokens', 'accounts', 'Your API tokens',
            'In id order, without their secrets (at most MAX_API_TOKENS_PER_USER).',
            {'200': read_response('The API tokens.', {'type': 'array', 'items': schema('ApiToken')},
                                  [API_TOKEN_EXAMPLE]),
             **NOT_MODIFIED}),
        'post': operation(
            'createApiToken', 'accounts', 'Create an API token',
            'For scripts and integrations: send it as `Authorization: Bearer <token>`. A `read` token may '
            'only read (GET); a `write` token may also change bucketlists and items. No API token may '
            'manage sessions, API tokens, the password or the account, or export it. The token is in this '
            'answer only. Your password confirms it (an API token outlives sessions); wrong ones count '
            'toward the login throttle.',
            {'201': response('Created.', json_content(schema('NewApiToken'),
                                                      {**API_TOKEN_EXAMPLE, 'token': 'blt_' + 'x' * 43})),
             **THROTTLED,
             '409': problem_response(
                 f'You already have MAX_API_TOKENS_PER_USER API tokens ({settings.MAX_API_TOKENS_PER_USER} here).',
                 problems.API_TOKEN_QUOTA),
             **WRITE_ERRORS},
            body=request_body('ApiTokenCreate', API_TOKEN, ['name', 'scope', 'password'])),
    },
    '/users/me/tokens/{token_id}': {'delete': operation(
        'revokeApiToken', 'accounts', 'Revoke an API token',
        'It is refused at once, on every instance.',
        {'200': response('Revoked.', json_content(schema('Message'), problems.API_TOKEN_REVOKED.example_body())),
         **NOT_FOUND, **WRITE_ERRORS},
        parameters=['TokenId'])},


    '/bucketlists/': {
        'get': operation(
            'listBucketlists', 'bucketlists', 'List your bucketlists',
            'One page of your bucketlists and those shared with you, each with your `role`, in id order '
            'unless sorted otherwise, without their items.',
            {'200': list_response('A page of bucketlists.', schema('Bucketlist'), BUCKETLIST_EXAMPLE),
             **NOT_MODIFIED},
            parameters=['Page', 'Limit', 'Q', 'BucketlistSort', 'Role', 'IfNoneMatch']),
        'post': operation(
            'createBucketlist', 'bucketlists', 'Create a bucketlist',
            'The name must be unique among your bucketlists.',
            {'201': created('Created.', schema('BucketlistWithItems'),
                            {**BUCKETLIST_EXAMPLE, 'items': [], 'has_more_items': False}, BUCKETLIST_LINKS),
             '409': ref('responses', 'NameTaken'), **CREATE_ERRORS},
            parameters=['IdempotencyKey'], body=request_body('BucketlistCreate', BUCKETLIST, ['name'])),
    },
    '/bucketlists/{bucketlist_id}': {
        'get': operation(
            'getBucketlist', 'bucketlists', 'Show a bucketlist with its items',
            'The bucketlist with your `role` in it and all its items, in position order.',
            {'200': read_response('The bucketlist.', schema('BucketlistWithItems'),
                                  BUCKETLIST_WITH_ITEMS_EXAMPLE),
             **NOT_MODIFIED, **NOT_FOUND},
            parameters=['BucketlistId', 'IfNoneMatch']),
        'put': operation(
            'replaceBucketlist', 'bucketlists', 'Rename a bucketlist', 'The name is required.',
            {'200': response('Renamed.', json_content(schema('BucketlistWithItems'),
                                                      BUCKETLIST_WITH_ITEMS_EXAMPLE), ['ETag']),
             **NOT_FOUND, '409': ref('responses', 'NameTaken'), **CONDITIONAL_WRITE, **WRITE_ERRORS},
            parameters=['BucketlistId', 'IfMatch'], body=request_body('BucketlistReplace', BUCKETLIST, ['name'])),
        'patch': operation(
            'updateBucketlist', 'bucketlists', 'Change a bucketlist',
            'Only the fields sent change; an empty body changes nothing but date_modified.',
            {'200': response('Changed.', json_content(schema('BucketlistWithItems'),
                                                      BUCKETLIST_WITH_ITEMS_EXAMPLE), ['ETag']),
             **NOT_FOUND, '409': ref('responses', 'NameTaken'), **CONDITIONAL_WRITE, **WRITE_ERRORS},
            parameters=['BucketlistId', 'IfMatch'], body=request_body('BucketlistPatch', BUCKETLIST)),
        'delete': operation(
            'deleteBucketlist', 'bucketlists', 'Delete a bucketlist and its items',
            'The owner only; for good, for every member too (their next sync shows it deleted).',
            {'200': response('Deleted.', json_content(
                schema('Message'), problems.BUCKETLIST_DELETED.example_body()), ['ETag']),
             **NOT_FOUND, **CONDITIONAL_WRITE},
            parameters=['BucketlistId', 'IfMatch']),
    },
    '/bucketlists/{bucketlist_id}/items/': {
        'get': operation(
            'listItems', 'items', 'List the items of a bucketlist',
            'One page of items, in position order unless sorted otherwise.',
            {'200': list_response('A page of items.', schema('Item'), ITEM_EXAMPLE),
             **NOT_MODIFIED, **NOT_FOUND},
            parameters=['BucketlistId', 'Page', 'Limit', 'Q', 'Done', 'ItemSort', 'DueBefore', 'DueAfter', 'Priority',
                        'Label', 'IfNoneMatch']),
        'post': operation(
            'createItem', 'items', 'Add an item to a bucketlist',
            'It goes last. `done` defaults to false, `notes` to "", `due_date` to null.',
            {'201': created('Created.', schema('Item'), ITEM_EXAMPLE, ITEM_LINKS),
             **NOT_FOUND, '409': ref('responses', 'ItemQuota'), **CREATE_ERRORS,
             '422': ref('responses', 'ItemUnprocessable')},
            parameters=['BucketlistId', 'IdempotencyKey'],
            body=request_body('ItemCreate', ITEM, ['name'])),
    },
    '/items/': {'get': operation(
        'listEveryItem', 'items', 'Your items across every list',
        'One page of the items of every bucketlist you own or share, each with your labels; `due` picks '
        'those due today, overdue (and not done) or in the next seven days, in your account\'s time zone: a '
        'date-only due counts by its date, a timed one by its instant. By due date unless sorted otherwise.',
        {'200': list_response('A page of items.', schema('Item'), ITEM_EXAMPLE), **NOT_MODIFIED},
        parameters=['Page', 'Limit', 'Q', 'Done', 'EveryItemSort', 'Due', 'Priority', 'Label', 'IfNoneMatch'])},
    '/bucketlists/{bucketlist_id}/items/{item_id}': {
        'get': operation(
            'getItem', 'items', 'Show an item', 'One item of a bucketlist you own or share, with its steps.',
            {'200': read_response('The item.', schema('ItemWithSteps'), {**ITEM_EXAMPLE, 'steps': [STEP_EXAMPLE]}),
             **NOT_MODIFIED, **NOT_FOUND},
            parameters=['BucketlistId', 'ItemId', 'IfNoneMatch']),
        'put': operation(
            'replaceItem', 'items', 'Replace an item',
            'The name is required; `done` defaults to false, `notes` to "", `due_date` to null.',
            {'200': response('Replaced.', json_content(schema('Item'), ITEM_EXAMPLE), ['ETag']),
             **NOT_FOUND, **CONDITIONAL_WRITE, **WRITE_ERRORS, '422': ref('responses', 'DueTimeUnplaceable')},
            parameters=['BucketlistId', 'ItemId', 'IfMatch'],
            body=request_body('ItemReplace', ITEM, ['name'], {**example(ITEM, writable=True), 'done': True})),
        'patch': operation(
            'updateItem', 'items', 'Change an item', 'Only the fields sent change.',
            {'200': response('Changed.', json_content(schema('Item'), {**ITEM_EXAMPLE, 'done': True}),
                             ['ETag']),
             **NOT_FOUND, **CONDITIONAL_WRITE, **WRITE_ERRORS, '422': ref('responses', 'DueTimeUnplaceable')},
            parameters=['BucketlistId', 'ItemId', 'IfMatch'],
            body=request_body('ItemPatch', ITEM, body_example={'done': True})),
        'delete': operation(
            'deleteItem', 'items', 'Delete an item',
            'For good; the items after it move up one place. Owners and editors.',
            {'200': response('Deleted.', json_content(
                schema('Message'), problems.ITEM_DELETED.example_body()), ['ETag']),
             **NOT_FOUND, **CONDITIONAL_WRITE},
            parameters=['BucketlistId', 'ItemId', 'IfMatch']),
    },
    '/labels': {
        'get': operation(
            'listLabels', 'labels', 'Your labels',
            f'By name, ignoring case; all of them (at most MAX_LABELS_PER_USER, {settings.MAX_LABELS_PER_USER} here).',
            {'200': read_response('The labels.', {'type': 'array', 'items': schema('Label')}, [LABEL_EXAMPLE]),
             **NOT_MODIFIED}),
        'post': operation(
            'createLabel', 'labels', 'Create a label',
            'A name unique among your labels, ignoring case (Straße and STRASSE are one), and a colour. Put it '
            'on any item you see with the item\'s `labels`: nobody else sees it there, on a shared list too.',
            {'201': response('Created.', json_content(schema('Label'), LABEL_EXAMPLE)),
             '409': problem_response(
                 'You have a label of this name already, or MAX_LABELS_PER_USER labels.',
                 problems.LABEL_NAME_TAKEN, problems.LABEL_QUOTA),
             **CREATE_ERRORS},
            parameters=['IdempotencyKey'],
            body=request_body('LabelCreate', LABEL, ['name'])),
    },
    '/labels/{label_id}': {
        'get': operation(
            'getLabel', 'labels', 'Show a label', 'One of your labels.',
            {'200': read_response('The label.', schema('Label'), LABEL_EXAMPLE), **NOT_MODIFIED, **NOT_FOUND},
            parameters=['LabelId', 'IfNoneMatch']),
        'patch': operation(
            'updateLabel', 'labels', 'Rename or recolour a label', 'Only the fields sent change.',
            {'200': response('Changed.', json_content(schema('Label'), LABEL_EXAMPLE), ['ETag']),
             **NOT_FOUND, '409': problem_response('You have a label of this name already.',
                                                  problems.LABEL_NAME_TAKEN),
             **CONDITIONAL_WRITE, **WRITE_ERRORS},
            parameters=['LabelId', 'IfMatch'], body=request_body('LabelPatch', LABEL)),
        'delete': operation(
            'deleteLabel', 'labels', 'Delete a label',
            'For good: it comes off every item it is on (their next sync shows them without it).',
            {'200': response('Deleted.', json_content(schema('Message'), problems.LABEL_DELETED.example_body()),
                             ['ETag']),
             **NOT_FOUND, **CONDITIONAL_WRITE},
            parameters=['LabelId', 'IfMatch']),
    },
    '/webhooks': {
        'get': operation(
            'listWebhooks', 'webhooks', 'Your webhooks',
            f'Oldest first; all of them (at most MAX_WEBHOOKS_PER_USER, {settings.MAX_WEBHOOKS_PER_USER} here). '
            'Their secrets are not shown.',
            {'200': read_response('The webhooks.', {'type': 'array', 'items': schema('Webhook')},
                                  [example(WEBHOOK)]), **NOT_MODIFIED}),
        'post': operation(
            'createWebhook', 'webhooks', 'Create a webhook',
            'Where your events go: an https URL of a public host, the event types wanted and, optionally, one '
            'list. The answer shows the signing secret this once. Each event of a list you see then reaches it '
            'as a POST signed as Standard Webhooks says (webhook-id, webhook-timestamp, webhook-signature), '
            'at least once: a delivery that fails is tried again for about a day (WEBHOOK_RETRY_SECONDS), then '
            'the webhook is turned off, saying why. Needs a session or an API token with the webhooks scope.',
            {'201': response('Created: keep the secret, it is not shown again.',
                             json_content(schema('WebhookWithSecret'), SCHEMAS['WebhookWithSecret']['examples'][0])),
             '409': problem_response('You have MAX_WEBHOOKS_PER_USER webhooks already.', problems.WEBHOOK_QUOTA),
             **CREATE_ERRORS,
             '422': problem_response('The URL cannot receive webhooks (not https, or its host is this machine or '
                                     'a private, loopback or link-local address), you see no such list, or the '
                                     'Idempotency-Key was used for another request.',
                                     problems.WEBHOOK_URL_REFUSED, problems.UNSEEN_WEBHOOK_LIST,
                                     problems.IDEMPOTENCY_KEY_REUSED)},
            parameters=['IdempotencyKey'], body=request_body('WebhookCreate', WEBHOOK, ['url', 'events'])),
    },
    '/webhooks/{webhook_id}': {
        'get': operation(
            'getWebhook', 'webhooks', 'Show a webhook', 'One of your webhooks, without its secret.',
            {'200': read_response('The webhook.', schema('Webhook'), example(WEBHOOK)), **NOT_MODIFIED,
             **NOT_FOUND},
            parameters=['WebhookId', 'IfNoneMatch']),
        'patch': operation(
            'updateWebhook', 'webhooks', 'Change a webhook',
            'Only the fields sent change. `enabled: true` turns on a webhook the service turned off: what '
            'waits for it is sent.',
            {'200': response('Changed.', json_content(schema('Webhook'), example(WEBHOOK)), ['ETag']), **NOT_FOUND,
             **WRITE_ERRORS,
             '422': problem_response('The URL cannot receive webhooks, or you see no such list.',
                                     problems.WEBHOOK_URL_REFUSED, problems.UNSEEN_WEBHOOK_LIST)},
            parameters=['WebhookId'], body=request_body('WebhookPatch', WEBHOOK)),
        'delete': operation(
            'deleteWebhook', 'webhooks', 'Delete a webhook', 'With its deliveries, sent or not.',
            {'200': response('Deleted.', json_content(schema('Message'), problems.WEBHOOK_DELETED.example_body()),
                             ['ETag']), **NOT_FOUND},
            parameters=['WebhookId']),
    },
    '/webhooks/{webhook_id}/secret': {'post': operation(
        'rotateWebhookSecret', 'webhooks', 'Rotate a webhook\'s secret',
        'A new signing secret, shown this once. For 24 hours the one before signs too (webhook-signature then '
        'holds two signatures), so your receiver can take the new one meanwhile.',
        {'200': response('The webhook and its new secret.',
                         json_content(schema('WebhookWithSecret'), SCHEMAS['WebhookWithSecret']['examples'][0]),
                         ['ETag']), **NOT_FOUND},
        parameters=['WebhookId'])},
    '/webhooks/{webhook_id}/deliveries': {'get': operation(
        'listWebhookDeliveries', 'webhooks', 'A webhook\'s deliveries',
        'The newest first, one page at a time, each with its last attempt (status, latency, the start of the '
        'answer); kept WEBHOOK_KEEP_DAYS.',
        {'200': list_response('A page of deliveries.', schema('Delivery'), example(DELIVERY)), **NOT_MODIFIED,
         **NOT_FOUND},
        parameters=['WebhookId', 'Page', 'Limit', 'IfNoneMatch'])},
    '/webhooks/{webhook_id}/deliveries/{message_id}/redeliver': {'post': operation(
        'redeliverWebhookDelivery', 'webhooks', 'Send a delivery again',
        'As soon as a worker can, with the same webhook-id (a receiver that has it already drops it). '
        f'Pings and redeliveries: {webhooks.SENDS_PER_HOUR} an hour per account (429 after).',
        {'202': response('Queued.', json_content(schema('Delivery'), example(DELIVERY)), ['ETag']), **NOT_FOUND,
         **THROTTLED},
        parameters=['WebhookId', 'MessageId'])},
    '/webhooks/{webhook_id}/ping': {'post': operation(
        'pingWebhook', 'webhooks', 'Send a test event',
        'An event of type `ping` ({"webhook_id": …} as its data), as soon as a worker can: its delivery shows how '
        f'it went. Pings and redeliveries: {webhooks.SENDS_PER_HOUR} an hour per account (429 after).',
        {'202': response('Queued.', json_content(schema('Delivery'), {**example(DELIVERY), 'event_type': 'ping'}),
                         ['ETag']), **NOT_FOUND, **THROTTLED},
        parameters=['WebhookId'])},
    '/events': {'get': operation(
        'streamEvents', 'webhooks', 'A live stream of your changes',
        'Server-Sent Events: each change to what you see, as an event named by its type (`item.completed`…, and '
        '`label.*` and `*.deleted` too) whose data is {"type", "data"}: the object as GET /sync shows it (a '
        'deletion: {"id"}). It is a sync that goes on: an event\'s id is a sync cursor, so reconnecting with '
        'Last-Event-ID (or `cursor`, any sync cursor) misses nothing, though a change may come twice. Without '
        'either, it starts from now. A comment line every EVENT_HEARTBEAT_SECONDS keeps it open; it ends when '
        'the access token expires or after EVENT_STREAM_MAX_SECONDS (reconnect), or with an event `problem` '
        '(its data a problem document: the session ended, the cursor too old). At most '
        'EVENT_STREAMS_PER_ACCOUNT streams per account and EVENT_STREAMS_PER_WORKER per worker process.',
        {'200': response('The stream (text/event-stream).', {'text/event-stream': {
            # Each event, as OpenAPI 3.2's itemSchema reads one (3.1's schema of an event stream).
            'schema': {'type': 'object', 'required': ['event', 'data'], 'properties': {
                'event': {'type': 'string', 'description': 'An event type, or `problem`.'},
                'data': {'type': 'string', 'contentMediaType': 'application/json', 'contentSchema': {
                    'type': 'object', 'required': ['type', 'data'],
                    'properties': {'type': {'type': 'string'}, 'data': {'type': 'object'}}}},
                'id': {'type': 'string', 'description': 'A sync cursor: send it as Last-Event-ID.'},
                'retry': {'type': 'integer'}}},
            'example': {'event': 'item.completed', 'data': '{"type":"item.completed","data":{"id":7}}',
                        'id': 'WzE3LG51bGwsbnVsbCxudWxsXQ'}}}),
         '429': problem_response('You have EVENT_STREAMS_PER_ACCOUNT streams open here already.',
                                 problems.TOO_MANY_STREAMS, headers=['Retry-After'])},
        parameters=['Cursor', 'LastEventId'])},
    '/bucketlists/{bucketlist_id}/activity': {'get': operation(
        'listBucketlistActivity', 'activity', 'The activity of a bucketlist',
        'Who changed what in it, the newest first, one page at a time: items created, edited (each field as [old, '
        'new]), ticked, moved (in or out), trashed and restored, steps, members, the list renamed. Anyone who sees '
        f'the list sees it all; kept ACTIVITY_DAYS ({settings.ACTIVITY_DAYS} here). Your labels on items are yours '
        'alone and are not recorded.',
        {'200': list_response('A page of activity.', schema('ActivityEntry'), ACTIVITY_EXAMPLE),
         **NOT_MODIFIED, **NOT_FOUND},
        parameters=['BucketlistId', 'Page', 'Limit', 'ActivityKind', 'Since', 'Until', 'IfNoneMatch'])},
    '/activity': {'get': operation(
        'listActivity', 'activity', 'The activity of every list you see',
        'As a bucketlist\'s activity, across every bucketlist you own or share, the newest first.',
        {'200': list_response('A page of activity.', schema('ActivityEntry'), ACTIVITY_EXAMPLE), **NOT_MODIFIED},
        parameters=['Page', 'Limit', 'ActivityKind', 'Since', 'Until', 'IfNoneMatch'])},
    '/items/completed': {'get': operation(
        'listCompletions', 'activity', 'Every completion',
        'Every time an item was ticked done (each occurrence of a recurring one too) in the bucketlists you see, '
        'the newest first: unticking an item, or deleting it, keeps its past completions.',
        {'200': list_response('A page of completions.', schema('Completion'), COMPLETION_EXAMPLE), **NOT_MODIFIED},
        parameters=['Page', 'Limit', 'Since', 'Until', 'IfNoneMatch'])},
    '/trash': {'get': operation(
        'listTrash', 'trash', 'Your trash',
        f'The bucketlists you deleted and the items deleted from lists you own or edit, the newest first, one '
        f'page at a time; each goes for good TRASH_DAYS ({settings.TRASH_DAYS} here) after its deletion.',
        {'200': list_response('A page of the trash.', schema('TrashEntry'), TRASH_ENTRY_EXAMPLE), **NOT_MODIFIED},
        parameters=['Page', 'Limit', 'IfNoneMatch'])},
    '/trash/bucketlists/{bucketlist_id}/restore': {'post': operation(
        'restoreBucketlist', 'trash', 'Restore a bucketlist',
        'Back as it was deleted: its items in their places with their steps and labels, its members and '
        'invitations (those whose accounts still exist). Everyone who sees it gets it whole on their next sync. '
        'It counts toward your quota again, and its name must be free.',
        {'200': response('Restored: the bucketlist, as GET one shows it.',
                         json_content(schema('BucketlistWithItems'), BUCKETLIST_WITH_ITEMS_EXAMPLE)),
         '404': problem_response('Not in your trash.', problems.NOT_IN_TRASH, what='bucketlist', object_id=1),
         '409': problem_response('You have a bucketlist of this name now, or MAX_BUCKETLISTS_PER_USER.',
                                 problems.NAME_TAKEN, problems.BUCKETLIST_QUOTA)},
        parameters=['TrashedBucketlistId'])},
    '/trash/items/{item_id}/restore': {'post': operation(
        'restoreItem', 'trash', 'Restore an item',
        'Back in its bucketlist with its steps and labels, in its place (last, if the list is shorter now). '
        'Owners and editors of the list.',
        {'200': response('Restored: the item, as GET one shows it.',
                         json_content(schema('ItemWithSteps'), {**ITEM_EXAMPLE, 'steps': [STEP_EXAMPLE]})),
         '403': ref('responses', 'Forbidden'),
         '404': problem_response('Not in the trash you see.', problems.NOT_IN_TRASH),
         '409': problem_response('Its bucketlist is in the trash (restore that first), or holds '
                                 'MAX_ITEMS_PER_BUCKETLIST items.', problems.LIST_IN_TRASH, problems.ITEM_QUOTA)},
        parameters=['TrashedItemId'])},
    '/trash/bucketlists/{bucketlist_id}': {'delete': operation(
        'purgeBucketlist', 'trash', 'Delete a bucketlist for good',
        'From your trash, with the items deleted from it before; nothing brings it back.',
        {'200': response('Gone for good.', json_content(schema('Message'), problems.BUCKETLIST_PURGED.example_body())),
         '404': problem_response('Not in your trash.', problems.NOT_IN_TRASH, what='bucketlist', object_id=1)},
        parameters=['TrashedBucketlistId'])},
    '/trash/items/{item_id}': {'delete': operation(
        'purgeItem', 'trash', 'Delete an item for good',
        'From the trash; nothing brings it back.',
        {'200': response('Gone for good.', json_content(schema('Message'), problems.ITEM_PURGED.example_body())),
         '404': problem_response('Not in the trash you see.', problems.NOT_IN_TRASH)},
        parameters=['TrashedItemId'])},
    '/bucketlists/{bucketlist_id}/items/{item_id}/steps/': {
        'get': operation(
            'listSteps', 'items', 'The steps of an item',
            f'All of them, in order (at most MAX_STEPS_PER_ITEM, {settings.MAX_STEPS_PER_ITEM} here).',
            {'200': read_response('The steps.', {'type': 'array', 'items': schema('Step')}, [STEP_EXAMPLE]),
             **NOT_MODIFIED, **NOT_FOUND},
            parameters=['BucketlistId', 'ItemId', 'IfNoneMatch']),
        'post': operation(
            'createStep', 'items', 'Add a step to an item',
            'At `position` (left out, or past the end: last); owners and editors.',
            {'201': response('Created.', json_content(schema('Step'), STEP_EXAMPLE)),
             **NOT_FOUND,
             '409': problem_response('The item has MAX_STEPS_PER_ITEM steps.', problems.STEP_QUOTA),
             **CREATE_ERRORS},
            parameters=['BucketlistId', 'ItemId', 'IdempotencyKey'],
            body=request_body('StepCreate', STEP, ['name'])),
    },
    '/bucketlists/{bucketlist_id}/items/{item_id}/steps/{step_id}': {
        'get': operation(
            'getStep', 'items', 'Show a step', 'One step of an item you see.',
            {'200': read_response('The step.', schema('Step'), STEP_EXAMPLE), **NOT_MODIFIED, **NOT_FOUND},
            parameters=['BucketlistId', 'ItemId', 'StepId', 'IfNoneMatch']),
        'patch': operation(
            'updateStep', 'items', 'Rename, tick or move a step',
            'Only the fields sent change; a `position` moves it there (past the end: last), the others '
            'closing up and opening up around it. Owners and editors.',
            {'200': response('Changed.', json_content(schema('Step'), STEP_EXAMPLE), ['ETag']),
             **NOT_FOUND, **CONDITIONAL_WRITE, **WRITE_ERRORS},
            parameters=['BucketlistId', 'ItemId', 'StepId', 'IfMatch'], body=request_body('StepPatch', STEP)),
        'delete': operation(
            'deleteStep', 'items', 'Delete a step',
            'For good; the steps after it move up one place. Owners and editors.',
            {'200': response('Deleted.', json_content(schema('Message'), problems.STEP_DELETED.example_body()),
                             ['ETag']),
             **NOT_FOUND, **CONDITIONAL_WRITE},
            parameters=['BucketlistId', 'ItemId', 'StepId', 'IfMatch']),
    },
    '/bucketlists/{bucketlist_id}/members': {
        'get': operation(
            'listMembers', 'members', 'Who shares a bucketlist',
            'The owner first (role `owner`), then the members in the order they were added (`status: active`); '
            'the owner also sees those invited who have not accepted yet (`status: pending`). The owner and '
            'members may read it.',
            {'200': read_response('The members.', {'type': 'array', 'items': schema('Member')},
                                  [{**MEMBER_EXAMPLE, 'user_id': 1, 'email': ACCOUNT_EXAMPLE['email'],
                                    'role': ROLES[0]},
                                   MEMBER_EXAMPLE]),
             **NOT_MODIFIED, **NOT_FOUND},
            parameters=['BucketlistId', 'IfNoneMatch']),
        'post': operation(
            'addMember', 'members', 'Invite an account to share a bucketlist',
            'The owner invites an account by its email, as a `viewer` (reads) or an `editor` (also writes '
            'items). It is invited (`status: pending`) and a member once it accepts (POST '
            '/invitations/{id}/accept); nothing of the list reaches it before. Unknown emails are limited to '
            f'{settings.UNKNOWN_EMAILS_PER_HOUR} an hour (UNKNOWN_EMAILS_PER_HOUR); invitations to '
            f'{settings.INVITATIONS_PER_HOUR} an hour sent by an owner, and received by an account '
            '(INVITATIONS_PER_HOUR).',
            {'201': response('Invited.', json_content(schema('Member'), {**MEMBER_EXAMPLE, 'status': 'pending'})),
             **NOT_FOUND, **THROTTLED,
             '409': problem_response('The email is the owner\'s, a member\'s or invited already, or the list has '
                                     'MAX_MEMBERS_PER_BUCKETLIST members and invitations.',
                                     problems.ALREADY_A_MEMBER, problems.ALREADY_INVITED, problems.MEMBER_QUOTA),
             **WRITE_ERRORS},
            parameters=['BucketlistId'],
            body=request_body('MemberAdd', MEMBER, ['email', 'role'])),
    },
    '/bucketlists/{bucketlist_id}/members/{user_id}': {
        'patch': operation(
            'changeMember', 'members', 'Change a member\'s role', 'The owner only.',
            {'200': response('Changed.', json_content(schema('Member'), MEMBER_EXAMPLE)),
             **NOT_FOUND,
             '409': problem_response('That is the owner, whose role does not change.', problems.OWNER_ROLE_FIXED),
             **WRITE_ERRORS},
            parameters=['BucketlistId', 'UserId'],
            body=request_body('MemberChange', MEMBER_CHANGE, ['role'], {'role': 'viewer'})),
        'delete': operation(
            'removeMember', 'members', 'Remove a member, withdraw an invitation, or leave',
            'The owner removes anyone, or withdraws an invitation; a member may remove only themself. Their '
            'next sync shows the list deleted (one tombstone: drop its items with it).',
            {'200': response('Removed.', {'application/json': {'schema': schema('Message'), 'examples': {
                'removed': {'value': problems.MEMBER_REMOVED.example_body()},
                'withdrawn': {'value': problems.INVITATION_WITHDRAWN.example_body()}}}}),
             **NOT_FOUND,
             '409': problem_response('The owner cannot leave their own list: they delete it.',
                                     problems.OWNER_CANNOT_LEAVE)},
            parameters=['BucketlistId', 'UserId']),
    },
    '/invitations': {'get': operation(
        'listInvitations', 'members', 'Your invitations to share a bucketlist',
        'Oldest first, one page at a time: each names the list, your role in it and who invited you. '
        'Nothing of a list reaches you before you accept.',
        {'200': list_response('A page of invitations.', schema('Invitation'), INVITATION_EXAMPLE),
         **NOT_MODIFIED},
        parameters=['Page', 'Limit', 'IfNoneMatch'])},
    '/invitations/{invitation_id}/accept': {'post': operation(
        'acceptInvitation', 'members', 'Accept an invitation',
        'You become a member in its role; your next sync brings the list and its items.',
        {'200': response('Joined: the bucketlist, as you now see it.', json_content(schema('Bucketlist'), {
            **BUCKETLIST_EXAMPLE, 'role': 'editor'})), **NOT_FOUND},
        parameters=['InvitationId'])},
    '/invitations/{invitation_id}/decline': {'post': operation(
        'declineInvitation', 'members', 'Decline an invitation', 'It is gone; the owner may invite you again.',
        {'200': response('Declined.', json_content(schema('Message'), problems.INVITATION_DECLINED.example_body())),
         **NOT_FOUND},
        parameters=['InvitationId'])},
    '/bucketlists/{bucketlist_id}/items/{item_id}/move': {'post': operation(
        'moveItem', 'items', 'Move an item',
        'To `position` (0-based; default, or past the end: last) in its bucketlist, or in `bucketlist_id`, '
        'another you may write to. The other items close up behind it and open up before it: positions '
        'stay 0..n-1 in every list, however many moves race.',
        {'200': response('Moved.', json_content(schema('Item'), ITEM_EXAMPLE), ['ETag']),
         **NOT_FOUND, '409': ref('responses', 'ItemQuota'), **WRITE_ERRORS, **CONDITIONAL_WRITE},
        parameters=['BucketlistId', 'ItemId', 'IfMatch'],
        body=request_body('ItemMove', MOVE))},
    '/sync': {'get': operation(
        'syncChanges', 'bucketlists', 'What changed since your last sync',
        'Without a cursor, everything you have (a full sync); with the last answer\'s cursor, only what '
        'was created, changed or deleted since, each object whole and current. Follow `has_more` with '
        'the cursor until it is false. A page ends at `limit` objects, or sooner when they hold more text '
        f'(names, descriptions, notes) than one answer carries ({ANSWER_TEXT_MAX:,} characters). Nothing is '
        'missed however writes interleave, though a change may '
        'come twice (apply it twice: the result is the same). A cursor older than the deletions kept '
        '(SYNC_TOMBSTONE_DAYS) is 410: sync from scratch.',
        {'200': read_response('Changes.', schema('Sync'), SCHEMAS['Sync']['examples'][0]),
         **NOT_MODIFIED,
         '410': problem_response('The cursor is older than the deletions kept: sync again without one.',
                                 problems.CURSOR_TOO_OLD)},
        parameters=['Cursor', 'SyncLimit', 'IfNoneMatch']),
        'post': operation(
            'pushChanges', 'bucketlists', 'Send the changes you made offline, and get what changed',
            'Runs `commands` in order, each as its route would (the same roles, quotas, throttles and activity), '
            'each atomic on its own: one refused leaves the others. Each gets a result: its route\'s status '
            'and answer (a bucketlist\'s without its items). A command\'s `temp_id` stands, in the later '
            'commands, for the id of what it created (`temp_ids` maps them); its `uuid` runs it once: send a '
            'batch again after a lost answer and the commands that ran answer their stored results (for 24 '
            'hours; a plain error such as 429 or 503 is not stored: it runs again). `if_version` (the '
            "object's `version`, or an ETag) refuses a change to an object changed since (412, with the "
            f'current object). At most SYNC_MAX_COMMANDS ({settings.SYNC_MAX_COMMANDS}) a request. Then the '
            'answer is GET /sync\'s from `cursor`: from a finished sync\'s cursor, its changes hold the '
            'batch\'s own writes, and its cursor follows them. A malformed batch (not a list, a command '
            'without a uuid or args, of an unknown type, a temp_id or if_version its type does not take) is '
            '400 and runs nothing.',
            {'200': response('The results, and what changed.', json_content(schema('PushAnswer'), PUSH_ANSWER_EXAMPLE),
                             ['ETag']),
             '410': problem_response('The cursor is older than the deletions kept: sync again without one (the '
                                     'commands ran; sent again, they answer their results).', problems.CURSOR_TOO_OLD),
             **WRITE_ERRORS},
            parameters=['SyncLimit'],
            body=request_body('Push', commands.BODY, ['commands'], PUSH_EXAMPLE))},

    '/': {'get': operation(
        'getFrontPage', 'operations', 'What this is, and links to the rest',
        'A browser gets a small page linking the documentation and the browsable API.',
        {'200': response('Links.', {**json_content(schema('FrontPage'), {
            'name': 'bucketlist', 'version': settings.RELEASE,
            'description': 'A REST API for bucketlists: named lists of life goals, each holding items.',
            'links': {'documentation': '/docs', 'openapi': '/openapi.json', 'bucketlists': '/bucketlists/',
                      'health': '/health'}})}, ['ETag'])},
        public=True)},
    '/health': {'get': operation(
        'getHealth', 'operations', 'Check the service and its database',
        f'For load balancers and uptime checks; answers within {settings.HEALTH_SECONDS} s whatever the database does.',
        {'200': response('Up, and the database answers.', {**json_content(
            schema('Health'), {'status': 'ok', 'database': 'reachable', 'version': settings.RELEASE})}, ['ETag'])},
        public=True)},
    '/livez': {'get': operation(
        'getLiveness', 'operations', 'Is the process up',
        'Touches nothing else, the database included: restart the process only when this fails.',
        {'200': response('Up.', json_content(schema('Live'), {'status': 'ok'}), ['ETag'])},
        public=True)},
    '/readyz': {'get': operation(
        'getReadiness', 'operations', 'Is the service ready for traffic',
        'The database answers and every migration step is applied (behind a pooler in transaction mode, every '
        "read's function is installed too); 503 names the pending steps, or how many functions are missing.",
        {'200': response('Ready.', json_content(schema('Ready'), {'status': 'ready', 'version': settings.RELEASE}),
                         ['ETag'])},
        public=True)},
    '/metrics': {'get': operation(
        'getMetrics', 'operations', 'Prometheus metrics of every worker',
        'Off (404) unless METRICS_TOKEN is set; then send it as `Authorization: Bearer <METRICS_TOKEN>`. '
        'Requests by route pattern, method and status, their duration, 5xx answers, throttle refusals, '
        'database connections in use and waited for, password hashes queued.',
        {'200': response('The metrics, in Prometheus\' text format.', {'text/plain': {'schema': {'type': 'string'}}}),
         '401': problem_response('The metrics token is missing or wrong.', problems.METRICS_TOKEN_NEEDED,
                                 headers=['WWW-Authenticate']),
         '404': problem_response('Metrics are off: METRICS_TOKEN is not set.', problems.METRICS_OFF)},
        public=True, security=['metricsToken'])},
}

# Every write may be refused as a browser's cross-site request (Forbidden says so too).
for path_item in PATHS.values():
    for method in ('post', 'put', 'patch', 'delete'):
        if method in path_item and '403' not in path_item[method]['responses']:
            path_item[method]['responses'] = dict(sorted(
                {**path_item[method]['responses'], '403': ref('responses', 'CrossSite')}.items()))

DESCRIPTION = '''\
Bucketlists are named lists of life goals; each holds items you tick off as you do them. Every \
bucketlist belongs to its owner, who may share it: anybody else's is 404, the same answer as one \
that does not exist.

**Authentication.** Register, log in, then send the token as `Authorization: Bearer <access_token>` \
on every route but the public ones (registration, login, refresh, the operations routes). A login \
opens a session: before its access token expires (`expires_in`), exchange the refresh token at \
POST /auth/refresh for new ones. A missing, malformed or expired token, or one of an ended session, \
is 401 with `WWW-Authenticate: Bearer`; its problem type tells `token-expired` (refresh) from the \
others (log in again). Scripts use API tokens instead (POST /users/me/tokens), scoped to `read` or \
`write`. A wrong current password, where a route asks for it, is 403 `wrong-password`: never a 401.

**Bodies** are a JSON object (`application/json`), as documented. The same fields are also taken \
as a URL-encoded form (`application/x-www-form-urlencoded`, what `curl -d` sends), every value as \
text: `done` is true, false, 1 or 0, a number is its digits, an empty `due_date` is null. Only the \
fields shown are allowed; the others are 400, named in `errors`.

**Errors** are RFC 9457 problem documents (`application/problem+json`), Bottle's own 404, 405 \
(with `Allow`) and 500 included; `message` repeats `detail`. Their `type` says which kind of \
refusal it is (`ProblemType`; each is described at its URI, a page of this service, relative to \
it); `about:blank` is a plain HTTP error whose status says it all.

**Lists** are one page of a JSON array, in the order each route states, with `Link` (first, prev, \
next, last) and `X-Total-Count` headers.

**Conditional requests.** JSON answers carry an `ETag`. A GET with `If-None-Match` naming the current \
one is 304 without a body; a PUT, PATCH or DELETE with an `If-Match` naming none of the current ones \
is 412 and changes nothing.

**Retries.** A POST that creates something may carry an `Idempotency-Key`: a retry with the same key \
gets the first answer again instead of creating a duplicate.

**In a browser.** A browser (Accept ranking text/html above JSON) gets an HTML page for the GET \
URLs here, without a token: the browsable API, whose script makes these same calls. /docs shows \
this document; /problems describes the problem types.

**Tracing.** Every answer carries `X-Request-ID` (yours, if well-formed), also written to the logs. \
The database unavailable is 503 with `Retry-After`, on any route.'''

# --- POST /sync's commands: each a route's write, its args the route's path ids and body ---------

TEMP_ID = {'type': 'string', 'minLength': 1, 'maxLength': commands.TEMP_ID_MAX_LENGTH}
ID_OR_TEMP_ID = {'anyOf': [ID, {**TEMP_ID, 'description': 'The temp_id of an earlier command of the batch, for '
                                                           'the id of what it created.'}]}


def command_name(kind):
    return ''.join(part.title() for part in kind.split('.')) + 'Command'


def command_schema(kind, command):
    """The JSON Schema of a command of ``kind``: its args are its route's path ids and body (an id
    of either may be a temp id)."""
    body = {'properties': {}, 'required': []}
    if command.takes_body:
        body = BODY_SCHEMAS[PATHS[command.path][command.method.lower()]['requestBody']['content'][
            'application/json']['schema']['$ref'].rsplit('/', 1)[1]]
    renamed = {body_name: name for name, body_name in commands.RENAMED.get(kind, {}).items()}
    args = {name: ID_OR_TEMP_ID for name in commands.PATH_IDS[kind]}
    for name, field in body['properties'].items():
        name = renamed.get(name, name)
        if name in commands.BODY_IDS:
            field = {**field, 'items': ID_OR_TEMP_ID} if field.get('type') == 'array' else ID_OR_TEMP_ID
        args[name] = field
    envelope = {
        'uuid': {'type': 'string', 'format': 'uuid', 'description': 'New for each command: it runs once.'},
        'type': {'type': 'string', 'enum': [kind]},
        'args': body_schema(args, [*commands.PATH_IDS[kind], *(renamed.get(n, n) for n in body['required'])]),
    }
    if kind in commands.CREATES:
        envelope['temp_id'] = {**TEMP_ID, 'description': 'Names what this creates, for the later commands (new in '
                                                         'the batch).'}
    if command.shown_at:
        envelope['if_version'] = {'anyOf': [{'type': 'integer', 'minimum': 0, 'maximum': 2**63 - 1},
                                            {'type': 'string', 'maxLength': commands.ETAG_MAX_LENGTH,
                                             'pattern': '^' + commands.ETAG.pattern + '$'}],
                                  'description': "Run only if the object's version (or ETag) is still this: "
                                                 'else 412, with the current object.'}
    return {**body_schema(envelope, ['uuid', 'type', 'args']), 'description': f'{command.method} {command.path}'}


SCHEMAS.update({command_name(kind): command_schema(kind, command) for kind, command in commands.COMMANDS.items()})
SCHEMAS['Command'] = {
    'oneOf': [schema(command_name(kind)) for kind in commands.COMMANDS],
    'discriminator': {'propertyName': 'type',
                      'mapping': {kind: f'#/components/schemas/{command_name(kind)}' for kind in commands.COMMANDS}},
    'description': 'A write, as its route takes it: `type` names the route, `args` its path ids and body fields.'}
SCHEMAS['CommandResult'] = {
    **body_schema({'uuid': {'type': 'string', 'format': 'uuid'}, 'type': {'type': 'string'},
                   'status': {'type': 'integer', 'description': "The route's status."},
                   'ok': {'type': 'boolean', 'description': 'Whether it ran: status below 400.'},
                   'body': {'type': 'object', 'description': "The route's answer: the object (a bucketlist without "
                                                             'its items, which the sync part holds), a message, or '
                                                             '(not ok) a problem document.'},
                   'current': {'type': ['object', 'null'],
                               'description': 'With a 412: the object as it is now (null: gone since).'},
                   'replayed': {'type': 'boolean', 'description': 'True: it ran in an earlier request with this uuid; '
                                                                  'this is the stored result.'}},
                  ['uuid', 'type', 'status', 'ok', 'body', 'replayed']),
    'description': "A command's result: the route's answer."}
SCHEMAS['PushAnswer'] = {
    **body_schema({**SCHEMAS['Sync']['properties'],
                   'results': {'type': 'array', 'items': schema('CommandResult'),
                               'description': 'One a command, in their order.'},
                   'temp_ids': {'type': 'object', 'additionalProperties': ID,
                                'description': 'Each temp_id of the batch whose command ran: the id it stands for.'}},
                  [*SCHEMAS['Sync']['required'], 'results', 'temp_ids']),
    'description': "GET /sync's answer from the cursor sent, after the commands ran, and their results."}

DOCUMENT = {
    'openapi': '3.1.0',
    'info': {'title': 'bucketlist', 'version': settings.RELEASE, 'description': DESCRIPTION,
             'license': {'name': 'MIT', 'identifier': 'MIT'}},
    # Relative: the host serving this document (clients generated from it take their base URL).
    'servers': [{'url': '/', 'description': 'The service that serves this document.'}],
    'tags': [{'name': 'accounts', 'description': 'Registration, sessions, the account, API tokens.'},
             {'name': 'bucketlists', 'description': 'Your bucketlists.'},
             {'name': 'items', 'description': 'The items of a bucketlist.'},
             {'name': 'members', 'description': 'Sharing a bucketlist with other accounts.'},
             {'name': 'labels', 'description': 'Your own labels, which you put on the items you see.'},
             {'name': 'activity', 'description': 'Who changed what in your lists, and every completion.'},
             {'name': 'trash', 'description': 'Deleted bucketlists and items, until restored or purged (TRASH_DAYS).'},
             {'name': 'webhooks', 'description': 'Your changes, sent to your URLs as they happen, or streamed live.'},
             {'name': 'operations', 'description': 'Health, readiness and metrics, for operators.'}],
    'security': [{'bearerAuth': []}],
    'paths': PATHS,
    # What the service sends to your webhooks (POST /webhooks): one POST per event.
    'webhooks': {event: {'post': {
        'operationId': 'on' + ''.join(part.title() for part in event.split('.')), 'tags': ['webhooks'],
        'summary': f'An event {event}', 'description': 'Signed as Standard Webhooks says: verify webhook-signature '
        'with your secret over the webhook-id, webhook-timestamp and the body, and drop a webhook-id seen before.',
        'security': [],
        'parameters': [{'name': name, 'in': 'header', 'required': True, 'schema': {'type': 'string'}}
                       for name in ('webhook-id', 'webhook-timestamp', 'webhook-signature')],
        'requestBody': {'required': True, 'content': {'application/json': {'schema': {
            **schema('Event')}, 'example': {'type': event, 'timestamp': EXAMPLE_TIME, 'data': ACTIVITY_EXAMPLE}}}},
        'responses': {'2XX': {'description': 'Received: anything else (or no answer within '
                                             'WEBHOOK_TIMEOUT_SECONDS) is tried again.'}}}}
        for event in EVENT_TYPES},
    'components': {
        'securitySchemes': {'bearerAuth': {
            'type': 'http', 'scheme': 'bearer',
            'description': 'The access_token from POST /auth/login or /auth/refresh, or an API token '
                           '(POST /users/me/tokens).'},
            'metricsToken': {'type': 'http', 'scheme': 'bearer',
                             'description': 'The METRICS_TOKEN setting, for GET /metrics only.'}},
        'schemas': {**SCHEMAS, **BODY_SCHEMAS},
        'parameters': PARAMETERS,
        'headers': HEADERS,
        'responses': RESPONSES,
    },
}


METHODS = ('get', 'post', 'put', 'patch', 'delete')


def operations():
    """(path, method, operation) for every operation, in document order."""
    for path, path_item in DOCUMENT['paths'].items():
        for method in METHODS:
            if method in path_item:
                yield path, method, path_item[method]


def resolve(node):
    """``node``, or the part of the document its local $ref points to."""
    if '$ref' not in node:
        return node
    target = DOCUMENT
    for key in node['$ref'].removeprefix('#/').split('/'):
        target = target[key]
    return target


# --- The /docs page: Swagger UI, served from the installed swagger-ui-py package ------------------

# Its files, without importing the package (its own code is for other frameworks).
SWAGGER_UI_ROOT = os.path.join(importlib.util.find_spec('swagger_ui').submodule_search_locations[0],
                               'static')

SWAGGER_UI_FILES = {'swagger-ui.css', 'swagger-ui-bundle.js'}

# Swagger UI sets style attributes from its script, so inline styles must be allowed; inline
# scripts are not (static/docs.js starts it). Its icons are data: URIs.
DOCS_CONTENT_SECURITY_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                                "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                                "base-uri 'none'; frame-ancestors 'none'")

DOCS_PAGE = '''<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bucketlist API documentation</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="stylesheet" href="/static/docs.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<script src="/docs/swagger-ui-bundle.js" defer></script>
<script src="/static/docs.js" defer></script>
</head>
<body>
<noscript><p>This page needs JavaScript. The document itself is at
<a href="/openapi.json">/openapi.json</a>.</p></noscript>
<header class="docs-header"><h1>bucketlist API documentation</h1>
<a href="/bucketlists/">Browsable API</a> <a href="/openapi.json">OpenAPI document</a></header>
<main id="swagger-ui"></main>
</body>
</html>
'''
