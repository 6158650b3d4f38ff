"""Registration, login, logout and token checks (the tutorial's part 2 tests, and the hostile cases)."""
from datetime import timedelta

import jwt
import pytest
from helpers import (
    PASSWORD,
    example_path,
    mint_token,
    new_list,
    register_and_login,
    routes,
    session_id_of,
    user_id_of,
)
from webtest import TestApp

import auth
import bucketlist
import settings
from models import Bucketlist, Item, Session, User

USER = {'email': 'test@example.com', 'password': 'test_password'}


def assert_unauthorized(res):
    assert res.status_int == 401
    assert res.headers['WWW-Authenticate'] == 'Bearer'
    assert res.content_type == 'application/problem+json'


def test_registration(client):
    res = client.post('/auth/register', USER, status=201)
    assert res.json['message'] == 'You registered successfully. Please login.'


def test_already_registered_user(client):
    client.post('/auth/register', USER, status=201)
    res = client.post('/auth/register', USER, status=409)
    assert res.json['message'] == 'User already exists. Please login.'


def test_emails_are_unique_regardless_of_case(client):
    client.post('/auth/register', USER, status=201)
    client.post_json('/auth/register', {**USER, 'email': ' Test@Example.COM '}, status=409)
    assert User.select().count() == 1


def test_user_login(client):
    client.post('/auth/register', USER, status=201)
    res = client.post('/auth/login', USER, status=200)
    assert res.json['message'] == 'You logged in successfully.'
    assert res.json['access_token']


def test_non_registered_user_login(client):
    res = client.post('/auth/login', {'email': 'not_a_user@example.com', 'password': 'nope'}, status=401)
    assert res.json['message'] == 'Invalid email or password, Please try again'


def test_a_login_with_an_overlong_email_is_401_not_500(client):
    res = client.post_json('/auth/login', {'email': 'a' * 300 + '@example.com', 'password': 'x'}, status=401)
    assert res.content_type == 'application/problem+json'


def test_wrong_password_gets_the_same_answer_as_an_unknown_email(client):
    client.post('/auth/register', USER, status=201)
    wrong = client.post('/auth/login', {**USER, 'password': 'wrong_password'}, status=401)
    unknown = client.post('/auth/login', {**USER, 'email': 'nobody@example.com'}, status=401)
    assert wrong.json == unknown.json


@pytest.mark.parametrize('body, field', [
    ({'email': 'not-an-email', 'password': 'long enough'}, 'email'),
    ({'email': 'a@example.com', 'password': 'short'}, 'password'),
    ({'password': 'long enough'}, 'email'),
    ({'email': 'a@example.com'}, 'password'),
    ({'email': ['a@example.com'], 'password': 'long enough'}, 'email'),
    ({'email': 'a@example.com', 'password': 12345678}, 'password'),
])
def test_bad_registrations_name_the_field(client, body, field):
    res = client.post_json('/auth/register', body, status=400)
    assert field in res.json['errors']
    assert User.select().count() == 0


def test_passwords_are_stored_as_argon2id_hashes(client):
    client.post('/auth/register', USER, status=201)
    stored = User.get().password_hash
    assert stored.startswith('$argon2id$') and USER['password'] not in stored


def test_password_is_rehashed_on_login_when_parameters_change(client, monkeypatch):
    client.post('/auth/register', USER, status=201)
    old_hash = User.get().password_hash
    monkeypatch.setattr(auth, 'password_hasher',
                        type(auth.password_hasher)(time_cost=2, memory_cost=2048, parallelism=1))
    client.post('/auth/login', USER, status=200)
    new_hash = User.get().password_hash
    assert new_hash != old_hash and '$m=2048,t=2,p=1$' in new_hash
    client.post('/auth/login', USER, status=200)


AUTHENTICATED_ROUTES = [(method, example_path(rule)) for method, rule, _ in routes(public=False)]


@pytest.mark.parametrize('method, path', AUTHENTICATED_ROUTES)
def test_every_private_route_requires_a_token(client, method, path):
    assert_unauthorized(client.request(path, method=method, status=401))


@pytest.mark.parametrize('header', ['Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer not.a.jwt',
                                    'Bearer a.b.c', 'Token abc'])
def test_malformed_authorization_is_401(client, header):
    assert_unauthorized(client.get('/bucketlists/', headers={'Authorization': header}, status=401))




def test_tampered_token_is_401(user):
    header, payload, signature = user.authorization[1].split('.')
    forged = jwt.encode({'sub': '2', 'iat': 0, 'exp': 2**40, 'jti': 'x'}, 'another secret that is long enough!',
                        algorithm='HS256')
    for token in (f'{header}.{forged.split(".")[1]}.{signature}', f'{header}.{payload}.{signature[:-2]}AA'):
        assert_unauthorized(user.get('/bucketlists/', headers={'Authorization': f'Bearer {token}'}, status=401))


