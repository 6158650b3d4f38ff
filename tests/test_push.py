"""Push sync: POST /sync runs a batch of commands (the route's writes, in order, each atomic on its
own), with temp ids, idempotent uuids and conditions on the version a client saw; every
versioned object shows the ``version`` those conditions name."""
import json
import re
import threading
import uuid

import hypothesis
import pytest
from conftest import empty_tables_now
from helpers import new_list, register_and_login, user_id_of
from hypothesis import strategies as st
from test_activity import WRITES, share
from test_sync import Replica

import commands
import settings
from models import IdempotencyKey, db


@pytest.fixture
def grace():
    return register_and_login('grace@example.com')


def current(user, url):
    return user.get(url).json


def test_every_write_answers_the_version_that_reads_show_and_each_write_moves_it(user):
    trip, (item,) = new_list(user, 'Trip', ['Pack'])
    other, _ = new_list(user, 'Other')
    list_url, item_url = f'/bucketlists/{trip["id"]}', f'/bucketlists/{trip["id"]}/items/{item["id"]}'
    label = user.post_json('/labels', {'name': 'Home'}, status=201).json
    assert label['version'] == current(user, f'/labels/{label["id"]}')['version']
    seen = set()
    for write, url in [
        (lambda: user.patch_json(list_url, {'name': 'Japan'}), list_url),
        (lambda: user.put_json(list_url, {'name': 'Japan trip'}), list_url),
        (lambda: user.patch_json(item_url, {'done': True}), item_url),
        (lambda: user.put_json(item_url, {'name': 'Pack light'}), item_url),
        (lambda: user.patch_json(item_url, {'labels': [label['id']]}), item_url),
        (lambda: user.patch_json(item_url, {'name': 'Pack', 'labels': []}), item_url),
        (lambda: user.post_json(f'{item_url}/move', {'position': 0}), item_url),
    ]:
        answer = write().json
        assert answer['version'] == current(user, url)['version'], url
        seen.add((url, answer['version']))
    assert len(seen) == 7  # (each write a new version)
    moved = user.post_json(f'{item_url}/move', {'bucketlist_id': other['id']}).json
    assert moved['version'] == current(user, f'/bucketlists/{other["id"]}/items/{item["id"]}')['version']
    item_url = f'/bucketlists/{other["id"]}/items/{item["id"]}'
    step = user.post_json(f'{item_url}/steps/', {'name': 'Socks'}, status=201).json
    assert step['version'] == current(user, f'{item_url}/steps/{step["id"]}')['version']
    step2 = user.patch_json(f'{item_url}/steps/{step["id"]}', {'done': True}).json
    assert step2['version'] == current(user, f'{item_url}/steps/{step["id"]}')['version'] != step['version']
    label2 = user.patch_json(f'/labels/{label["id"]}', {'colour': '#112233'}).json
    assert label2['version'] == current(user, f'/labels/{label["id"]}')['version'] != label['version']
    made = user.post_json(f'/bucketlists/{other["id"]}/items/', {'name': 'Tickets'}, status=201).json
    assert made['version'] == current(user, f'/bucketlists/{other["id"]}/items/{made["id"]}')['version']
    user.delete(f'/bucketlists/{other["id"]}/items/{made["id"]}')
    restored = user.post(f'/trash/items/{made["id"]}/restore').json
    assert restored['version'] == current(user, f'/bucketlists/{other["id"]}/items/{made["id"]}')['version']
    user.delete(list_url)
    restored = user.post(f'/trash/bucketlists/{trip["id"]}/restore').json
    assert restored['version'] == current(user, list_url)['version']
    synced = user.get('/sync').json
    assert {b['id']: b['version'] for b in synced['bucketlists']} == {
        b: current(user, f'/bucketlists/{b}')['version'] for b in (trip['id'], other['id'])}


def cmd(kind, temp_id=None, if_version=None, **args):
    command = {'uuid': str(uuid.uuid4()), 'type': kind, 'args': args}
    if temp_id is not None:
        command['temp_id'] = temp_id
    if if_version is not None:
        command['if_version'] = if_version
    return command


def push(client, commands, cursor=None, status=200):
    body = {'commands': commands, **({'cursor': cursor} if cursor else {})}
    return client.post_json('/sync', body, status=status).json


def statuses(answer):
    return [result['status'] for result in answer['results']]


