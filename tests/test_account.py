"""The account itself: who am I, take my data out, delete me (GDPR Art. 17 and 20), and the
operator's command line for hosts without email."""
import json
import os
import subprocess
import sys

import pytest
from helpers import PASSWORD, example_path, new_item, new_list, register_and_login, routes

import settings
from models import Bucketlist, IdempotencyKey, Item, User

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_me_is_the_account_of_the_token(user):
    me = user.get('/users/me').json
    assert set(me) == {'id', 'email', 'date_created', 'time_zone'} and me['email'] == 'alice@example.com'


def fill(user):
    """'Trip', made with an Idempotency-Key and holding 'Pack' (done), then 'Empty'."""
    trip = user.post_json('/bucketlists/', {'name': 'Trip'}, headers={'Idempotency-Key': 'k1'}, status=201).json
    new_item(user, trip['id'], 'Pack', done=True)
    new_list(user, 'Empty')
    return trip


def test_the_export_holds_everything_the_account_has(user, other_user):
    fill(user)
    new_list(other_user, 'Not yours')
    res = user.get('/users/me/export')
    assert res.headers['Content-Disposition'] == 'attachment; filename="bucketlist-export.json"'
    export = json.loads(res.body)
    assert export['account'] == user.get('/users/me').json
    assert [b['name'] for b in export['bucketlists']] == ['Trip', 'Empty']
    assert [i['name'] for i in export['bucketlists'][0]['items']] == ['Pack']
    assert export['bucketlists'][1]['items'] == []
    assert 'password' not in res.text and PASSWORD not in res.text


def test_the_export_lists_sessions_and_api_tokens_without_their_secrets(user):
    token = user.post_json('/users/me/tokens', {'name': 'Backup script', 'scope': 'read',
                                                'password': PASSWORD}).json['token']
    res = user.get('/users/me/export')
    export = json.loads(res.body)
    assert export['sessions'] == user.get('/auth/sessions').json
    assert export['api_tokens'] == user.get('/users/me/tokens').json
    assert [t['name'] for t in export['api_tokens']] == ['Backup script']
    assert token not in res.text and user.authorization[1] not in res.text


def test_deleting_the_account_needs_its_password(user):
    res = user.delete_json('/users/me', {'password': 'not it'}, status=403)
    assert res.json['type'] == '/problems/wrong-password' and 'WWW-Authenticate' not in res.headers
    user.delete_json('/users/me', {}, status=400)
    user.get('/users/me', status=200)


@pytest.mark.parametrize('method, rule', [(method, rule) for method, rule, _ in routes(public=False)])
def test_a_deleted_accounts_token_is_refused_on_every_route(method, rule):
    # A second token of the same account, still unexpired, on every private route.
    user = register_and_login('gone@example.com')
    trip = fill(user)
    token = user.post_json('/auth/login', {'email': 'gone@example.com', 'password': PASSWORD}).json['access_token']
    user.delete_json('/users/me', {'password': PASSWORD}, status=200)
    res = user.request(example_path(rule, b=trip['id']), method=method, body=b'{"name": "x"}',
                       content_type='application/json', headers={'Authorization': f'Bearer {token}'},
                       expect_errors=True)
    assert res.status_int == 401 and res.headers['WWW-Authenticate'] == 'Bearer'


def test_deleting_the_account_removes_everything_it_owns_and_frees_the_email(user, other_user):
    fill(user)
    new_list(other_user, 'Stays')
    assert user.delete_json('/users/me', {'password': PASSWORD}).json == {'message': 'Your account was deleted.'}
    assert User.select().where(User.email == 'alice@example.com').count() == 0
    assert [b.name for b in Bucketlist.select()] == ['Stays']
    assert Item.select().count() == 0 and IdempotencyKey.select().count() == 0
    register_and_login('alice@example.com')


# --- The operator's command line -----------------------------------------------------------------

def operator(*args):
    return subprocess.run([sys.executable, 'accounts.py', *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, 'DATABASE_URL': settings.DATABASE_URL})


def test_an_operator_resets_a_password_and_deletes_a_user(client, user):
    result = operator('reset-password', 'alice@example.com')
    assert result.returncode == 0, result.stderr
    new_password = result.stdout.strip().splitlines()[-1]
    client.post_json('/auth/login', {'email': 'alice@example.com', 'password': PASSWORD}, status=401)
    client.post_json('/auth/login', {'email': 'alice@example.com', 'password': new_password}, status=200)
    user.get('/bucketlists/', status=401)  # her tokens from before the reset are refused
    assert operator('delete-user', 'alice@example.com').returncode == 0
    assert User.select().count() == 0
    assert operator('delete-user', 'nobody@example.com').returncode == 1


def test_guessing_the_password_to_delete_the_account_is_throttled(user):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        user.delete_json('/users/me', {'password': 'guess'}, status=403)
    user.delete_json('/users/me', {'password': PASSWORD}, status=429)  # even the right one, from here
    assert User.select().count() == 1
