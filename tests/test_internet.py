"""What an attack on the service as deployed found (issue 11), each a test: hostile bodies, races
that were 500s, quotas, Unicode look-alikes, query strings, cross-site forms, foreign tokens."""
import io
import json
import threading
from datetime import timedelta
from urllib.parse import unquote

import pytest
from helpers import PASSWORD, mint_token, register_and_login, session_id_of, user_id_of
from playhouse.pool import PooledDatabase

import bucketlist
import settings
from models import Bucketlist, Item, User, db

# --- Hostile bodies ------------------------------------------------------------------------------

def test_a_body_with_thousands_of_fields_is_refused_briefly(user):
    body = json.dumps({f'{n:x}': 0 for n in range(85_000)})  # just under MAX_BODY_BYTES
    res = user.post('/bucketlists/', body, content_type='application/json', status=400)
    assert len(res.body) < 4096
    assert 'more than' in res.json['detail']


def test_an_error_document_stays_small_whatever_the_field_names(user):
    body = json.dumps({'x' * 20_000 + str(n): 1 for n in range(30)})
    res = user.post('/bucketlists/', body, content_type='application/json', status=400)
    assert len(res.body) < 8192


# --- Races that were 500s ------------------------------------------------------------------------

def test_an_item_created_while_its_bucketlist_is_deleted_is_404_not_500(user):
    statuses, lock = [], threading.Lock()
    for attempt in range(15):
        bucketlist_id = user.post_json('/bucketlists/', {'name': f'Doomed {attempt}'}).json['id']

        def create(n, bucketlist_id=bucketlist_id):  # bound: run and joined within this iteration
            res = user.post_json(f'/bucketlists/{bucketlist_id}/items/', {'name': f'Item {n}'}, expect_errors=True)
            with lock:
                statuses.append(res.status_int)
        threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        user.delete(f'/bucketlists/{bucketlist_id}', expect_errors=True)
        for thread in threads:
            thread.join()
    assert set(statuses) <= {201, 404}, statuses
    assert Item.select().count() == 0  # nothing outlived its bucketlist
    if isinstance(db, PooledDatabase):
        db.close_idle()  # the threads' connections, so later tests start from one


# --- Quotas --------------------------------------------------------------------------------------

def test_a_bucketlist_holds_at_most_the_item_quota(user, monkeypatch):
    monkeypatch.setattr(settings, 'MAX_ITEMS_PER_BUCKETLIST', 3)
    bucketlist_id = user.post_json('/bucketlists/', {'name': 'Small'}).json['id']
    for n in range(3):
        user.post_json(f'/bucketlists/{bucketlist_id}/items/', {'name': f'Item {n}'}, status=201)
    res = user.post_json(f'/bucketlists/{bucketlist_id}/items/', {'name': 'One too many'}, status=409)
    assert 'MAX_ITEMS_PER_BUCKETLIST' in res.json['detail']
    assert Item.select().count() == 3
    other = user.post_json('/bucketlists/', {'name': 'Another'}).json['id']
    user.post_json(f'/bucketlists/{other}/items/', {'name': 'Fits'}, status=201)


def test_an_account_holds_at_most_the_bucketlist_quota(user, other_user, monkeypatch):
    monkeypatch.setattr(settings, 'MAX_BUCKETLISTS_PER_USER', 2)
    for n in range(2):
        user.post_json('/bucketlists/', {'name': f'List {n}'}, status=201)
    res = user.post_json('/bucketlists/', {'name': 'One too many'}, status=409)
    assert 'MAX_BUCKETLISTS_PER_USER' in res.json['detail']
    other_user.post_json('/bucketlists/', {'name': 'Fits'}, status=201)
    assert Bucketlist.select().count() == 3
    # The quota counts what the account holds now: a deleted list makes room, a failed create none.
    first = user.get('/bucketlists/').json[0]['id']
    user.delete(f'/bucketlists/{first}', status=200)
    user.post_json('/bucketlists/', {'name': 'List 1'}, status=409)  # a name it holds: no room taken
    user.post_json('/bucketlists/', {'name': 'In its place'}, status=201)
    user.post_json('/bucketlists/', {'name': 'Still too many'}, status=409)


