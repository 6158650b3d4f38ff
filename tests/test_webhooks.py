"""Webhooks: endpoints through the API, and what a receiver gets from the worker's deliveries
(``deliver_due`` runs one delivery round as worker.py does, in the test's process)."""
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import new_item, new_list, register_and_login
from standardwebhooks import Webhook as Signer
from standardwebhooks.webhooks import WebhookVerificationError

import settings
import webhooks
from fields import EVENT_TYPES
from models import Activity, Webhook, WebhookMessage, db, utcnow


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1: it keeps what it gets and answers ``statuses`` in turn (then 200)."""

    def __init__(self):
        self.received, self.statuses, self.delay, self.answer, self.drip = [], [], 0, b'ok', 0
        super().__init__(('127.0.0.1', 0), ReceiverHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f'http://127.0.0.1:{self.server_address[1]}/hook'

    def events(self, secret):
        """The bodies received, each verified with ``secret``, once per webhook-id."""
        seen = {}
        for headers, body in self.received:
            seen.setdefault(headers['webhook-id'], Signer(secret).verify(body, headers))
        return list(seen.values())


class ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        time.sleep(self.server.delay)
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        for byte in b'HTTP/1.1 200 OK\r\n'[:self.server.drip and 12]:  # (a byte at a time, each in time)
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            time.sleep(self.server.drip)
        self.send_response(status)
        self.send_header('Content-Length', str(len(self.server.answer)))
        self.end_headers()
        self.wfile.write(self.server.answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setattr(settings, 'WEBHOOK_ALLOW_HTTP', True)
    monkeypatch.setattr(settings, 'WEBHOOK_ALLOW_PRIVATE', True)
    server = Receiver()
    yield server
    server.shutdown()
    server.server_close()


def deliver_due(now=None):
    """Deliver every message due (at ``now``), one at a time, as a worker would; the outcomes."""
    outcomes = []
    with db.connection_context():
        while (claimed := webhooks.claim(now)) is not None:
            outcomes.append(webhooks.record(*claimed, *webhooks.deliver(*claimed), now=now))
    return outcomes


def hook(client, url, events=('item.created', 'item.completed'), **fields):
    return client.post_json('/webhooks', {'url': url, 'events': list(events), **fields}, status=201).json


def test_a_webhook_gets_each_event_it_wants_signed_once(user, receiver):
    endpoint = hook(user, receiver.url)
    assert endpoint['secret'].startswith('whsec_') and endpoint['enabled'] is True
    assert 'secret' not in user.get('/webhooks').json[0]
    trip, _ = new_list(user, 'Trip')
    item = new_item(user, trip['id'], 'Book flights')
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'name': 'Book the flights'})  # (not wanted)
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'done': True})
    assert deliver_due() == ['delivered', 'delivered']
    events = receiver.events(endpoint['secret'])
    assert [event['type'] for event in events] == ['item.created', 'item.completed']
    assert events[0]['data']['item_id'] == item['id'] and events[0]['data']['bucketlist_id'] == trip['id']
    assert events[1]['data']['changes']['done'] == [False, True]
    headers = receiver.received[0][0]
    assert headers['webhook-id'].startswith('msg_') and headers['content-type'] == 'application/json'
    log = user.get(f'/webhooks/{endpoint["id"]}/deliveries').json
    assert [(d['event_type'], d['state'], d['last_status'], d['last_response']) for d in log] == [
        ('item.completed', 'delivered', 200, 'ok'), ('item.created', 'delivered', 200, 'ok')]
    assert deliver_due() == []


def test_members_webhooks_get_the_lists_they_share_and_nobody_else_does(user, other_user, receiver):
    carol = register_and_login('carol@example.com')
    trip, _ = new_list(user, 'Trip')
    user.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'bob@example.com', 'role': 'editor'}, status=201)
    other_user.post(f'/invitations/{other_user.get("/invitations").json[0]["id"]}/accept', status=200)
    bobs = hook(other_user, receiver.url, ['item.created', 'member.left'])
    carols = hook(carol, receiver.url, ['item.created', 'member.left'])
    new_item(user, trip['id'], 'Seen by bob')
    user.delete(f'/bucketlists/{trip["id"]}/members/{other_user.get("/users/me").json["id"]}', status=200)
    new_item(user, trip['id'], 'Not seen by bob')
    deliver_due()
    assert [e['type'] for e in receiver.events(bobs['secret'])] == ['item.created', 'member.left']
    assert all(h['webhook-id'] for h, _ in receiver.received)
    with pytest.raises(WebhookVerificationError):
        receiver.events(carols['secret'])  # (nothing carol's: every body verifies with bob's secret only)
    assert len(receiver.received) == 2


def test_one_lists_webhook_gets_that_lists_events_only(user, receiver):
    trip, _ = new_list(user, 'Trip')
    home, _ = new_list(user, 'Home')
    endpoint = hook(user, receiver.url, ['item.created'], bucketlist_id=home['id'])
    new_item(user, trip['id'])
    new_item(user, home['id'], 'Paint')
    deliver_due()
    assert [e['data']['bucketlist_id'] for e in receiver.events(endpoint['secret'])] == [home['id']]


def test_a_failed_delivery_is_tried_again_with_the_same_id_then_delivered(user, receiver, monkeypatch):
    monkeypatch.setattr(settings, 'WEBHOOK_RETRY_SECONDS', [60, 60])
    endpoint = hook(user, receiver.url, ['bucketlist.created'])
    receiver.statuses = [500, 302]
    new_list(user)
    assert deliver_due() == ['failed']
    [delivery] = user.get(f'/webhooks/{endpoint["id"]}/deliveries').json
    assert (delivery['state'], delivery['attempts'], delivery['last_status']) == ('pending', 1, 500)
    assert deliver_due() == []  # (not due yet)
    later = utcnow() + timedelta(seconds=61)
    assert deliver_due(later) == ['failed']  # a redirect is not followed: a failure
    assert deliver_due(later + timedelta(seconds=61)) == ['delivered']
    assert len({headers['webhook-id'] for headers, _ in receiver.received}) == 1
    assert len(receiver.events(endpoint['secret'])) == 1


def test_an_endpoint_failing_past_the_last_retry_is_turned_off_saying_why_and_back_on(user, receiver, monkeypatch):
    monkeypatch.setattr(settings, 'WEBHOOK_RETRY_SECONDS', [0, 0])
    endpoint = hook(user, receiver.url, ['bucketlist.created'])
    receiver.statuses = [503, 503, 503]
    new_list(user)
    assert deliver_due() == ['failed', 'failed', 'gave_up']
    shown = user.get(f'/webhooks/{endpoint["id"]}').json
    assert shown['enabled'] is False and 'failed 3 times' in shown['disabled_reason'] and 'HTTP 503' in shown[
        'disabled_reason']
    new_list(user)  # (while off: not kept)
    assert deliver_due() == []
    shown = user.patch_json(f'/webhooks/{endpoint["id"]}', {'enabled': True}).json
    assert shown['enabled'] is True and shown['disabled_reason'] is None
    new_list(user)
    assert deliver_due() == ['delivered']


def test_a_rotated_secret_signs_beside_the_old_one_for_a_day(user, receiver):
    endpoint = hook(user, receiver.url, ['bucketlist.created'])
    rotated = user.post(f'/webhooks/{endpoint["id"]}/secret', status=200).json
    assert rotated['secret'] != endpoint['secret'] and rotated['secret_rotated_at']
    new_list(user)
    deliver_due()
    assert len(receiver.events(rotated['secret'])) == len(receiver.events(endpoint['secret'])) == 1
    assert len(receiver.received[0][0]['webhook-signature'].split(' ')) == 2
    receiver.received.clear()
    with db.connection_context():  # (a day later)
        Webhook.update(secret_rotated_at=utcnow() - timedelta(hours=25)).execute()
    new_list(user)
    deliver_due()
    assert len(receiver.events(rotated['secret'])) == 1
    with pytest.raises(WebhookVerificationError):
        receiver.events(endpoint['secret'])


def test_ping_and_redeliver_send_again_what_the_log_shows(user, receiver):
    endpoint = hook(user, receiver.url)
    ping = user.post(f'/webhooks/{endpoint["id"]}/ping', status=202).json
    assert ping['event_type'] == 'ping' and ping['state'] == 'pending'
    receiver.answer = b'x' * 5000
    assert deliver_due() == ['delivered']
    [delivery] = user.get(f'/webhooks/{endpoint["id"]}/deliveries').json
    assert delivery['last_response'] == 'x' * 1024 and delivery['last_latency_ms'] >= 0
    message_id = int(delivery['id'].removeprefix('msg_'))
    again = user.post(f'/webhooks/{endpoint["id"]}/deliveries/{message_id}/redeliver', status=202).json
    assert again['state'] == 'pending'
    assert deliver_due() == ['delivered']
    [first, second] = [json.loads(body) for _, body in receiver.received]
    assert first == second and first['type'] == 'ping' and first['data'] == {'webhook_id': endpoint['id']}
    user.post(f'/webhooks/{endpoint["id"]}/deliveries/{message_id + 1}/redeliver', status=404)


def test_a_receiver_at_a_private_address_is_refused_when_it_is_connected_to(user, receiver, monkeypatch):
    endpoint = hook(user, receiver.url, ['bucketlist.created'])
    monkeypatch.setattr(settings, 'WEBHOOK_ALLOW_PRIVATE', False)
    new_list(user)
    assert deliver_due() == ['refused']
    assert receiver.received == []
    [delivery] = user.get(f'/webhooks/{endpoint["id"]}/deliveries').json
    assert delivery['last_status'] is None and 'not public' in delivery['last_error']


def test_a_slow_receiver_times_out(user, receiver, monkeypatch):
    monkeypatch.setattr(settings, 'WEBHOOK_TIMEOUT_SECONDS', 0.2)
    endpoint = hook(user, receiver.url, ['bucketlist.created'])
    receiver.delay = 1
    new_list(user)
    assert deliver_due() == ['failed']
    [delivery] = user.get(f'/webhooks/{endpoint["id"]}/deliveries').json
    assert delivery['last_error'].startswith('Timed out')


@pytest.mark.parametrize('url, refused', [
    ('http://hooks.example.com/x', 'https'),
    ('https://127.0.0.1/x', 'loopback'), ('https://169.254.169.254/latest/meta-data', 'link-local'),
    ('https://[::1]/x', 'loopback'), ('https://10.1.2.3/x', 'private'), ('https://localhost:8000/x', 'this machine'),
    ('https://[::ffff:127.0.0.1]/x', 'loopback'), ('https://0.0.0.0/x', 'private'),
    ('https://127.1/x', 'loopback'), ('https://0x7f.1/x', 'loopback'), ('https://2130706433/x', 'loopback'),
    ('https://0177.0.0.1/x', 'loopback'), ('https://2852039166/latest', 'link-local'),
])
def test_a_url_that_could_reach_the_host_or_its_network_is_refused(user, url, refused):
    answer = user.post_json('/webhooks', {'url': url, 'events': ['item.created']}, status=422).json
    assert answer['type'] == '/problems/webhook-url-refused' and refused in answer['detail']


@pytest.mark.parametrize('body, field', [
    ({'url': 'ftp://hooks.example.com/', 'events': ['item.created']}, 'url'),
    ({'url': 'https://u:p@hooks.example.com/', 'events': ['item.created']}, 'url'),
    ({'url': 'https://hooks.example.com/' + 'a' * 3000, 'events': ['item.created']}, 'url'),
    ({'url': 'https://hooks.exämple.com/', 'events': ['item.created']}, 'url'),
    ({'url': 'https://hooks.example.com/', 'events': []}, 'events'),
    ({'url': 'https://hooks.example.com/', 'events': ['item.exploded']}, 'events'),
    ({'url': 'https://hooks.example.com/', 'events': 'item.created'}, 'events'),
    ({'url': 'https://hooks.example.com/', 'events': ['item.created'], 'secret': 'mine'}, 'secret'),
])
def test_a_bad_webhook_body_is_400_naming_the_field(user, body, field):
    answer = user.post_json('/webhooks', body, status=400).json
    assert list(answer['errors']) == [field]


def test_a_webhook_for_a_list_you_do_not_see_is_refused(user, other_user):
    theirs, _ = new_list(other_user)
    user.post_json('/webhooks', {'url': 'https://hooks.example.com/', 'events': ['item.created'],
                                 'bucketlist_id': theirs['id']}, status=422)


def test_webhooks_are_their_accounts_own_and_bounded(user, other_user, monkeypatch):
    monkeypatch.setattr(settings, 'MAX_WEBHOOKS_PER_USER', 2)
    mine = hook(user, 'https://hooks.example.com/1')
    hook(user, 'https://hooks.example.com/2')
    answer = user.post_json('/webhooks', {'url': 'https://hooks.example.com/3', 'events': ['item.created']},
                            status=409).json
    assert answer['type'] == '/problems/quota-exceeded'
    for method, path in [('get', ''), ('patch', ''), ('delete', ''), ('post', '/secret'), ('post', '/ping'),
                         ('get', '/deliveries')]:
        getattr(other_user, method + ('_json' if method == 'patch' else ''))(
            f'/webhooks/{mine["id"]}{path}', *([{}] if method == 'patch' else []), status=404)
    assert other_user.get('/webhooks').json == []
    user.delete(f'/webhooks/{mine["id"]}', status=200)
    assert len(user.get('/webhooks').json) == 1


def test_only_sessions_and_webhooks_scoped_tokens_manage_webhooks(user):
    tokens = {scope: user.post_json('/users/me/tokens', {'name': scope, 'scope': scope,
                                                         'password': 'correct horse battery'}, status=201).json['token']
              for scope in ('read', 'write', 'webhooks')}
    for scope, token in tokens.items():
        user.authorization = ('Bearer', token)
        if scope == 'webhooks':
            user.get('/webhooks', status=200)
            hook(user, 'https://hooks.example.com/')
            user.get('/bucketlists/', status=200)
            user.post_json('/bucketlists/', {'name': 'No'}, status=403)
        else:
            assert user.get('/webhooks', status=403).json['type'] == '/problems/webhooks-scope'


def test_a_change_rolled_back_leaves_no_message(user, receiver, monkeypatch):
    monkeypatch.setattr(settings, 'MAX_ITEMS_PER_BUCKETLIST', 1)
    hook(user, receiver.url, ['item.created'])
    trip, _ = new_list(user, items=['One'])
    user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Two'}, status=409)
    with db.connection_context():
        assert WebhookMessage.select().count() == 1
    assert deliver_due() == ['delivered']


def test_a_deleted_webhook_takes_its_deliveries(user, receiver):
    endpoint = hook(user, receiver.url, ['bucketlist.created'])
    new_list(user)
    user.delete(f'/webhooks/{endpoint["id"]}', status=200)
    with db.connection_context():
        assert WebhookMessage.select().count() == 0
    assert deliver_due() == []


def test_two_deliveries_to_one_endpoint_are_never_in_flight_at_once(user, receiver):
    hook(user, receiver.url, ['bucketlist.created'])
    new_list(user)
    new_list(user)
    with db.connection_context():
        first = webhooks.claim()
        assert first is not None and webhooks.claim() is None
        webhooks.record(*first, *webhooks.deliver(*first))
        assert webhooks.claim() is not None


def test_the_document_describes_each_event_a_webhook_receives(client):
    document = client.get('/openapi.json').json
    assert list(document['webhooks']) == list(EVENT_TYPES)
    for event, path_item in document['webhooks'].items():
        body = path_item['post']['requestBody']['content']['application/json']
        assert body['schema'] == {'$ref': '#/components/schemas/Event'} and body['example']['type'] == event
    assert document['components']['schemas']['EventType']['enum'] == list(EVENT_TYPES)


def test_a_receiver_answering_a_byte_at_a_time_is_cut_off_at_the_timeout(user, receiver, monkeypatch):
    monkeypatch.setattr(settings, 'WEBHOOK_TIMEOUT_SECONDS', 0.5)
    hook(user, receiver.url, ['bucketlist.created'])
    receiver.drip = 0.2  # (each byte well within the timeout; all of them twice past it)
    new_list(user)
    started = time.monotonic()
    assert deliver_due() == ['failed']
    assert time.monotonic() - started < 1.5


def test_an_attempt_whose_lease_ended_and_was_claimed_again_says_nothing(user, receiver):
    endpoint = hook(user, receiver.url, ['bucketlist.created'])
    new_list(user)
    with db.connection_context():
        first = webhooks.claim()
        again = webhooks.claim(utcnow() + timedelta(seconds=2 * settings.WEBHOOK_TIMEOUT_SECONDS + 6))
        assert again[0].id == first[0].id
        assert webhooks.record(*first, 500, None, 5, 'late') is None
        assert webhooks.record(*again, 200, None, 5, 'ok') == 'delivered'
    [delivery] = user.get(f'/webhooks/{endpoint["id"]}/deliveries').json
    assert (delivery['state'], delivery['last_status'], delivery['attempts']) == ('delivered', 200, 2)


def test_an_ipv6_receiver_without_a_port_fails_an_attempt_and_the_worker_goes_on(user, receiver, monkeypatch):
    monkeypatch.setattr(settings, 'WEBHOOK_TIMEOUT_SECONDS', 0.2)
    other = hook(user, 'https://[2606:4700::abcd]/hook', ['bucketlist.created'])
    hook(user, receiver.url, ['bucketlist.created'])
    new_list(user)
    assert sorted(deliver_due()) == ['delivered', 'failed']
    [delivery] = user.get(f'/webhooks/{other["id"]}/deliveries').json
    assert delivery['last_error'] and delivery['state'] == 'pending'


def test_a_delivery_whose_change_was_forgotten_says_so(user, receiver):
    endpoint = hook(user, receiver.url, ['bucketlist.created'])
    new_list(user)
    with db.connection_context():
        Activity.delete().execute()  # (as a list deleted for good takes its activity)
    assert deliver_due() == []
    [delivery] = user.get(f'/webhooks/{endpoint["id"]}/deliveries').json
    assert delivery['state'] == 'failed' and 'deleted for good' in delivery['last_error']
    assert delivery['event_type'] is None and receiver.received == []


def test_pings_and_redeliveries_are_throttled_per_account(user, monkeypatch):
    monkeypatch.setattr(webhooks, 'SENDS_PER_HOUR', 3)
    endpoint = hook(user, 'https://hooks.example.com/')
    ping = user.post(f'/webhooks/{endpoint["id"]}/ping', status=202).json
    user.post(f'/webhooks/{endpoint["id"]}/deliveries/{ping["id"].removeprefix("msg_")}/redeliver', status=202)
    user.delete(f'/webhooks/{endpoint["id"]}')
    another = hook(user, 'https://hooks.example.com/')  # (a new webhook is no new count)
    user.post(f'/webhooks/{another["id"]}/ping', status=202)
    assert user.post(f'/webhooks/{another["id"]}/ping', status=429).headers['Retry-After']


def test_an_account_whose_receivers_hang_holds_a_few_deliveries_at_once(user, other_user, receiver):
    for number in range(4):
        hook(user, f'{receiver.url}/{number}', ['bucketlist.created'])
    theirs = hook(other_user, receiver.url, ['bucketlist.created'])
    new_list(user)  # (one message to each of the four)
    new_list(other_user)
    with db.connection_context():
        claimed = [webhooks.claim() for _ in range(webhooks.IN_FLIGHT_PER_ACCOUNT + 1)]
    assert [endpoint.id for _, endpoint in claimed][-1] == theirs['id']
    with db.connection_context():
        assert webhooks.claim() is None  # (the first account's others wait their turn)
