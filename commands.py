"""Push sync: the commands of POST /sync (its route is in bucketlist.py, beside GET /sync).

A command is a write a client could have sent as a request of its own: its ``type`` names the route
(``COMMANDS``), its ``args`` hold the route's path ids and body fields. Each runs through the route's
own handler, so that the role rules, quotas, throttles and activity entries are the route's, and
one that fails leaves the others. Its result is what the route would have answered (status and
body), stored under the command's ``uuid`` in the transaction of its change (``run``), so that a
batch sent again runs only what did not run; a client whose connection dropped mid-answer resends
it whole. An earlier command's ``temp_id`` stands for the id of what it created wherever an id
goes; ``if_version`` makes a command refuse (412) an object changed since the client saw it.
"""
import hashlib
import json
import re
import time
import uuid
from collections import namedtuple

from bottle import HTTPError, HTTPResponse, request, response
from peewee import IntegrityError

import settings
import sync
from database import ON_POSTGRESQL, transaction_failed
from fields import MAX_ID, QUERY_VALUE_MAX_LENGTH, Field, component
from models import IdempotencyKey, ThrottleEvent, db, utcnow
from problems import COMMAND_REUSED, FAILED_DEPENDENCY, PLAIN, TEMP_ID_TAKEN, UNKNOWN_TEMP_ID, APIError
from web import COUNTED_AFTER, IDEMPOTENCY_KEY_LIFETIME, IF_VERSION, ErrorsPlugin, app, dumps, problem_of

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
# What a temp id given for each id must have made.
ID_KINDS = {'bucketlist_id': 'bucketlist', 'to_bucketlist_id': 'bucketlist', 'item_id': 'item', 'step_id': 'step',
            'label_id': 'label', 'labels': 'label'}
# Commands after which the caller may no longer see the list, by design: their replays are not refused for it.
LEAVE_THE_LIST = frozenset(('bucketlist.delete', 'bucketlist.purge', 'member.remove'))
# An If-Match's entity tag: quoted printable ASCII (RFC 9110 8.8.3), optionally weak.
ETAG = re.compile(r'(W/)?"[\x21\x23-\x7e]*"')
TEMP_ID_MAX_LENGTH = 64
ETAG_MAX_LENGTH = 128
KEY_PREFIX = 'command '  # (its row among the Idempotency-Keys of requests, which hold no space)
STORED_COLUMNS = ('owner_id', '"key"', 'fingerprint', 'body', 'status', 'created_at')  # (Batch.store)
# PostgreSQL keeps the ids of 64 subtransactions a connection (each savepoint that writes is one):
# past them, every other session's snapshot looks its transaction's up on disk until it ends.
# SQLite takes turns at writing whole transactions: fewer, sooner.
COMMANDS_A_TRANSACTION = 50 if ON_POSTGRESQL else 10

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
                or isinstance(version, str) and len(version) <= ETAG_MAX_LENGTH and ETAG.fullmatch(version)):
            raise ValueError('if_version must be a version (a whole number) or an ETag ("…", as an answer gave it).')


def canonical_uuid(text):
    try:
        return len(text) == 36 and str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def run(commands, user_id):
    """(the result of each command, {temp_id: id}): each command run once, in order; one whose uuid
    ran before (in an earlier request or this one) answers its stored result.

    Commands run COMMANDS_A_TRANSACTION to a transaction, which commits once with the results they
    store: a command is stored with its change or not at all. The database lost midway is a 503
    for the request, and the batch sent again replays what committed and runs the rest. Each
    command is as atomic as its route makes it (every route's writes of several statements are in
    a transaction of their own: here a savepoint), and a refused one leaves the others. A statement
    that fails on PostgreSQL fails its transaction: the transaction runs again, that command and
    those after it in a savepoint each (a savepoint for every command would cost each a round trip
    more; guarding those after too runs a transaction at most twice). Two requests running the same
    commands at once meet at the results' unique index; the one that waited starts again, and
    replays what the other stored."""
    keys = [KEY_PREFIX + command['uuid'].lower() for command in commands]
    for attempt in range(3):
        batch = Batch(user_id)
        try:
            IdempotencyKey.forget_older_than(user_id, utcnow() - IDEMPOTENCY_KEY_LIFETIME)
            results = []
            for start in range(0, len(commands), COMMANDS_A_TRANSACTION):
                chunk = slice(start, start + COMMANDS_A_TRANSACTION)
                results += batch.run_transaction(keys[chunk], commands[chunk])
            return results, {temp_id: object_id for temp_id, (_, object_id) in batch.temp_ids.items()}
        except IntegrityError:  # (the results' index: the same commands ran meanwhile)
            if attempt == 2:
                raise
        finally:
            request.bind(batch.outer)
            response.bind()


