"""Push sync: the commands of POST /sync (its route is in bucketlist.py, beside GET /sync).

A command is a write a client could have sent as a request of its own: its ``type`` names the route
(``COMMANDS``), its ``args`` hold the route's path ids and body fields. Each runs through the route's
own handler, so that the role rules, quotas, throttles and activity entries are the route's, in a
transaction of its own: one that fails leaves the others. Its result is what the route would have
answered (status and body), stored under the command's ``uuid`` in the same transaction, so that a
batch sent again runs only what did not run; a client whose connection dropped mid-answer resends
it whole. An earlier command's ``temp_id`` stands for the id of what it created wherever an id
goes; ``if_version`` makes a command refuse (412) an object changed since the client saw it.
"""
import hashlib
import json
import re
import uuid
from collections import namedtuple

from bottle import HTTPError, HTTPResponse, request, response
from peewee import IntegrityError

import settings
import sync
from fields import MAX_ID, QUERY_VALUE_MAX_LENGTH, Field, component
from models import IdempotencyKey, db, utcnow
from problems import COMMAND_REUSED, FAILED_DEPENDENCY, TEMP_ID_TAKEN, UNKNOWN_TEMP_ID, APIError
from web import IDEMPOTENCY_KEY_LIFETIME, ErrorsPlugin, app, problem

# What a command type runs: its route's method and path, whether the route reads a body, and (for a
# conditional one) where the object it changes is shown, for the current object a 412 carries.
Command = namedtuple('Command', 'method path takes_body shown_at')
BUCKETLIST = '/bucketlists/{bucketlist_id}'
ITEM = BUCKETLIST + '/items/{item_id}'
STEP = ITEM + '/steps/{step_id}'
LABEL = '/labels/{label_id}'
COMMANDS = {
    'bucketlist.create': Command('POST', '/bucketlists/', True, None),
    'bucketlist.update': Command('PATCH', BUCKETLIST, True, BUCKETLIST),
    'bucketlist.delete': Command('DELETE', BUCKETLIST, False, BUCKETLIST),
    'bucketlist.restore': Command('POST', '/trash/bucketlists/{bucketlist_id}/restore', False, None),
    'bucketlist.purge': Command('DELETE', '/trash/bucketlists/{bucketlist_id}', False, None),
    'item.create': Command('POST', BUCKETLIST + '/items/', True, None),
    'item.update': Command('PATCH', ITEM, True, ITEM),
    'item.move': Command('POST', ITEM + '/move', True, ITEM),
    'item.delete': Command('DELETE', ITEM, False, ITEM),
    'item.restore': Command('POST', '/trash/items/{item_id}/restore', False, None),
    'item.purge': Command('DELETE', '/trash/items/{item_id}', False, None),
    'step.create': Command('POST', ITEM + '/steps/', True, None),
    'step.update': Command('PATCH', STEP, True, STEP),
    'step.delete': Command('DELETE', STEP, False, STEP),
    'label.create': Command('POST', '/labels', True, None),
    'label.update': Command('PATCH', LABEL, True, LABEL),
    'label.delete': Command('DELETE', LABEL, False, LABEL),
    'member.invite': Command('POST', BUCKETLIST + '/members', True, None),
    'member.update': Command('PATCH', BUCKETLIST + '/members/{user_id}', True, None),
    'member.remove': Command('DELETE', BUCKETLIST + '/members/{user_id}', False, None),
    'invitation.accept': Command('POST', '/invitations/{invitation_id}/accept', False, None),
    'invitation.decline': Command('POST', '/invitations/{invitation_id}/decline', False, None),
}
PATH_IDS = {name: re.findall(r'{(\w+)}', command.path) for name, command in COMMANDS.items()}
# Where a body field has a path id's name, the command's args name it otherwise: a move's target.
RENAMED = {'item.move': {'to_bucketlist_id': 'bucketlist_id'}}
CREATES = frozenset(name for name in COMMANDS if name.endswith('.create'))  # those that take a temp_id
# Ids in a body, besides the path's: where a temp id may stand for one.
BODY_IDS = frozenset(('to_bucketlist_id', 'labels'))
ENVELOPE = frozenset(('uuid', 'type', 'args', 'temp_id', 'if_version'))
TEMP_ID_MAX_LENGTH = 64
ETAG_MAX_LENGTH = 128
KEY_PREFIX = 'command:'  # (its row among the Idempotency-Keys of requests)