def test_a_list_its_items_and_their_steps_are_made_in_one_batch_of_temp_ids(user):
    answer = push(user, [
        cmd('bucketlist.create', 'trip', name='Japan'),
        cmd('item.create', 'flights', bucketlist_id='trip', name='Book flights'),
        cmd('item.create', 'kyoto', bucketlist_id='trip', name='Visit Kyoto'),
        cmd('step.create', 'seat', bucketlist_id='trip', item_id='flights', name='Pick a seat'),
        cmd('label.create', 'culture', name='Culture'),
        cmd('item.update', bucketlist_id='trip', item_id='kyoto', labels=['culture'], done=True),
        cmd('item.move', bucketlist_id='trip', item_id='kyoto', position=0),
    ])
    assert statuses(answer) == [201, 201, 201, 201, 201, 200, 200]
    assert 'items' not in answer['results'][0]['body']  # (a list's result is the list: its items are synced)
    ids = answer['temp_ids']
    assert set(ids) == {'trip', 'flights', 'kyoto', 'seat', 'culture'}
    kyoto = user.get(f'/bucketlists/{ids["trip"]}/items/{ids["kyoto"]}').json
    assert (kyoto['labels'], kyoto['done'], kyoto['position']) == ([ids['culture']], True, 0)
    assert answer['results'][-1]['body'] == {name: value for name, value in kyoto.items() if name != 'steps'}
    flights = user.get(f'/bucketlists/{ids["trip"]}/items/{ids["flights"]}').json
    assert [step['id'] for step in flights['steps']] == [ids['seat']]
    # The answer is a full sync (no cursor was sent) holding the batch's own writes...
    assert {b['id'] for b in answer['bucketlists']} == {ids['trip']}
    assert {i['id']: i['version'] for i in answer['items']} == {
        i['id']: i['version'] for i in user.get(f'/bucketlists/{ids["trip"]}/items/').json}
    # ...and its cursor follows them: the next sync brings nothing new. (On PostgreSQL a transaction
    # of another's still open may have it send a change again: whole, of the version already had.)
    again = user.get('/sync', {'cursor': answer['cursor']}).json
    for part in ('bucketlists', 'items', 'steps', 'labels'):
        assert all(thing in answer[part] for thing in again[part]), part


def test_each_command_is_atomic_on_its_own_and_a_batch_past_the_quota_stops_exactly_at_it(user, monkeypatch):
    monkeypatch.setattr(settings, 'MAX_ITEMS_PER_BUCKETLIST', 3)
    trip, _ = new_list(user, 'Trip', ['One'])
    answer = push(user, [cmd('item.create', bucketlist_id=trip['id'], name=f'Item {n}') for n in range(4)]
                  + [cmd('bucketlist.update', bucketlist_id=trip['id'], name='Trip, full')])
    assert statuses(answer) == [201, 201, 409, 409, 200]
    refused = answer['results'][2]
    assert (refused['ok'], refused['body']['type']) == (False, '/problems/quota-exceeded')
    assert [i['name'] for i in user.get(f'/bucketlists/{trip["id"]}/items/').json] == ['One', 'Item 0', 'Item 1']
    assert user.get(f'/bucketlists/{trip["id"]}').json['name'] == 'Trip, full'



def test_a_statement_that_fails_leaves_the_batch_s_other_commands_whole(user):
    """A name taken is a unique index's refusal, which fails a PostgreSQL transaction: the batch runs
    again with that command alone in a savepoint, and no other command runs (or records) twice."""
    answer = push(user, [cmd('bucketlist.create', 'a', name='A'), cmd('bucketlist.create', 'b', name='B'),
                         cmd('bucketlist.update', bucketlist_id='b', name='A'),
                         cmd('item.create', bucketlist_id='a', name='In A'),
                         cmd('bucketlist.update', bucketlist_id='a', name='B'),
                         cmd('bucketlist.update', bucketlist_id='b', name='C')])
    assert statuses(answer) == [201, 201, 409, 201, 409, 200]
    assert sorted(b['name'] for b in user.get('/bucketlists/').json) == ['A', 'C']
    assert [i['name'] for i in user.get(f'/bucketlists/{answer["temp_ids"]["a"]}/items/').json] == ['In A']
    assert [e['kind'] for e in user.get('/activity').json].count('bucketlist.created') == 2


