"""Lost updates, retries, abuse limits, CORS, request ids and logs: what keeps the service honest."""
import io
import json
import logging

import pytest
from helpers import ON_POSTGRESQL, PASSWORD, register_and_login, vary_fields
from peewee import OperationalError

import auth
import bucketlist
import settings
from models import Bucketlist, IdempotencyKey, Item, db


@pytest.fixture
def trip(user):
    return user.post_json('/bucketlists/', {'name': 'Trip'}, status=201)


# --- ETags and conditional requests --------------------------------------------------------------

def test_get_sends_an_etag_and_if_none_match_gives_304(user, trip):
    url = f'/bucketlists/{trip.json["id"]}'
    first = user.get(url)
    assert first.headers['ETag'].startswith('"')
    not_modified = user.get(url, headers={'If-None-Match': first.headers['ETag']}, status=304)
    assert not_modified.body == b'' and not_modified.headers['ETag'] == first.headers['ETag']
    user.get(url, headers={'If-None-Match': '"something else"'}, status=200)


def test_lists_have_etags_that_change_with_content(user, trip):
    before = user.get('/bucketlists/').headers['ETag']
    user.get('/bucketlists/', headers={'If-None-Match': before}, status=304)
    user.post_json('/bucketlists/', {'name': 'Another'})
    assert user.get('/bucketlists/', headers={'If-None-Match': before}, status=200).headers['ETag'] != before


def test_adding_an_item_changes_the_bucketlists_etag(user, trip):
    url = f'/bucketlists/{trip.json["id"]}'
    etag = user.get(url).headers['ETag']
    user.post_json(url + '/items/', {'name': 'Pack'})
    user.get(url, headers={'If-None-Match': etag}, status=200)


@pytest.mark.parametrize('method', ['PUT', 'PATCH', 'DELETE'])
def test_stale_if_match_is_412_and_changes_nothing(user, trip, method):
    url = f'/bucketlists/{trip.json["id"]}'
    stale = user.get(url).headers['ETag']
    user.patch_json(url, {'name': 'Renamed by another tab'})
    body = json.dumps({'name': 'Lost update'}).encode() if method != 'DELETE' else b''
    res = user.request(url, method=method, body=body, content_type='application/json',
                       headers={'If-Match': stale}, status=412)
    assert res.content_type == 'application/problem+json'
    assert Bucketlist.get_by_id(trip.json['id']).name == 'Renamed by another tab'


def test_current_if_match_is_accepted_and_the_new_etag_returned(user, trip):
    url = f'/bucketlists/{trip.json["id"]}'
    etag = user.get(url).headers['ETag']
    res = user.put_json(url, {'name': 'New name'}, headers={'If-Match': etag}, status=200)
    assert res.headers['ETag'] != etag
    assert user.get(url).headers['ETag'] == res.headers['ETag']
    user.delete(url, headers={'If-Match': res.headers['ETag']}, status=200)


def test_item_if_match(user, trip):
    item = user.post_json(f'/bucketlists/{trip.json["id"]}/items/', {'name': 'Pack'})
    url = f'/bucketlists/{trip.json["id"]}/items/{item.json["id"]}'
    etag = user.get(url).headers['ETag']
    user.patch_json(url, {'done': True}, headers={'If-Match': etag}, status=200)
    user.patch_json(url, {'done': False}, headers={'If-Match': etag}, status=412)
    user.delete(url, headers={'If-Match': etag}, status=412)
    assert Item.get_by_id(item.json['id']).done is True
    user.delete(url, headers={'If-Match': '*'}, status=200)


# --- Idempotency-Key ---------------------------------------------------------------------------

def test_retried_create_with_the_same_key_returns_the_first_result(user):
    headers = {'Idempotency-Key': 'create-trip-1'}
    first = user.post_json('/bucketlists/', {'name': 'Once'}, headers=headers, status=201)
    retry = user.post_json('/bucketlists/', {'name': 'Once'}, headers=headers, status=201)
    assert retry.json == first.json
    assert Bucketlist.select().count() == 1