def clean(value, from_form=False):
    """The commands of a POST /sync body, each with what running it needs (the route checks its
    args), or ValueError naming the first that is not a command."""
    if from_form or not isinstance(value, list):
        raise ValueError('Must be a list of commands (in a JSON body).')
    if len(value) > settings.SYNC_MAX_COMMANDS:
        raise ValueError(f'At most {settings.SYNC_MAX_COMMANDS} commands a request.')
    for index, command in enumerate(value):
        try:
            check(command)
        except ValueError as error:
            raise ValueError(f'commands[{index}]: {error}') from None
    return value


def check(command):
    """ValueError unless ``command`` is one a batch can run (what the document's Command says)."""
    if not isinstance(command, dict):
        raise ValueError('Must be an object.')
    unknown = sorted(set(command) - ENVELOPE)
    if unknown:
        raise ValueError(f'Unknown field {unknown[0][:64]!r}.')
    if not isinstance(command.get('uuid'), str) or not canonical_uuid(command['uuid']):
        raise ValueError('uuid must be a UUID (8-4-4-4-12 hex digits), new for each command.')
    kind = command.get('type')
    if not isinstance(kind, str) or kind not in COMMANDS:
        raise ValueError(f'type must be one of {", ".join(COMMANDS)}.')
    if not isinstance(command.get('args'), dict):
        raise ValueError('args must be an object: the path ids and body fields of the route.')
    temp_id = command.get('temp_id')
    if temp_id is not None:
        if kind not in CREATES:
            raise ValueError('temp_id: only a *.create command takes one.')
        if not (isinstance(temp_id, str) and 0 < len(temp_id) <= TEMP_ID_MAX_LENGTH):
            raise ValueError(f'temp_id must be 1 to {TEMP_ID_MAX_LENGTH} characters.')
    version = command.get('if_version')
    if isinstance(version, float) and version.is_integer():  # (JSON's 17.0 is the integer 17)
        version = command['if_version'] = int(version)
    if version is not None:
        if COMMANDS[kind].shown_at is None:
            raise ValueError(f'if_version: a {kind} command changes no object of a version.')
        if not (type(version) is int and 0 <= version < 2**63
                or isinstance(version, str) and 0 < len(version) <= ETAG_MAX_LENGTH):
            raise ValueError('if_version must be a version (a whole number) or an ETag.')


def canonical_uuid(text):
    try:
        return len(text) == 36 and str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def run(commands, user_id):
    """(the result of each command, {temp_id: id}): each command run once, in order; one whose uuid
    ran before (in an earlier request or this one) answers its stored result."""
    keys = [KEY_PREFIX + command['uuid'].lower() for command in commands]
    with db.atomic():
        IdempotencyKey.forget_older_than(user_id, utcnow() - IDEMPOTENCY_KEY_LIFETIME)
        stored = {record.key: (record.fingerprint, record.body) for record in IdempotencyKey.select().where(
            (IdempotencyKey.owner == user_id) & IdempotencyKey.key.in_(set(keys)))}
    outer, results, temp_ids, failed = request.environ, [], {}, set()
    try:
        for key, command in zip(keys, commands, strict=True):
            temp_id = command.get('temp_id')
            if key in stored:
                result = replayed(stored[key], command)
            elif temp_id in temp_ids or temp_id in failed:
                result = result_of(command, *refusal(TEMP_ID_TAKEN(temp_id=temp_id, errors={
                    'temp_id': 'An earlier command of the batch has it.'})))
                temp_id = None  # (the earlier command's)
            else:
                result = run_once(key, command, user_id, outer, temp_ids, failed, stored)
            if result['status'] == 412:  # (the object as it is now: a replay's too)
                result['current'] = current(command, temp_ids, user_id, outer)
            if temp_id is not None:
                if result['ok']:
                    temp_ids[temp_id] = result['body']['id']
                else:
                    failed.add(temp_id)
            results.append(result)
    finally:
        request.bind(outer)
        response.bind()
    return results, temp_ids