def test_many_failing_statements_run_a_batch_s_transaction_twice_at_most(user, queries):
    """Each failure found on PostgreSQL runs the transaction again: from the first on, every command is
    guarded, so twenty of them cost one more run, not twenty (which an attack made last 78 s)."""
    push(user, [cmd('bucketlist.create', name='Taken'), cmd('bucketlist.create', 'b', name='Mine')])
    mine = user.get('/bucketlists/').json[1]['id']
    clashes = [cmd('bucketlist.update', bucketlist_id=mine, name='Taken') for _ in range(20)]
    fine = [cmd('bucketlist.update', bucketlist_id=mine, description=f'Fine {n}') for n in range(20)]
    count_clashing = queries(lambda: push(user, clashes))
    count_fine = queries(lambda: push(user, fine))
    assert count_clashing < 6 * count_fine  # (each guarded command: its savepoint and its release)

def test_a_batch_sent_again_after_a_lost_answer_runs_only_what_did_not_run(user):
    trip, (item,) = new_list(user, 'Trip', ['Pack'])
    first = [cmd('item.create', 'socks', bucketlist_id=trip['id'], name='Socks'),
             cmd('item.update', bucketlist_id=trip['id'], item_id=item['id'], done=True),
             cmd('item.update', bucketlist_id=trip['id'], item_id='socks', name='Warm socks')]
    answered = push(user, first)
    # The answer was lost; the client, offline again, queued one more and sends the lot.
    retried = push(user, first + [cmd('item.create', bucketlist_id=trip['id'], name='Hat')])
    assert [r['replayed'] for r in retried['results']] == [True, True, True, False]
    assert retried['results'][:3] == [{**r, 'replayed': True} for r in answered['results']]
    assert retried['temp_ids'] == answered['temp_ids']
    names = [i['name'] for i in user.get(f'/bucketlists/{trip["id"]}/items/').json]
    assert names == ['Pack', 'Warm socks', 'Hat']  # nothing twice
    activity = user.get(f'/bucketlists/{trip["id"]}/activity').json
    assert sum(entry['kind'] == 'item.created' for entry in activity) == 3  # Pack, Socks, Hat
    # A uuid names one command: another under it is refused, not run; in one batch too.
    reused = push(user, [{**first[0], 'args': {'bucketlist_id': trip['id'], 'name': 'Other'}}])
    assert (statuses(reused), reused['results'][0]['body']['type']) == ([422], '/problems/idempotency-key-reused')
    twice = cmd('item.create', 'scarf', bucketlist_id=trip['id'], name='Scarf')
    answer = push(user, [twice, twice, {**twice, 'args': {'bucketlist_id': trip['id'], 'name': 'Gloves'}}])
    assert statuses(answer) == [201, 201, 422]
    assert [r['replayed'] for r in answer['results']] == [False, True, False]
    assert answer['temp_ids'] == {'scarf': answer['results'][0]['body']['id']}
    assert [i['name'] for i in user.get(f'/bucketlists/{trip["id"]}/items/').json][-1] == 'Scarf'