class FailedTransaction(Exception):
    """A command failed its transaction (PostgreSQL): the transaction runs again, that one guarded."""


class Batch:
    """The commands of one request as they run: what their temp ids stand for, and what ran before."""

    def __init__(self, user_id):
        self.user_id, self.outer = user_id, request.environ
        self.stored = {}  # {key: (fingerprint, result as JSON)} of the commands that ran
        self.to_store = []  # the rows of the results this batch stores
        self.temp_ids = {}  # {temp_id: (what its command made, its id)}
        self.failed = set()  # the temp ids of commands that made nothing
        self.run_keys = set()  # the keys of this batch's commands so far

    def run_transaction(self, keys, commands):
        """The results of ``commands``, run in one transaction (``run``); once one is found to fail it,
        again, that one and those after it in a savepoint each."""
        guarded_from, state = len(commands), self.state()
        while True:
            results = []
            try:
                with db.atomic():
                    self.read_stored(keys)
                    for key, command in zip(keys, commands, strict=True):
                        results.append(self.run(key, command, len(results) >= guarded_from))
                        time.sleep(0)  # (gevent's, under it: the worker's other requests take turns)
                    self.store()
                return results
            except FailedTransaction:  # (rolled back: again, from the state before it, once at most)
                guarded_from = len(results)
                self.restore(state)

    def state(self):
        return (dict(self.stored), dict(self.temp_ids), set(self.failed), set(self.run_keys), len(self.to_store))

    def restore(self, state):
        stored, temp_ids, failed, run_keys, to_store = state
        self.stored, self.temp_ids = dict(stored), dict(temp_ids)
        self.failed, self.run_keys = set(failed), set(run_keys)
        del self.to_store[to_store:]

    def read_stored(self, keys):
        self.stored.update({record.key: (record.fingerprint, record.body) for record in IdempotencyKey.select(
            IdempotencyKey.key, IdempotencyKey.fingerprint, IdempotencyKey.body).where(
            (IdempotencyKey.owner == self.user_id) & IdempotencyKey.key.in_(set(keys) - self.stored.keys()))})

    def store(self):
        """Insert the results this transaction keeps, in one statement written here: Peewee's
        insert_many took a quarter of a batch's CPU to write it."""
        if self.to_store:
            row = f'({", ".join([db.param] * len(STORED_COLUMNS))})'
            db.execute_sql(f'INSERT INTO idempotency_keys ({", ".join(STORED_COLUMNS)}) VALUES '
                           + ', '.join([row] * len(self.to_store)), [value for row in self.to_store for value in row])
            self.to_store = []

    def run(self, key, command, guarded=False):
        temp_id, again = command.get('temp_id'), key in self.run_keys
        self.run_keys.add(key)
        if temp_id is not None and not again and (temp_id in self.temp_ids or temp_id in self.failed):
            return result_of(command, *refusal(TEMP_ID_TAKEN(temp_id=temp_id, errors={
                'temp_id': 'An earlier command of the batch has it.'})))
        if key in self.stored:
            result = self.replayed(key, command)
        else:
            result = self.run_once(key, command, guarded)
        if result['status'] == 412:  # (the object as it is now: a replay's too)
            result['current'] = self.current(command)
        if temp_id is not None:
            if result['ok'] and result['body'].get('id'):
                self.temp_ids[temp_id] = (command['type'].split('.')[0], result['body']['id'])
            else:
                self.failed.add(temp_id)
        return result

    def replayed(self, key, command):
        """The stored result, unless it is another command's (422), or the list it wrote to is no
        longer the caller's to see (404, as the route would answer now; not stored)."""
        fingerprint_, body = self.stored[key]
        if fingerprint_ != fingerprint(command):
            return result_of(command, *refusal(COMMAND_REUSED()))
        result = {**json.loads(body), 'replayed': True}
        bucketlist_id = command['args'].get('bucketlist_id')
        if result['ok'] and 'bucketlist_id' in PATH_IDS[command['type']] and command['type'] not in LEAVE_THE_LIST:
            try:
                path = BUCKETLIST.format(bucketlist_id=self.server_id('bucketlist_id', bucketlist_id))
            except APIError as refused:
                return result_of(command, *refusal(refused))
            status, shown = answer('GET', path, None, {}, self.user_id, self.outer)
            if status != 200:
                return result_of(command, status, shown)
        return result

    def run_once(self, key, command, guarded):
        """The result of the command, run by its route (``guarded``: in a savepoint, rolled back if
        refused). A result is kept but when it is the moment's (a plain HTTP error: 429, 503, a
        race), which a retry runs again."""
        try:
            method, path, body, headers = self.http_request_of(command)
        except APIError as refused:
            return result_of(command, *refusal(refused))
        failures = headers[COUNTED_AFTER] = []  # (what the route counts though it refuses: web.count_failure)
        if guarded:
            with db.atomic() as savepoint:
                status, body = answer(method, path, body, headers, self.user_id, self.outer)
                if status >= 400:
                    savepoint.rollback()
        else:
            status, body = answer(method, path, body, headers, self.user_id, self.outer)
            if transaction_failed():
                raise FailedTransaction()
        for limits in failures:
            ThrottleEvent.record(limits, utcnow())
        result = result_of(command, status, body)
        if status < 400 or body['type'] != PLAIN:
            self.stored[key] = (fingerprint(command), dumps(result).decode())  # (UTF-8, not escapes)
            self.to_store.append((self.user_id, key, *self.stored[key], status,
                                  IdempotencyKey.created_at.db_value(utcnow())))
        return result

    def current(self, command):
        """The object a refused conditional command would have changed, as it is now (None: gone)."""
        try:
            ids = {name: self.server_id(name, command['args'].get(name)) for name in PATH_IDS[command['type']]}
        except APIError:  # (a replay's temp id that this batch does not know)
            return None
        status, shown = answer('GET', COMMANDS[command['type']].shown_at.format(**ids), None, {}, self.user_id,
                               self.outer)
        return without_items(shown) if status == 200 else None

    def http_request_of(self, command):
        """(method, path, body fields or None, headers) of the request the command stands for, its temp
        ids replaced by the ids they stand for; a problem (raised) when it cannot be made."""
        kind, args = command['type'], dict(command['args'])
        route = COMMANDS[kind]
        ids = {name: self.server_id(name, args.pop(name, None)) for name in PATH_IDS[kind]}
        for name in BODY_IDS & args.keys():
            value = args[name]
            args[name] = ([self.server_id(name, one) for one in value] if isinstance(value, list)
                          else self.server_id(name, value))
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
            headers[IF_VERSION] = version
        return route.method, route.path.format(**ids), args if route.takes_body else None, headers

    def server_id(self, name, value):
        """The id ``value`` stands for: itself, or the id of what an earlier command with that temp id
        made (of the kind ``name`` names: a label's temp id is no bucketlist_id)."""
        if isinstance(value, str):
            made = self.temp_ids.get(value)
            if made is not None and made[0] == ID_KINDS.get(name):
                return made[1]
            if value in self.failed:
                raise FAILED_DEPENDENCY(name=name, temp_id=value[:TEMP_ID_MAX_LENGTH])
            raise UNKNOWN_TEMP_ID(name=name, temp_id=value[:TEMP_ID_MAX_LENGTH], errors={
                name: f'No {ID_KINDS.get(name) or "object"} of this batch has this temp_id.'})
        if isinstance(value, float) and value.is_integer():  # (JSON's 3.0 is the integer 3)
            value = int(value)
        if value is None and name not in BODY_IDS:
            raise APIError(400, f'The command needs {name}.', errors={name: 'This field is required.'},
                           kind='invalid-fields')
        if name not in BODY_IDS and not (type(value) is int and 0 < value <= MAX_ID):
            raise APIError(400, f'{name} must be an id or a temp_id.', errors={name: 'Must be an id or a temp_id.'},
                           kind='invalid-fields')
        return value


