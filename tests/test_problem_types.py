"""Each kind of refusal has its own problem type, which a client can act on without reading English."""
from datetime import timedelta

import pytest
from helpers import PASSWORD, accept_invitations, mint_token, new_list, register_and_login, session_id_of, user_id_of

import settings
from fields import QUERY_VALUE_MAX_LENGTH
from problems import KINDS


def kind_of(res):
    return res.json['type'].removeprefix('/problems/')


def test_a_wrong_current_password_is_not_taken_for_an_ended_session(user):
    # A client's refresh logic acts on 401; a typo in the password must not log the user out.
    change = {'current_password': 'typo', 'new_password': 'long enough'}
    for send, path, body in [(user.delete_json, '/users/me', {'password': 'typo'}),
                             (user.post_json, '/users/me/password', change),
                             (user.post_json, '/users/me/tokens', {'name': 'x', 'scope': 'read', 'password': 'typo'})]:
        res = send(path, body, status=403)
        assert kind_of(res) == 'wrong-password' and res.json['title'] == 'Wrong password'
        assert 'WWW-Authenticate' not in res.headers
    user.get('/users/me', status=200)


def test_token_refusals_say_whether_to_refresh_or_log_in(user, client):
    user_id, session_id = user_id_of(user), session_id_of(user)
    assert kind_of(client.get('/bucketlists/', status=401)) == 'token-missing'
    client.authorization = ('Bearer', mint_token(user_id, session_id, lifetime=timedelta(seconds=-1)))
    assert kind_of(client.get('/bucketlists/', status=401)) == 'token-expired'  # refresh it
    client.authorization = ('Bearer', mint_token(user_id, session_id, secret='not the secret' * 4))
    assert kind_of(client.get('/bucketlists/', status=401)) == 'token-invalid'
    client.authorization = ('Bearer', 'blt_' + 'x' * 43)
    assert kind_of(client.get('/bucketlists/', status=401)) == 'token-invalid'
    user.post('/auth/logout', status=200)
    res = user.get('/bucketlists/', status=401)
    assert kind_of(res) == 'session-ended' and res.headers['WWW-Authenticate'] == 'Bearer'
    user.post('/auth/logout', status=401)
    assert kind_of(client.post_json('/auth/refresh', {'refresh_token': 'nope'}, status=401)) == 'refresh-token-invalid'
    res = client.post_json('/auth/login', {'email': 'alice@example.com', 'password': 'wrong'}, status=401)
    assert kind_of(res) == 'wrong-credentials'


def test_refusals_of_the_same_status_are_told_apart_by_type(user, monkeypatch):
    trip, _ = new_list(user, 'Trip')
    assert kind_of(user.post_json('/bucketlists/', {'name': 'Trip'}, status=409)) == 'name-taken'
    monkeypatch.setattr(settings, 'MAX_BUCKETLISTS_PER_USER', 1)
    assert kind_of(user.post_json('/bucketlists/', {'name': 'Other'}, status=409)) == 'quota-exceeded'

    viewer = register_and_login('vera@example.com')
    user.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'vera@example.com', 'role': 'viewer'}, status=201)
    accept_invitations(viewer)
    assert kind_of(viewer.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'x'}, status=403)) == 'viewer'
    assert kind_of(viewer.delete(f'/bucketlists/{trip["id"]}', status=403)) == 'owner-only'
    token = user.post_json('/users/me/tokens', {'name': 'reader', 'scope': 'read', 'password': PASSWORD}).json['token']
    user.authorization = ('Bearer', token)
    assert kind_of(user.post_json('/bucketlists/', {'name': 'x'}, status=403)) == 'read-only-token'
    assert kind_of(user.get('/users/me/tokens', status=403)) == 'session-only'
    res = viewer.post_json('/bucketlists/', {'name': 'x'}, headers={'Sec-Fetch-Site': 'cross-site'}, status=403)
    assert kind_of(res) == 'cross-site'


def test_invalid_requests_are_typed_and_plain_http_errors_are_about_blank(user):
    res = user.post_json('/bucketlists/', {'name': ''}, status=400)
    assert kind_of(res) == 'invalid-fields' and res.json['errors']['name']
    assert kind_of(user.post('/bucketlists/', '{', content_type='application/json', status=400)) == 'invalid-body'
    assert kind_of(user.get('/bucketlists/?limit=0', status=400)) == 'invalid-query'
    assert kind_of(user.get('/bucketlists/?nope=1', status=400)) == 'invalid-query'
    assert kind_of(user.get('/sync?cursor=nope', status=400)) == 'invalid-query'
    assert kind_of(user.get('/bucketlists/12345', status=404)) == 'not-found'
    res = user.request('/bucketlists/', method='TRACE', status=405)
    assert res.json['type'] == 'about:blank' and res.json['title'] == 'Method Not Allowed'
    res = user.post('/bucketlists/', 'name=x', content_type='text/plain', status=415)
    assert res.json['type'] == 'about:blank' and res.json['title'] == 'Unsupported Media Type'


@pytest.mark.parametrize('kind', KINDS)
def test_every_problem_type_is_described_on_a_page_it_names(client, kind):
    res = client.get(f'/problems/{kind}', headers={'Accept': 'text/html'}, status=200)  # as a browser follows it
    assert res.content_type == 'text/html' and 'browsable.js' not in res.text
    assert KINDS[kind][0].replace("'", '&#x27;') in res.text
    assert f'href="/problems/{kind}"' in client.get('/problems', status=200).text


def test_a_problem_type_that_does_not_exist_is_404(client):
    assert client.get('/problems/nope', status=404).json['type'] == '/problems/not-found'


def test_a_query_value_past_its_documented_length_is_400_from_the_app(user):
    # Far below the request line's own limit, which gunicorn enforces: the app's bound is the one
    # the document states.
    res = user.get('/bucketlists/?q=' + 'x' * (QUERY_VALUE_MAX_LENGTH + 1), status=400)
    assert kind_of(res) == 'invalid-query' and 'q' in res.json['errors']
    user.get('/bucketlists/?q=' + 'x' * QUERY_VALUE_MAX_LENGTH, status=200)
    assert kind_of(user.get('/sync?cursor=' + 'x' * 300, status=400)) == 'invalid-query'