def test_alg_none_is_401(client):
    token = jwt.encode({'sub': '1', 'iat': 0, 'exp': 2**40, 'jti': 'x'}, None, algorithm='none')
    assert_unauthorized(client.get('/bucketlists/', headers={'Authorization': f'Bearer {token}'}, status=401))


@pytest.mark.parametrize('missing', ['iss', 'aud', 'sub', 'sid', 'iat', 'exp', 'jti'])
def test_tokens_without_required_claims_are_401(user, missing):
    token = mint_token(1, **{missing: None})
    assert_unauthorized(user.get('/bucketlists/', headers={'Authorization': f'Bearer {token}'}, status=401))


@pytest.mark.parametrize('changes', [{'typ': None}, {'typ': 'JWT'}, {'aud': 'another-api'}, {'aud': None},
                                     {'iss': 'somebody-else'}, {'iss': None}])
def test_a_token_signed_with_our_secret_for_another_purpose_is_401(user, changes):
    token = mint_token(user_id_of(user), session_id_of(user), **changes)
    res = user.get('/bucketlists/', headers={'Authorization': f'Bearer {token}'}, status=401)
    assert res.headers['WWW-Authenticate'] == 'Bearer'


def test_a_minted_token_with_every_claim_works(user):
    token = mint_token(user_id_of(user), session_id_of(user), lifetime=timedelta(minutes=5))
    user.get('/bucketlists/', headers={'Authorization': f'Bearer {token}'}, status=200)


@pytest.mark.parametrize('subject', ['0', '-1', 'abc', '99999999999999999999', '١'])
def test_tokens_with_impossible_subjects_are_401(client, subject):
    token = mint_token(1, sub=subject)
    assert_unauthorized(client.get('/bucketlists/', headers={'Authorization': f'Bearer {token}'}, status=401))


def test_expired_token_is_401(user):
    user.get('/bucketlists/', status=200)
    expired = mint_token(user_id_of(user), session_id_of(user), lifetime=timedelta(seconds=-1))
    res = user.get('/bucketlists/', headers={'Authorization': f'Bearer {expired}'}, status=401)
    assert_unauthorized(res)
    assert 'expired' in res.json['detail']


def test_logout_revokes_the_token_at_once(user):
    user.post('/auth/logout', status=200)
    assert_unauthorized(user.get('/bucketlists/', status=401))
    assert Session.select().count() == 0


def test_logout_leaves_other_sessions_working():
    first = register_and_login('carol@example.com')
    second = TestApp(bucketlist.app)
    token = second.post('/auth/login', {'email': 'carol@example.com', 'password': PASSWORD}).json['access_token']
    second.authorization = ('Bearer', token)
    first.post('/auth/logout', status=200)
    second.get('/bucketlists/', status=200)


def test_login_response_never_contains_the_password(client):
    client.post('/auth/register', USER, status=201)
    res = client.post('/auth/login', USER)
    assert USER['password'] not in res.text
    claims = jwt.decode(res.json['access_token'], settings.SECRET, algorithms=['HS256'], audience=auth.AUDIENCE)
    assert set(claims) == {'iss', 'aud', 'sub', 'sid', 'iat', 'exp', 'jti'}
    assert claims['exp'] - claims['iat'] == settings.TOKEN_TTL_SECONDS


def stored_rows():
    """Every bucketlist and item as stored: what a refused request must leave unchanged."""
    return ([tuple(row) for row in Bucketlist.select().order_by(Bucketlist.id).tuples()],
            [tuple(row) for row in Item.select().order_by(Item.id).tuples()])


@pytest.mark.parametrize('method, path', AUTHENTICATED_ROUTES)
def test_a_logged_out_token_is_refused_on_every_route_and_changes_nothing(user, method, path):
    # Routes that check revocation in their own query must not write before they know.
    new_list(user, items=['Item'])  # bucketlist 1 with item 1, where the paths point
    user.post('/auth/logout', status=200)
    before = stored_rows()
    res = user.request(path, method=method, body=b'{"name": "x"}', content_type='application/json',
                       expect_errors=True)
    assert_unauthorized(res)
    assert res.json['detail'].startswith('The session of this access token has ended')
    assert stored_rows() == before


@pytest.mark.parametrize('method, path', [(method, path.replace('/1', '/999'))
                                          for method, path in AUTHENTICATED_ROUTES if '/1' in path])
def test_a_logged_out_token_is_401_not_404_on_a_missing_resource(user, method, path):
    # Bucketlist routes check revocation in their own query; a miss must still tell 401 first.
    user.post('/auth/logout', status=200)
    res = user.request(path, method=method, body=b'{"name": "x"}', content_type='application/json',
                       expect_errors=True)
    assert_unauthorized(res)
    assert res.json['detail'].startswith('The session of this access token has ended')