def test_same_key_for_a_different_request_is_422(user):
    headers = {'Idempotency-Key': 'k1'}
    user.post_json('/bucketlists/', {'name': 'First'}, headers=headers, status=201)
    user.post_json('/bucketlists/', {'name': 'Second'}, headers=headers, status=422)
    assert Bucketlist.select().count() == 1


def test_item_creates_are_idempotent_too(user, trip):
    url = f'/bucketlists/{trip.json["id"]}/items/'
    for _ in range(3):
        user.post_json(url, {'name': 'Pack'}, headers={'Idempotency-Key': 'item-1'}, status=201)
    assert Item.select().count() == 1


def test_keys_belong_to_their_user(user, other_user):
    headers = {'Idempotency-Key': 'shared'}
    user.post_json('/bucketlists/', {'name': 'Mine'}, headers=headers, status=201)
    res = other_user.post_json('/bucketlists/', {'name': 'Mine'}, headers=headers, status=201)
    assert res.json['created_by'] != user.get('/bucketlists/').json[0]['created_by']


def test_a_failed_create_does_not_burn_the_key(user):
    user.post_json('/bucketlists/', {'name': 'Taken'}, status=201)
    headers = {'Idempotency-Key': 'retry-me'}
    user.post_json('/bucketlists/', {'name': 'Taken'}, headers=headers, status=409)
    assert IdempotencyKey.select().count() == 0


@pytest.mark.parametrize('key', ['', 'has space', 'x' * 256, 'ключ'.encode().decode('latin1')])
def test_malformed_keys_are_400(user, key):
    user.post_json('/bucketlists/', {'name': 'x'}, headers={'Idempotency-Key': key}, status=400)


# --- Abuse limits -------------------------------------------------------------------------------

def failed_login(client, email='alice@example.com', **kwargs):
    return client.post_json('/auth/login', {'email': email, 'password': 'wrong password'},
                            expect_errors=True, **kwargs)


def login(client, email='alice@example.com', password=PASSWORD, address='192.0.2.1', **kwargs):
    return client.post_json('/auth/login', {'email': email, 'password': password}, expect_errors=True,
                            extra_environ={'REMOTE_ADDR': address}, **kwargs)


def test_failed_logins_lock_the_account_only_for_the_address_they_come_from(client, user):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        assert login(client, password='wrong password', address='198.51.100.66').status_int == 401
    res = login(client, address='198.51.100.66')
    assert res.status_int == 429 and res.content_type == 'application/problem+json'
    assert 0 < int(res.headers['Retry-After']) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    # The owner, elsewhere, is not locked out by somebody else's guesses.
    assert login(client, address='203.0.113.7').status_int == 200
    # Nor is another account at the guessing address.
    register_and_login('carol@example.com')


def test_failures_from_every_address_slow_the_account_without_locking_its_owner_out(client, user, monkeypatch):
    monkeypatch.setattr(settings, 'LOGIN_FAILURES_PER_ACCOUNT', 6)
    attackers = [f'198.51.100.{n}' for n in range(1, 5)]
    for address in attackers:  # 3 failures each; the 2nd and 3rd of each count: 8, past the account's 6
        for _ in range(3):
            login(client, password='wrong password', address=address)
    # An address that already failed on the account is refused; a new one gets one guess.
    assert login(client, password='wrong password', address=attackers[0]).status_int == 429
    assert login(client, password='wrong password', address='198.51.100.200').status_int == 401
    assert login(client, password='wrong password', address='198.51.100.200').status_int == 429
    # The owner, at an address that never failed, still logs in.
    assert login(client, address='203.0.113.7').status_int == 200


def test_a_successful_login_resets_the_failures_of_its_address(client, user):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS - 1):
        login(client, password='wrong password')
    assert login(client).status_int == 200
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        assert login(client, password='wrong password').status_int == 401