def test_the_same_batch_sent_twice_at_once_runs_each_command_once(user):
    trip, _ = new_list(user, 'Trip')
    for round_number in range(4):
        batch = [cmd('item.create', bucketlist_id=trip['id'], name=f'Item {round_number}.{n}') for n in range(5)]
        barrier, answers = threading.Barrier(2), []

        def send(barrier=barrier, answers=answers, batch=batch):
            barrier.wait()
            answers.append(user.post_json('/sync', {'commands': batch}).json)
        racers = [threading.Thread(target=send) for _ in range(2)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        assert [statuses(answer) for answer in answers] == [[201] * 5] * 2
        for first, second in zip(*(answer['results'] for answer in answers), strict=True):
            assert first['body'] == second['body'] and first['replayed'] != second['replayed']
    names = [item['name'] for item in user.get(f'/bucketlists/{trip["id"]}/items/', {'limit': 100}).json]
    assert len(names) == len(set(names)) == 20

def test_a_viewer_s_batch_is_refused_command_by_command(user, grace):
    trip, (item,) = new_list(user, 'Trip', ['Pack'])
    share(user, trip['id'], grace, 'grace@example.com', role='viewer')
    answer = push(grace, [
        cmd('item.update', bucketlist_id=trip['id'], item_id=item['id'], done=True),
        cmd('item.create', bucketlist_id=trip['id'], name='Mine'),
        cmd('bucketlist.delete', bucketlist_id=trip['id']),
        cmd('label.create', 'hers', name='Hers'),
        cmd('item.update', bucketlist_id=trip['id'], item_id=item['id'], labels=['hers']),  # (viewers label too)
        cmd('item.update', bucketlist_id=999999, item_id=item['id'], done=True),
    ])
    assert statuses(answer) == [403, 403, 403, 201, 200, 404]
    assert answer['results'][0]['body']['type'] == '/problems/viewer'
    assert user.get(f'/bucketlists/{trip["id"]}/items/{item["id"]}').json['done'] is False


def test_a_replay_to_a_list_the_caller_no_longer_sees_is_refused_as_the_route_would(user, grace):
    trip, _ = new_list(user, 'Trip')
    share(user, trip['id'], grace, 'grace@example.com')
    batch = [cmd('item.create', bucketlist_id=trip['id'], name='Hers')]
    assert statuses(push(grace, batch)) == [201]
    user.delete(f'/bucketlists/{trip["id"]}/members/{user_id_of(grace)}')
    again = push(grace, batch)
    assert (statuses(again), again['results'][0]['replayed']) == ([404], False)



def test_a_batch_meets_the_routes_throttles_and_refused_attempts_still_count(user, monkeypatch):
    monkeypatch.setattr(settings, 'UNKNOWN_EMAILS_PER_HOUR', 2)
    trip, _ = new_list(user, 'Trip')
    invite = [cmd('member.invite', bucketlist_id=trip['id'], email=f'nobody{n}@example.com', role='viewer')
              for n in range(3)]
    assert statuses(push(user, invite)) == [404, 404, 429]  # (each miss counts, though its command is refused)
    user.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'nobody9@example.com', 'role': 'viewer'},
                   status=429)
    # Sent again: the refusals of a kind are the commands' answers; a 429 is the moment's, and runs again.
    again = push(user, invite)
    assert (statuses(again), [r['replayed'] for r in again['results']]) == ([404, 404, 429], [True, True, False])

def test_an_answer_and_the_results_stored_keep_their_text_as_utf_8(user):
    """A lone surrogate (a temp id may be one, escaped in JSON) is escaped alone: the rest of the
    answer, and the results stored for replays, stay UTF-8 rather than six-byte escapes."""
    answer = user.post('/sync', json.dumps({'commands': [cmd('label.create', '\ud800', name='Café')]}),
                       content_type='application/json')
    assert 'Café'.encode() in answer.body and b'\\ud800' in answer.body
    assert answer.json['results'][0]['body']['name'] == 'Café'
    with db.connection_context():
        assert all('Café' in key.body for key in IdempotencyKey.select())


def test_an_idempotency_key_header_cannot_take_a_command_s_uuid(user):
    command = cmd('bucketlist.create', name='By command')
    user.post_json('/bucketlists/', {'name': 'By header'}, headers={'Idempotency-Key': f'command:{command["uuid"]}'})
    assert statuses(push(user, [command])) == [201]


def test_if_version_refuses_a_changed_object_and_the_answer_carries_it(user):
    trip, (item,) = new_list(user, 'Trip', ['Pack'])
    url = f'/bucketlists/{trip["id"]}/items/{item["id"]}'
    seen = user.get(url)
    user.patch_json(url, {'name': 'Pack light'})  # (another device, meanwhile)
    answer = push(user, [
        cmd('item.update', if_version=item['version'], bucketlist_id=trip['id'], item_id=item['id'], done=True),
        cmd('item.delete', if_version=seen.headers['ETag'], bucketlist_id=trip['id'], item_id=item['id']),
        cmd('item.move', if_version=item['version'], bucketlist_id=trip['id'], item_id=item['id'], position=0),
        cmd('item.update', if_version='",*,"', bucketlist_id=trip['id'], item_id=item['id'], done=True),  # (no *)
    ])
    assert statuses(answer) == [412, 412, 412, 412]
    now = user.get(url).json
    for result in answer['results']:
        assert result['body']['type'] == '/problems/changed-since-read'
        assert result['current'] == {name: value for name, value in now.items() if name != 'steps'}
    assert now['done'] is False
    answer = push(user, [cmd('item.update', if_version=now['version'], bucketlist_id=trip['id'], item_id=item['id'],
                             done=True),
                         cmd('bucketlist.update', if_version=user.get(f'/bucketlists/{trip["id"]}').json['version'],
                             bucketlist_id=trip['id'], name='Japan')])
    assert statuses(answer) == [200, 200]
    assert answer['results'][0]['body']['version'] != now['version']
    # A 412 sent again, alone, whose list was a temp id of its first batch: replayed, its object unknown here.
    made = [cmd('bucketlist.create', 'new', name='New'), cmd('bucketlist.update', if_version=0, bucketlist_id='new',
                                                             name='Newer')]
    assert statuses(push(user, made)) == [201, 412]
    again = push(user, made[1:])
    assert (statuses(again), again['results'][0]['replayed'], again['results'][0]['current']) == ([412], True, None)


