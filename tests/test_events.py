"""GET /events: the live stream of a caller's changes, a sync that goes on (each stream here ends
after EVENT_STREAM_MAX_SECONDS, made short, so that WebTest can read it whole)."""
import base64
import json
import threading
import time
from datetime import timedelta

import pytest
from helpers import PASSWORD, new_item, new_list, register_and_login

import settings
from models import Item, db


@pytest.fixture(autouse=True)
def short_streams(monkeypatch):
    monkeypatch.setattr(settings, 'EVENT_STREAM_MAX_SECONDS', 0.6)
    monkeypatch.setattr(settings, 'EVENT_POLL_SECONDS', 0.05)
    monkeypatch.setattr(settings, 'EVENT_HEARTBEAT_SECONDS', 0.2)


def parse(text):
    """[(event, data, id)] of an event stream, as a browser's EventSource dispatches them, and the
    last event id it would reconnect with."""
    events, last_id = [], None
    for block in text.split('\n\n'):
        fields = {}
        for line in block.split('\n'):
            if line and not line.startswith(':'):
                name, _, value = line.partition(': ')
                fields[name] = value
        last_id = fields.get('id', last_id)
        if 'data' in fields:
            events.append((fields['event'], json.loads(fields['data']), fields.get('id')))
    return events, last_id


def stream(client, cursor=None, **kwargs):
    headers = {'Last-Event-ID': cursor} if cursor else {}
    answer = client.get('/events', headers=headers, **kwargs)
    if answer.status_int == 200:
        assert answer.content_type == 'text/event-stream' and answer.headers['Cache-Control'] == 'no-store'
    return answer


def test_a_stream_from_a_cursor_holds_each_change_since_as_an_event(user, other_user):
    cursor = user.get('/sync').json['cursor']
    trip, [pack] = new_list(user, 'Trip', ['Pack'])
    fly = new_item(user, trip['id'], 'Fly')
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{fly["id"]}', {'done': True})
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{pack["id"]}', {'name': 'Pack light'})
    user.delete(f'/bucketlists/{trip["id"]}/items/{pack["id"]}')
    new_list(other_user, 'Not theirs to see')
    events, last_id = parse(stream(user, cursor).text)
    assert {(event, data['data'].get('name')) for event, data, _ in events} == {
        ('item.deleted', None), ('bucketlist.created', 'Trip'), ('item.completed', 'Fly')}
    assert all(event == data['type'] for event, data, _ in events)
    assert ('item.deleted', {'type': 'item.deleted', 'data': {'id': pack['id']}}) in [e[:2] for e in events]
    # The last id is a sync cursor: nothing changed since.
    after = user.get('/sync', {'cursor': last_id}).json
    assert after['items'] == after['bucketlists'] == [] and after['deleted']['items'] == []


def test_items_moved_up_by_a_deletion_are_updated_not_created_again(user):
    trip, items = new_list(user, 'Trip', ['One', 'Two', 'Three'])
    with db.connection_context():  # (made an hour ago)
        for row in Item.select():
            Item.update(date_created=row.date_created - timedelta(hours=1),
                        date_modified=row.date_modified - timedelta(hours=1)).where(Item.id == row.id).execute()
    cursor = user.get('/sync').json['cursor']
    user.delete(f'/bucketlists/{trip["id"]}/items/{items[0]["id"]}')
    events, _ = parse(stream(user, cursor).text)
    assert {(event, data['data'].get('name')) for event, data, _ in events} == {
        ('item.deleted', None), ('item.updated', 'Two'), ('item.updated', 'Three')}


def test_a_stream_without_a_cursor_starts_from_now_and_gets_changes_as_they_happen(user):
    new_list(user, 'Before')
    answers = []
    reader = threading.Thread(target=lambda: answers.append(stream(user)))
    reader.start()
    time.sleep(0.2)
    new_list(user, 'During')
    reader.join()
    events, last_id = parse(answers[0].text)
    # (On PostgreSQL "now" is the oldest transaction still running, anywhere: what was written just
    # before may come too, as a sync may send a change twice.)
    shown = [(event, data['data']['name']) for event, data, _ in events]
    assert shown[-1] == ('bucketlist.created', 'During') and set(shown) <= {('bucketlist.created', 'Before'),
                                                                             ('bucketlist.created', 'During')}
    assert last_id == events[-1][2]