def fingerprint(command):
    return hashlib.sha256(json.dumps([command[name] if name in command else None for name in sorted(ENVELOPE)
                                      if name != 'uuid'], sort_keys=True).encode()).hexdigest()


def result_of(command, status, body):
    return {'uuid': command['uuid'], 'type': command['type'], 'status': status, 'ok': status < 400,
            'body': without_items(body), 'replayed': False}


def without_items(body):
    """A bucketlist's answer without its items, an item's without its steps (the answer's sync part
    has those that changed): a result is one object, however many its list or its item hold."""
    if isinstance(body, dict) and ('has_more_items' in body or 'steps' in body):
        return {name: value for name, value in body.items() if name not in ('items', 'has_more_items', 'steps')}
    return body


def refusal(error):
    """(status, problem document) of a refusal, as ``web.problem_json`` renders it."""
    return error.status_code, problem_of(error)


HANDLERS = {}  # {route: its callback, with the errors plugin only}: the token was checked once for the batch


def answer(method, path, fields, headers, user_id, outer):
    """(status, body) of the route's answer to ``method`` ``path`` with a JSON body of ``fields``, as
    ``user_id`` asks it within this request (whose token the batch's own check proved). The body
    is given as parsed (web.request_fields), not as bytes to parse again."""
    environ = {'REQUEST_METHOD': method, 'PATH_INFO': path, 'QUERY_STRING': '',
               'SCRIPT_NAME': outer.get('SCRIPT_NAME', ''), 'bucketlist.body': b'',
               'bucketlist.request_id': outer.get('bucketlist.request_id'), 'bucketlist.user_id': user_id,
               'bottle.request.ext.user_id': user_id, 'bottle.request.ext.session_id': None,
               **{name: outer[name] for name in ('REMOTE_ADDR', 'HTTP_X_FORWARDED_FOR', 'HTTP_HOST') if name in outer},
               **headers}
    if fields is not None:
        environ['CONTENT_TYPE'], environ['bucketlist.request_fields'] = 'application/json', (fields, False)
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
    """The sync.Cursor a body's ``cursor`` spells (None: none), or ValueError."""
    try:
        if value is None:
            return None
        if isinstance(value, str) and len(value) <= QUERY_VALUE_MAX_LENGTH:
            return sync.decode(value)
    except sync.BadCursor:
        pass
    raise ValueError('Not a cursor this API gave: send the cursor of the last answer, or none.')


BODY = {  # POST /sync's
    'cursor': Field({'type': ['string', 'null'], 'minLength': 1, 'maxLength': QUERY_VALUE_MAX_LENGTH}, clean_cursor,
                    description="The last answer's cursor (GET or POST /sync), or none: the answer is a full sync's "
                                'first page.'),
    'commands': Field({'type': 'array', 'maxItems': settings.SYNC_MAX_COMMANDS, 'items': component('Command')}, clean,
                      description='Run in order, each once per uuid, each atomic on its own.'),
}