def test_temp_ids_of_failed_or_unknown_commands_and_malformed_batches(user):
    answer = push(user, [
        cmd('bucketlist.create', 'a', name=''),  # (invalid: 400)
        cmd('item.create', 'b', bucketlist_id='a', name='X'),
        cmd('step.create', bucketlist_id='a', item_id='b', name='Y'),
        cmd('item.create', bucketlist_id='nowhere', name='Z'),
        cmd('bucketlist.create', 'b', name='Also b'),
        cmd('bucketlist.delete', bucketlist_id=1, extra=True),
        cmd('label.create', 'tag', name='Tag'),
        cmd('item.create', bucketlist_id='tag', name='Not in a label'),
        cmd('bucketlist.update', bucketlist_id=2.0, name='By a float id'),  # (JSON's 2.0 is the id 2: none, 404)
    ])
    assert statuses(answer) == [400, 424, 424, 422, 422, 400, 201, 422, 404]
    assert answer['temp_ids'] == {'tag': answer['results'][6]['body']['id']}
    assert [r['body']['type'] for r in answer['results'][1:4] + answer['results'][7:8]] == [
        '/problems/failed-dependency', '/problems/failed-dependency', '/problems/unknown-temp-id',
        '/problems/unknown-temp-id']  # (the last: a label's temp id is no bucketlist's)
    one = cmd('bucketlist.create', name='A')
    for body in ({'commands': [cmd('bucketlist.create', if_version=3, name='W')]},
                 {'commands': [cmd('bucketlist.delete', if_version='é', bucketlist_id=1)]},
                 {'commands': [cmd('bucketlist.delete', if_version=' ', bucketlist_id=1)]},
                 {'commands': [{**one, 'type': 'bucketlist.explode'}]}, {'commands': [{**one, 'args': None}]},
                 {'commands': [{**one, 'uuid': 'not-a-uuid'}]}, {'commands': 'all of them'},
                 {'commands': [cmd('item.update', 'x', bucketlist_id=1, item_id=1)]},
                 {'commands': [one], 'cursor': 'forged'}, {'commands': [cmd('bucketlist.create', name=str(n))
                                                                         for n in range(101)]}):
        refused = user.post_json('/sync', body, status=400).json
        assert refused['type'] == '/problems/invalid-fields'
    assert user.get('/bucketlists/').json == []  # nothing ran


def test_every_write_of_lists_items_steps_labels_members_and_the_trash_is_a_command():
    written = {(command.method, command.path) for command in commands.COMMANDS.values()}
    rules = {(method, re.sub(r'<(\w+):id>', r'{\1}', rule)) for method, rule in WRITES}
    accounts = {(m, r) for m, r in rules if r.startswith(('/auth/', '/users/', '/webhooks'))}  # (not list data)
    puts = {('PUT', r) for m, r in rules if m == 'PUT'}  # (a PATCH sends the same)
    assert written == rules - accounts - puts - {('POST', '/sync')}


# --- Two offline clients, pushing and pulling (a property test) ------------------------------------