def test_successful_logins_count_toward_a_rate_per_address(client, user, monkeypatch):
    monkeypatch.setattr(settings, 'LOGINS_PER_ADDRESS', 3)
    for _ in range(3):
        assert login(client).status_int == 200
    assert login(client).status_int == 429
    assert login(client, address='203.0.113.7').status_int == 200


def test_a_login_with_an_overlong_email_is_401_not_500(client):
    res = client.post_json('/auth/login', {'email': 'a' * 300 + '@example.com', 'password': 'x'}, status=401)
    assert res.content_type == 'application/problem+json'


def test_login_is_throttled_per_address(client):
    for number in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        assert failed_login(client, f'user{number}@example.com').status_int == 401
    assert failed_login(client, 'fresh@example.com').status_int == 429
    other = {'REMOTE_ADDR': '203.0.113.9'}
    assert failed_login(client, 'fresh@example.com', extra_environ=other).status_int == 401


def test_proxy_header_is_ignored_unless_trusted(client, monkeypatch):
    for number in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        failed_login(client, f'user{number}@example.com', headers={'X-Forwarded-For': f'198.51.100.{number}'})
    assert failed_login(client, 'x@example.com', headers={'X-Forwarded-For': '198.51.100.99'}).status_int == 429
    monkeypatch.setattr(settings, 'TRUSTED_PROXY_COUNT', 1)
    assert failed_login(client, 'x@example.com', headers={'X-Forwarded-For': '198.51.100.99'}).status_int == 401


def test_registration_is_throttled_per_address(client):
    for number in range(settings.REGISTRATIONS_PER_ADDRESS):
        client.post_json('/auth/register', {'email': f'u{number}@example.com', 'password': PASSWORD}, status=201)
    res = client.post_json('/auth/register', {'email': 'late@example.com', 'password': PASSWORD}, status=429)
    assert int(res.headers['Retry-After']) > 0


# --- Headers, CORS, request ids, logs ------------------------------------------------------------

def test_authenticated_responses_are_not_cached_or_sniffed(user):
    res = user.get('/bucketlists/')
    assert res.headers['Cache-Control'] == 'no-store'
    assert res.headers['X-Content-Type-Options'] == 'nosniff'


def test_cors_is_off_by_default(user):
    res = user.get('/bucketlists/', headers={'Origin': 'https://evil.example'})
    assert 'Access-Control-Allow-Origin' not in res.headers
    user.options('/bucketlists/', headers={'Origin': 'https://evil.example'}, status=405)


def test_cors_allows_only_listed_origins(user, monkeypatch):
    monkeypatch.setattr(settings, 'CORS_ORIGINS', ['https://app.example'])
    res = user.get('/bucketlists/', headers={'Origin': 'https://app.example'})
    assert res.headers['Access-Control-Allow-Origin'] == 'https://app.example'
    assert vary_fields(res) == ['Accept', 'Origin']
    assert 'Access-Control-Allow-Origin' not in user.get('/bucketlists/', headers={'Origin': 'https://evil.example'}).headers
    preflight = user.options('/bucketlists/1', headers={'Origin': 'https://app.example',
                                                        'Access-Control-Request-Method': 'PUT'}, status=204)
    assert 'PUT' in preflight.headers['Access-Control-Allow-Methods']
    assert 'Authorization' in preflight.headers['Access-Control-Allow-Headers']


@pytest.mark.parametrize('method, path, status', [
    ('GET', '/bucketlists/999', 404), ('GET', '/nowhere', 404), ('DELETE', '/bucketlists/', 405),
    ('POST', '/bucketlists/', 400), ('GET', '/bucketlists/?page=0', 400)])