def test_racing_creates_past_the_bucketlist_quota_add_exactly_up_to_it(monkeypatch):
    """Twelve creates at once with room for three: three are made, whatever the interleaving
    (on PostgreSQL each reads the count another may be about to raise). A few accounts, so that
    one lucky interleaving cannot pass it."""
    monkeypatch.setattr(settings, 'MAX_BUCKETLISTS_PER_USER', 4)
    for attempt in range(4):
        racer = register_and_login(f'racer{attempt}@example.com')
        racer.post_json('/bucketlists/', {'name': 'First'}, status=201)
        statuses, lock = [], threading.Lock()

        def create(n, racer=racer, lock=lock, statuses=statuses):  # bound: joined within this iteration
            status = racer.post_json('/bucketlists/', {'name': f'Racer {n}'}, expect_errors=True).status_int
            with lock:
                statuses.append(status)
        threads = [threading.Thread(target=create, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [201] * 3 + [409] * 9
        with db.connection_context():
            racer_id = user_id_of(racer)
            assert Bucketlist.select().where(Bucketlist.owner == racer_id).count() == 4
            assert User.get_by_id(racer_id).bucketlist_count == 4
    if isinstance(db, PooledDatabase):
        db.close_idle()  # the threads' connections, so later tests start from one


# --- Unicode look-alikes -------------------------------------------------------------------------

@pytest.mark.parametrize('look_alike', ['ＡＤＡ@example.com', 'ada@ｅxample.com'])
def test_an_email_that_normalises_to_a_taken_one_is_taken(client, look_alike):
    client.post_json('/auth/register', {'email': 'ada@example.com', 'password': PASSWORD}, status=201)
    client.post_json('/auth/register', {'email': look_alike, 'password': PASSWORD}, status=409)
    client.post_json('/auth/login', {'email': look_alike, 'password': PASSWORD}, status=200)


def test_nfc_and_nfd_spellings_are_one_account(client):
    client.post_json('/auth/register', {'email': 'jos\u00e9@example.com', 'password': PASSWORD}, status=201)
    client.post_json('/auth/register', {'email': 'jose\u0301@example.com', 'password': PASSWORD}, status=409)
    assert User.select().count() == 1


@pytest.mark.parametrize('email', ['ada@example.com\u200b', 'a\u200dda@example.com', 'ada\u2060@example.com',
                                   'ada@exa\u0007mple.com'])
def test_emails_with_invisible_or_control_characters_are_400(client, email):
    res = client.post_json('/auth/register', {'email': email, 'password': PASSWORD}, status=400)
    assert 'email' in res.json['errors']


@pytest.mark.parametrize('name', ['\u200b', ' \u200b\u200c ', '\ufeff', '\u2060\u00a0'])
def test_a_name_of_only_invisible_characters_is_blank(user, name):
    res = user.post_json('/bucketlists/', {'name': name}, status=400)
    assert res.json['errors']['name'] == 'Must not be blank.'


def test_names_are_trimmed_of_invisible_characters(user):
    assert user.post_json('/bucketlists/', {'name': '\u200bSail\u200b '}, status=201).json['name'] == 'Sail'


# --- Query strings -------------------------------------------------------------------------------

def test_links_keep_non_ascii_searches(user):
    for name in ['Café Paris', 'Café Lyon']:
        user.post_json('/bucketlists/', {'name': name})
    res = user.get('/bucketlists/?q=caf%C3%A9&limit=1')
    next_link = [link for link in res.headers['Link'].split(', ') if 'rel="next"' in link][0]
    url = next_link[1:next_link.index('>')]
    assert 'q=caf%C3%A9' in url and unquote(url).count('é') == 1
    assert [b['name'] for b in user.get(url).json] == ['Café Lyon']


@pytest.mark.parametrize('path', ['/bucketlists/?order=name', '/bucketlists/?page=1&q=x&extra=1',
                                  '/bucketlists/1?verbose=1', '/health?x=1'])
def test_unknown_query_parameters_are_400_naming_them(user, path):
    user.post_json('/bucketlists/', {'name': 'One'})
    res = user.get(path, status=400)
    parameter = path.rsplit('&', 1)[-1].split('?')[-1].split('=')[0]
    assert parameter in res.json['errors']


# --- Cross-site requests from browsers -----------------------------------------------------------

@pytest.mark.parametrize('headers', [{'Sec-Fetch-Site': 'cross-site'}, {'Origin': 'https://evil.example'},
                                     {'Origin': 'null'},
                                     {'Origin': 'https://evil.example', 'Sec-Fetch-Site': 'cross-site'}])
def test_a_cross_site_form_cannot_register_or_write(client, user, headers):
    res = client.post('/auth/register', {'email': 'csrf@example.com', 'password': PASSWORD},
                      headers=headers, status=403)
    assert res.content_type == 'application/problem+json'
    assert User.select().where(User.email == 'csrf@example.com').count() == 0
    user.post_json('/bucketlists/', {'name': 'Planted'}, headers=headers, status=403)
    assert Bucketlist.select().count() == 0


def test_same_origin_listed_origins_and_non_browsers_still_write(client, user, monkeypatch):
    client.post('/auth/register', {'email': 'plain@example.com', 'password': PASSWORD}, status=201)
    user.post_json('/bucketlists/', {'name': 'Same origin'}, status=201,
                   headers={'Origin': 'http://localhost:80', 'Host': 'localhost:80', 'Sec-Fetch-Site': 'same-origin'})
    monkeypatch.setattr(settings, 'CORS_ORIGINS', ['https://app.example'])
    user.post_json('/bucketlists/', {'name': 'Listed'}, status=201,
                   headers={'Origin': 'https://app.example', 'Sec-Fetch-Site': 'cross-site'})
    user.get('/bucketlists/', headers={'Sec-Fetch-Site': 'cross-site'}, status=200)  # reads are not refused


# --- Tokens for other purposes -------------------------------------------------------------------

@pytest.mark.parametrize('changes', [{'typ': None}, {'typ': 'JWT'}, {'aud': 'another-api'}, {'aud': None},
                                     {'iss': 'somebody-else'}, {'iss': None}])
def test_a_token_signed_with_our_secret_for_another_purpose_is_401(user, changes):
    token = mint_token(user_id_of(user), session_id_of(user), **changes)
    res = user.get('/bucketlists/', headers={'Authorization': f'Bearer {token}'}, status=401)
    assert res.headers['WWW-Authenticate'] == 'Bearer'


def test_a_minted_token_with_every_claim_works(user):
    token = mint_token(user_id_of(user), session_id_of(user), lifetime=timedelta(minutes=5))
    user.get('/bucketlists/', headers={'Authorization': f'Bearer {token}'}, status=200)


def test_an_account_stored_before_normalisation_can_still_log_in(client):
    # Registered before emails were NFKC-normalised: stored as sent (NFD), lower-cased.
    client.post_json('/auth/register', {'email': 'nfd@example.com', 'password': PASSWORD}, status=201)
    User.update(email='jose\u0301@example.com').where(User.email == 'nfd@example.com').execute()
    client.post_json('/auth/login', {'email': 'jose\u0301@example.com', 'password': PASSWORD}, status=200)


# --- Found by a review of this work ----------------------------------------------------------------

class WatchingInput(io.BytesIO):
    """A request body that notes whether the database connection was open while it was read."""

    def read(self, size=-1):
        self.database_open = not db.is_closed()
        return super().read(size)


@pytest.mark.parametrize('method, path, body', [
    ('POST', '/bucketlists/', {'name': 'Slowly'}), ('PATCH', '/bucketlists/{b}/items/{i}', {'done': True}),
    ('PUT', '/bucketlists/{b}', {'name': 'Renamed'}), ('POST', '/bucketlists/{b}/items/', {'name': 'Item'})])
def test_a_body_is_read_before_the_database_is_touched(user, method, path, body):
    # A client trickling its body in must not hold a pooled connection (or a transaction) meanwhile.
    bucketlist_id = user.post_json('/bucketlists/', {'name': 'Trip'}).json['id']
    item_id = user.post_json(f'/bucketlists/{bucketlist_id}/items/', {'name': 'Pack'}).json['id']
    stream = WatchingInput(json.dumps(body).encode())
    status = []
    environ = {'REQUEST_METHOD': method, 'PATH_INFO': path.format(b=bucketlist_id, i=item_id),
               'SERVER_NAME': 'localhost', 'SERVER_PORT': '80', 'wsgi.url_scheme': 'http', 'wsgi.input': stream,
               'wsgi.errors': io.StringIO(), 'CONTENT_TYPE': 'application/json',
               'CONTENT_LENGTH': str(len(stream.getvalue())), 'HTTP_AUTHORIZATION': f'Bearer {user.authorization[1]}'}
    b''.join(bucketlist.app(environ, lambda s, h, exc=None: status.append(s)))
    assert status[0][:3] in ('200', '201') and stream.database_open is False


def test_nobody_may_register_the_twin_of_an_account_stored_before_normalisation(client):
    client.post_json('/auth/register', {'email': 'wide@example.com', 'password': PASSWORD}, status=201)
    User.update(email='ｗｉｄｅ@example.com').where(User.email == 'wide@example.com').execute()
    client.post_json('/auth/register', {'email': 'ｗｉｄｅ@example.com', 'password': PASSWORD}, status=409)
    client.post_json('/auth/login', {'email': 'ｗｉｄｅ@example.com', 'password': PASSWORD}, status=200)
    assert User.select().count() == 1


def test_the_owner_mistyping_at_a_known_address_is_not_locked_out_by_an_attack(client, user, monkeypatch):
    monkeypatch.setattr(settings, 'LOGIN_FAILURES_PER_ACCOUNT', 3)
    home = {'REMOTE_ADDR': '203.0.113.7'}
    credentials = {'email': 'alice@example.com', 'password': PASSWORD}
    client.post_json('/auth/login', credentials, extra_environ=home, status=200)
    for n in range(1, 6):  # the attack fills the account's ceiling
        for _ in range(3):
            client.post_json('/auth/login', {**credentials, 'password': 'guess'}, expect_errors=True,
                             extra_environ={'REMOTE_ADDR': f'198.51.100.{n}'})
    client.post_json('/auth/login', {**credentials, 'password': 'typo'}, extra_environ=home, status=401)
    client.post_json('/auth/login', credentials, extra_environ=home, status=200)


def test_an_ipv6_host_is_limited_by_its_whole_64(client, monkeypatch):
    monkeypatch.setattr(settings, 'REGISTRATIONS_PER_ADDRESS', 2)
    for n in range(2):
        client.post_json('/auth/register', {'email': f'v6-{n}@example.com', 'password': PASSWORD},
                         extra_environ={'REMOTE_ADDR': f'2001:db8:1:2::{n + 1}'}, status=201)
    client.post_json('/auth/register', {'email': 'v6-x@example.com', 'password': PASSWORD},
                     extra_environ={'REMOTE_ADDR': '2001:db8:1:2:ffff::9'}, status=429)
    client.post_json('/auth/register', {'email': 'v6-y@example.com', 'password': PASSWORD},
                     extra_environ={'REMOTE_ADDR': '2001:db8:1:3::1'}, status=201)


@pytest.mark.parametrize('path', ['/bucketlists/1%0A', '/bucketlists/1/items/%0A', '/x%0D%0AGET%20/forged',
                                  '/bucketlists/%00'])
def test_a_path_with_control_characters_is_400(user, path):
    user.post_json('/bucketlists/', {'name': 'One'})
    res = user.get(path, status=400)
    assert res.content_type == 'application/problem+json'


def test_only_the_files_the_docs_page_loads_are_served(client):
    client.get('/docs/swagger-ui-bundle.js', status=200)
    for name in ['oauth2-redirect.html', 'swagger-ui-bundle.js.map', 'swagger-editor-bundle.js']:
        client.get(f'/docs/{name}', status=404)