def fingerprint(command):
    return hashlib.sha256(json.dumps([command[name] if name in command else None for name in sorted(ENVELOPE)
                                      if name != 'uuid'], sort_keys=True).encode()).hexdigest()


def replayed(stored, command):
    """The result ``stored`` (fingerprint, result) for this command, or 422 for another command of this uuid."""
    if stored[0] != fingerprint(command):
        return result_of(command, *refusal(COMMAND_REUSED()))
    return {**json.loads(stored[1]), 'replayed': True}


def result_of(command, status, body):
    return {'uuid': command['uuid'], 'type': command['type'], 'status': status, 'ok': status < 400, 'body': body,
            'replayed': False}


def run_once(key, command, user_id, outer, temp_ids, failed, stored):
    """The result of the command, run in a transaction that also stores it under ``key`` (and in
    ``stored``), unless the database failed it: a retry runs it again. A retry racing it finds
    the stored one."""
    try:
        method, path, body, headers = http_request_of(command, temp_ids, failed)
    except APIError as refused:
        return result_of(command, *refusal(refused))
    with db.atomic() as transaction:
        status, body = answer(method, path, body, headers, user_id, outer)
        if status >= 400:
            transaction.rollback()
        result = result_of(command, status, body)
        if status >= 500:
            return result
        stored[key] = (fingerprint(command), json.dumps(result))
        try:
            IdempotencyKey.insert(owner=user_id, key=key, fingerprint=stored[key][0], status=status,
                                  body=stored[key][1]).execute()
        except IntegrityError:  # the same command, sent again meanwhile, ran first
            transaction.rollback()
            record = IdempotencyKey.get((IdempotencyKey.owner == user_id) & (IdempotencyKey.key == key))
            stored[key] = (record.fingerprint, record.body)
            return replayed(stored[key], command)
    return result


def current(command, temp_ids, user_id, outer):
    """The object a refused conditional command would have changed, as it is now (None: gone)."""
    shown_at = COMMANDS[command['type']].shown_at.format(**path_ids(command, temp_ids))
    status, shown = answer('GET', shown_at, None, {}, user_id, outer)
    return shown if status == 200 else None


def http_request_of(command, temp_ids, failed):
    """(method, path, JSON body or None, headers) of the request the command stands for, its temp
    ids replaced by the ids they stand for; a problem (raised) when it cannot be made."""
    kind, args = command['type'], dict(command.get('args', {}))
    route = COMMANDS[kind]
    ids = {}
    for name in PATH_IDS[kind]:
        ids[name] = server_id(name, args.pop(name, None), temp_ids, failed)
    for name in BODY_IDS & args.keys():
        value = args[name]
        args[name] = ([server_id(name, one, temp_ids, failed) for one in value] if isinstance(value, list)
                      else server_id(name, value, temp_ids, failed))
    for name, body_name in RENAMED.get(kind, {}).items():
        if name in args:
            args[body_name] = args.pop(name)
    if not route.takes_body and args:
        name = sorted(args)[0][:64]
        raise APIError(400, f'The command has an unknown argument: {name}.', errors={name: 'Unknown field.'},
                       kind='invalid-fields')
    headers = {}
    version = command.get('if_version')
    if version is not None:
        headers['bucketlist.if_version' if type(version) is int else 'HTTP_IF_MATCH'] = version
    body = json.dumps(args).encode() if route.takes_body else None
    return route.method, route.path.format(**ids), body, headers