class OfflineClient:
    """A client that edits its copy of a shared list offline, then pushes its queue in batches (an
    answer lost now and then: it sends the batch again) and pulls. Each object it saw gets one
    change at most, conditional on the version it saw; the objects it made are its own."""

    def __init__(self, client, name, trip_id):
        self.client, self.name, self.trip_id = client, name, trip_id
        self.replica = Replica(client)
        self.replica.sync()
        self.server_ids = {}  # {temp_id: id}, from the answers: a later batch names the ids

    def plan(self, data):
        """The commands of a random offline session, in the order a client queues them: changes, new
        items with their own changes, then deletions from the last position up (none moves another
        deleted item, whose version the client saw)."""
        seen = sorted((item for item in self.replica.items.values() if item['bucketlist_id'] == self.trip_id),
                      key=lambda item: item['position'])
        changes, deletions = [], []
        for item in seen:
            at = {'bucketlist_id': self.trip_id, 'item_id': item['id']}
            choice = data.draw(st.sampled_from(['keep', 'rename', 'tick', 'step', 'delete']))
            if choice == 'rename':
                changes.append(cmd('item.update', if_version=item['version'], **at, name=f'{self.name} {uuid.uuid4()}'))
            elif choice == 'tick':
                changes.append(cmd('item.update', if_version=item['version'], **at, done=not item['done']))
            elif choice == 'step':
                changes.append(cmd('step.create', **at, name=f'{self.name} step {uuid.uuid4()}'))
            elif choice == 'delete':
                deletions.insert(0, cmd('item.delete', if_version=item['version'], **at))
        for n in range(data.draw(st.integers(0, 3))):
            temp_id = f'{self.name}-{n}-{uuid.uuid4()}'
            changes.append(cmd('item.create', temp_id, bucketlist_id=self.trip_id, name=f'{self.name} new {temp_id}'))
            if data.draw(st.booleans()):
                changes.append(cmd('step.create', bucketlist_id=self.trip_id, item_id=temp_id, name=f'step {temp_id}'))
            if data.draw(st.booleans()):
                changes.append(cmd('item.update', bucketlist_id=self.trip_id, item_id=temp_id, done=True))
        return changes + deletions

    def batches(self, data, commands):
        while commands:
            size = data.draw(st.integers(1, len(commands)))
            yield commands[:size]
            commands = commands[size:]

    def push(self, data, batch, expected):
        """Send ``batch`` (once more if its first answer is lost); its results must be ``expected``."""
        ids = self.server_ids
        batch = [{**command, 'args': {name: [ids.get(v, v) for v in value] if isinstance(value, list)
                                      else ids.get(value, value) for name, value in command['args'].items()}}
                 for command in batch]
        lost = data.draw(st.booleans())
        if lost:
            self.client.post_json('/sync', {'commands': batch, 'cursor': self.replica.cursor})
        answer = self.client.post_json('/sync', {'commands': batch, 'cursor': self.replica.cursor}).json
        assert [result['status'] for result in answer['results']] == expected
        assert all(result['replayed'] == lost for result in answer['results'])
        self.server_ids.update(answer['temp_ids'])
        self.replica.apply(answer)
        assert not answer['has_more']


def predicted(batch, server_items):
    """The status each command of ``batch`` gets, told from the items as they are on the server now:
    a change to an item gone is 404; one to an item changed since the client saw it, 412."""
    statuses = []
    for command in batch:
        item_id = command['args'].get('item_id')
        if isinstance(item_id, int) and item_id not in server_items:
            statuses.append(404)
        elif 'if_version' in command and server_items[item_id]['version'] != command['if_version']:
            statuses.append(412)
        else:
            statuses.append(201 if command['type'].endswith('.create') else 200)
    return statuses


@hypothesis.settings(max_examples=12, deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(st.data())
def test_two_offline_clients_push_and_pull_and_end_with_the_server_s_copy(data):
    empty_tables_now()
    alice = register_and_login('alice@example.com')
    trip, _ = new_list(alice, 'Trip', [f'Item {n}' for n in range(5)])
    grace = register_and_login('grace@example.com')
    share(alice, trip['id'], grace, 'grace@example.com')
    clients = [OfflineClient(alice, 'alice', trip['id']), OfflineClient(grace, 'grace', trip['id'])]
    queues = [list(client.batches(data, client.plan(data))) for client in clients]
    while any(queues):
        turn = data.draw(st.sampled_from([n for n, queue in enumerate(queues) if queue]))
        batch = queues[turn].pop(0)
        server_items = {item['id']: item for item in alice.get(f'/bucketlists/{trip["id"]}/items/').json}
        clients[turn].push(data, batch, predicted(batch, server_items))
    for client in clients:
        client.replica.sync()
        server_items = {item['id']: item for item in client.client.get(f'/bucketlists/{trip["id"]}/items/').json}
        assert client.replica.items == server_items
        server_steps = {step['id']: step for item_id in server_items
                        for step in client.client.get(f'/bucketlists/{trip["id"]}/items/{item_id}/steps/').json}
        assert client.replica.steps == server_steps
    # Nothing ran twice: each name made once is there once (the items and steps made by a command that
    # ran); and each item's activity shows one creation.
    names = [item['name'] for item in server_items.values()] + [step['name'] for step in server_steps.values()]
    assert len(names) == len(set(names))
    created = [entry for entry in alice.get(f'/bucketlists/{trip["id"]}/activity', {'limit': 100}).json
               if entry['kind'] == 'item.created']
    assert len(created) == len({entry['item_id'] for entry in created})