def test_reconnecting_with_the_last_event_id_misses_nothing_during_writes(user):
    cursor = user.get('/sync').json['cursor']
    trip, _ = new_list(user, 'Trip')
    seen, stop = set(), threading.Event()

    def write():
        number = 0
        while not stop.is_set() and number < 200:  # (a full sync's one page holds them all)
            number += 1
            new_item(user, trip['id'], f'Item {number}')
    writer = threading.Thread(target=write)
    writer.start()
    try:
        for _ in range(3):  # three streams in turn, each from the last one's last id
            events, cursor = parse(stream(user, cursor).text)
            seen.update((data['data']['id'], data['data']['name']) for event, data, _ in events
                        if event.startswith('item.'))
    finally:
        stop.set()
        writer.join()
    events, _ = parse(stream(user, cursor).text)
    seen.update((data['data']['id'], data['data']['name']) for event, data, _ in events if event.startswith('item.'))
    everything = {(item['id'], item['name']) for item in user.get('/sync').json['items']}
    assert len(everything) > 3 and seen == everything


def test_a_cursor_that_is_none_of_ours_is_400(user):
    answer = user.get('/events', headers={'Last-Event-ID': 'forged'}, status=400).json
    assert answer['errors'] == {'Last-Event-ID': 'Not a cursor.'}
    user.get('/events', {'cursor': 'forged'}, status=400)


def test_streams_are_bounded_per_account(user, monkeypatch):
    monkeypatch.setattr(settings, 'EVENT_STREAMS_PER_ACCOUNT', 1)
    reader = threading.Thread(target=lambda: stream(user))
    reader.start()
    time.sleep(0.2)
    answer = user.get('/events', status=429)
    assert answer.json['type'] == '/problems/too-many-streams' and answer.headers['Retry-After']
    reader.join()
    bob = register_and_login('bob@example.com')
    stream(bob, status=200)  # (another account's count is its own)
    stream(user, status=200)  # (closed: counted no more)


def test_a_stream_ends_with_a_problem_when_its_session_ends(user, monkeypatch):
    monkeypatch.setattr(settings, 'EVENT_STREAM_MAX_SECONDS', 5)
    answers = []
    reader = threading.Thread(target=lambda: answers.append(stream(user)))
    reader.start()
    time.sleep(0.2)
    started = time.monotonic()
    user.post('/auth/logout', status=200)
    reader.join()
    assert time.monotonic() - started < 2
    events, _ = parse(answers[0].text)
    assert events[-1][0] == 'problem' and events[-1][1]['data']['type'] == '/problems/session-ended'


def test_a_revoked_api_token_ends_its_stream(user, monkeypatch):
    monkeypatch.setattr(settings, 'EVENT_STREAM_MAX_SECONDS', 5)
    token = user.post_json('/users/me/tokens', {'name': 'feed', 'scope': 'read', 'password': 'correct horse battery'},
                           status=201).json
    reader_client = register_and_login('reader@example.com')
    reader_client.authorization = ('Bearer', token['token'])
    answers = []
    reader = threading.Thread(target=lambda: answers.append(stream(reader_client)))
    reader.start()
    time.sleep(0.2)
    user.delete(f'/users/me/tokens/{token["id"]}', status=200)
    new_list(user)  # (a change wakes it)
    reader.join(timeout=3)
    events, _ = parse(answers[0].text)
    assert events[-1][0] == 'problem' and events[-1][1]['data']['status'] == 401


def test_streams_refused_for_an_ended_session_take_no_place(user, monkeypatch):
    monkeypatch.setattr(settings, 'EVENT_STREAMS_PER_ACCOUNT', 2)
    cursor = user.get('/sync').json['cursor']
    token = user.post_json('/auth/login', {'email': 'alice@example.com', 'password': PASSWORD}).json['access_token']
    user.post('/auth/logout', status=200)
    for _ in range(3):
        stream(user, cursor, status=401)
    user.authorization = ('Bearer', token)
    stream(user, cursor, status=200)


def test_a_last_event_id_too_long_to_be_a_cursor_is_400(user):
    long = base64.urlsafe_b64encode(b'[' * 3000).decode()
    user.get('/events', headers={'Last-Event-ID': long}, status=400)