def test_with_cors_on_every_error_lists_origin_in_vary_once(user, monkeypatch, method, path, status):
    monkeypatch.setattr(settings, 'CORS_ORIGINS', ['https://app.example'])
    res = user.request(path, method=method, headers={'Origin': 'https://app.example'}, status=status)
    assert vary_fields(res).count('Origin') == 1
    assert res.headers['Access-Control-Allow-Origin'] == 'https://app.example'
    assert len(res.headers.getall('X-Request-ID')) == 1


def test_headers_that_are_not_utf8_are_400(client):
    res = client.get('/bucketlists/', headers={'Authorization': 'Bearer \xff\xfe'}, status=400)
    assert res.content_type == 'application/problem+json'
    client.get('/health', headers={'X-Request-ID': '\xc3'}, status=400)


def test_request_id_is_echoed_or_generated(client):
    assert client.get('/health', headers={'X-Request-ID': 'abc-123'}).headers['X-Request-ID'] == 'abc-123'
    generated = client.get('/health').headers['X-Request-ID']
    assert len(generated) == 32
    assert client.get('/health', headers={'X-Request-ID': 'bad id\x01'}).headers['X-Request-ID'] != 'bad id\x01'
    missing = client.get('/nowhere', headers={'X-Request-ID': 'on-errors-too'}, status=404)
    assert missing.headers['X-Request-ID'] == 'on-errors-too'


def test_log_lines_carry_the_request_id_and_no_secrets(client, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    client.post_json('/auth/register', {'email': 'dave@example.com', 'password': PASSWORD}, status=201)
    token = client.post_json('/auth/login', {'email': 'dave@example.com', 'password': PASSWORD}).json['access_token']
    failed_login(client, 'dave@example.com')
    monkeypatch.setattr(bucketlist, 'bucketlist_json', lambda *a, **k: 1 / 0)
    client.post_json('/bucketlists/', {'name': 'Boom'}, headers={'Authorization': f'Bearer {token}',
                                                                 'X-Request-ID': 'trace-me'}, status=500)
    lines = [r for r in caplog.records if r.name == 'bucketlist']
    failing = [r for r in lines if r.request_id == 'trace-me']
    assert [r.levelname for r in failing] == ['ERROR', 'INFO']  # the traceback, then the request log line
    assert all(r.request_id != '-' for r in lines)
    assert PASSWORD not in caplog.text and token not in caplog.text and 'wrong password' not in caplog.text


# --- Body limit -----------------------------------------------------------------------------------

class CountingInput(io.BytesIO):
    def __init__(self, size):
        super().__init__(b'{"name": "' + b'x' * size + b'"}')
        self.bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def call_app(environ):
    status = []
    body = b''.join(bucketlist.app(environ, lambda s, h, exc=None: status.append(s)))
    return status[0], body


def test_oversized_body_is_413_without_being_read(user):
    stream = CountingInput(5 * 1024 * 1024)
    environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': '/bucketlists/', 'SERVER_NAME': 'localhost',
               'SERVER_PORT': '80', 'wsgi.url_scheme': 'http', 'wsgi.input': stream,
               'wsgi.errors': io.StringIO(), 'CONTENT_TYPE': 'application/json',
               'CONTENT_LENGTH': str(len(stream.getvalue())),
               'HTTP_AUTHORIZATION': f'Bearer {user.authorization[1]}'}
    status, body = call_app(environ)
    assert status.startswith('413') and json.loads(body)['status'] == 413
    assert stream.bytes_read == 0


def test_body_without_length_is_cut_at_the_limit(user):
    stream = CountingInput(5 * 1024 * 1024)
    environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': '/bucketlists/', 'SERVER_NAME': 'localhost',
               'SERVER_PORT': '80', 'wsgi.url_scheme': 'http', 'wsgi.input': stream,
               'wsgi.errors': io.StringIO(), 'CONTENT_TYPE': 'application/json',
               'HTTP_TRANSFER_ENCODING': 'chunked',
               'HTTP_AUTHORIZATION': f'Bearer {user.authorization[1]}'}
    status, _ = call_app(environ)
    assert status.startswith('413')
    assert stream.bytes_read <= settings.MAX_BODY_BYTES + 1