def path_ids(command, temp_ids):
    """The ids in the path of a command that ran (its temp ids are known)."""
    args = command['args']
    return {name: temp_ids[args[name]] if isinstance(args[name], str) else args[name]
            for name in PATH_IDS[command['type']]}


def server_id(name, value, temp_ids, failed):
    """The id ``value`` stands for: itself, or the id an earlier command's temp id stands for."""
    if isinstance(value, str):
        if value in temp_ids:
            return temp_ids[value]
        if value in failed:
            raise FAILED_DEPENDENCY(name=name, temp_id=value[:TEMP_ID_MAX_LENGTH])
        raise UNKNOWN_TEMP_ID(name=name, temp_id=value[:TEMP_ID_MAX_LENGTH], errors={name: 'No such temp_id.'})
    if value is None and name not in BODY_IDS:
        raise APIError(400, f'The command needs {name}.', errors={name: 'This field is required.'},
                       kind='invalid-fields')
    if name not in BODY_IDS and not (type(value) is int and 0 < value <= MAX_ID):
        raise APIError(400, f'{name} must be an id or a temp_id.', errors={name: 'Must be an id or a temp_id.'},
                       kind='invalid-fields')
    return value


def refusal(error):
    """(status, problem document) of a refusal, as ``web.problem_json`` renders it."""
    detail = error.body if error.status_code != 500 else 'The server could not complete the request.'
    return error.status_code, problem(error.status_code, detail, getattr(error, 'errors', None),
                                      getattr(error, 'kind', None))


HANDLERS = {}  # {route: its callback, with the errors plugin only}: the token was checked once for the batch


def answer(method, path, body, headers, user_id, outer):
    """(status, body) of the route's answer to ``method`` ``path`` with the JSON ``body``, as
    ``user_id`` asks it within this request (whose token the batch's own check proved)."""
    environ = {'REQUEST_METHOD': method, 'PATH_INFO': path, 'QUERY_STRING': '',
               'SCRIPT_NAME': outer.get('SCRIPT_NAME', ''), 'bucketlist.body': body or b'',
               'bucketlist.request_id': outer.get('bucketlist.request_id'), 'bucketlist.user_id': user_id,
               'bottle.request.ext.user_id': user_id, 'bottle.request.ext.session_id': None,
               **{name: outer[name] for name in ('REMOTE_ADDR', 'HTTP_X_FORWARDED_FOR', 'HTTP_HOST') if name in outer},
               **headers}
    if body is not None:
        environ['CONTENT_TYPE'], environ['CONTENT_LENGTH'] = 'application/json', str(len(body))
    route, args = app.router.match(environ)
    environ['bottle.app'], environ['bottle.route'], environ['route.url_args'] = app, route, args
    request.bind(environ)
    response.bind()
    handler = HANDLERS.get(route)
    if handler is None:
        handler = HANDLERS[route] = ErrorsPlugin().apply(route.callback, route)
    try:
        shown = handler(**args)
    except HTTPError as error:
        return refusal(error)
    except HTTPResponse as answered:  # (none of the commands' routes answers so; as a route would)
        return answered.status_code, answered.body
    return response.status_code, shown


def clean_cursor(value, from_form=False):
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > QUERY_VALUE_MAX_LENGTH:
        raise ValueError('Not a cursor this API gave: send the cursor of the last answer, or none.')
    try:
        return sync.decode(value)
    except sync.BadCursor:
        raise ValueError('Not a cursor this API gave: send the cursor of the last answer, or none.') from None


BODY = {  # POST /sync's
    'cursor': Field({'type': ['string', 'null'], 'minLength': 1, 'maxLength': QUERY_VALUE_MAX_LENGTH}, clean_cursor,
                    description="The last answer's cursor (GET or POST /sync), or none: the answer is a full sync's "
                                'first page.'),
    'commands': Field({'type': 'array', 'maxItems': settings.SYNC_MAX_COMMANDS, 'items': component('Command')}, clean,
                      description='Run in order, each once per uuid, each atomic on its own.'),
}