def test_one_address_holds_at_most_one_place_in_the_hashing_queue(client, user, monkeypatch):
    monkeypatch.setattr(auth, 'ADDRESS_WAIT_SECONDS', 0.1)
    with auth.hashing_slot('198.51.100.66'):  # a login from there is hashing now
        assert login(client, address='198.51.100.66').status_int == 503
        assert login(client, address='203.0.113.7').status_int == 200


def test_a_worker_with_its_hashing_queue_full_answers_503(client, user, caplog):
    for _ in range(settings.PASSWORD_HASHES_WAITING):
        auth._hash_slots.acquire()
    try:
        with caplog.at_level(logging.DEBUG, logger='peewee'):
            res = client.post_json('/auth/login', {'email': 'alice@example.com', 'password': PASSWORD}, status=503)
            client.post_json('/auth/register', {'email': 'carol@example.com', 'password': PASSWORD}, status=503)
        assert res.headers['Retry-After'] == '1' and res.content_type == 'application/problem+json'
        # Refused before any work: a burst of shed logins costs the database nothing.
        assert [record for record in caplog.records if record.name == 'peewee'] == []
        user.get('/bucketlists/', status=200)  # everything else carries on
    finally:
        for _ in range(settings.PASSWORD_HASHES_WAITING):
            auth._hash_slots.release()
    client.post_json('/auth/login', {'email': 'alice@example.com', 'password': PASSWORD}, status=200)


def test_statements_the_database_forgot_cost_one_503_then_heal(user):
    # PostgreSQL runs the hot statements prepared once per connection. A pooler in transaction
    # mode, or a migration changing a column they return, leaves the connection without them.
    bucketlist_id = user.post_json('/bucketlists/', {'name': 'Mine'}, status=201).json['id']
    user.get(f'/bucketlists/{bucketlist_id}', status=200)
    with db.connection_context():  # the pool's one idle connection, the one the GET used
        db.execute_sql('DEALLOCATE ALL' if ON_POSTGRESQL else 'SELECT 1')
    res = user.get(f'/bucketlists/{bucketlist_id}', expect_errors=True)
    if ON_POSTGRESQL:
        assert res.status_int == 503 and res.headers['Retry-After'] == '1'
    else:
        assert res.status_int == 200  # SQLite prepares nothing to forget
    user.get(f'/bucketlists/{bucketlist_id}', status=200)


def test_a_statement_longer_than_the_timeout_is_cancelled(monkeypatch):
    # Set on each connection by a SET (PgBouncer refuses the options startup parameter).
    if not ON_POSTGRESQL:
        return  # SQLite has no statement timeout; its statements are local
    monkeypatch.setattr(settings, 'DATABASE_STATEMENT_TIMEOUT_MS', 200)
    db.close_all()
    with db.connection_context():
        with pytest.raises(OperationalError, match='statement timeout'):
            db.execute_sql('SELECT pg_sleep(2)')
    db.close_all()


@pytest.mark.parametrize('pooler', ['none', 'transaction'])
def test_a_retry_replays_on_a_connection_that_has_run_nothing_yet(user, monkeypatch, pooler):
    """The retry's first statements on a new PostgreSQL connection run in its transaction (they
    carry the statement timeout with SET LOCAL, as every statement does behind a pooler in
    transaction mode): the key's unique violation rolls back to its savepoint, and the stored
    answer comes back."""
    monkeypatch.setattr(settings, 'DATABASE_POOLER', pooler)
    first = user.post_json('/bucketlists/', {'name': 'Once'}, headers={'Idempotency-Key': 'k-1'}, status=201)
    if hasattr(db, 'close_idle'):
        db.close_idle()  # the retry gets a new connection
    again = user.post_json('/bucketlists/', {'name': 'Once'}, headers={'Idempotency-Key': 'k-1'}, status=201)
    assert again.json == first.json
