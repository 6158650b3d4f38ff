"""API tokens for scripts and integrations: shown once, stored hashed, scoped to read or write,
and never able to manage the account's credentials."""
import hashlib
import json
from datetime import timedelta

import pytest
from helpers import PASSWORD, DocumentedTestApp, example_path, new_list, routes

import bucketlist
from models import ApiToken, utcnow


def api_client(user, scope, **fields):
    """A client holding a new API token of ``user``'s, and the token's creation answer."""
    created = user.post_json('/users/me/tokens', {'name': f'{scope} script', 'scope': scope, 'password': PASSWORD,
                                                  **fields}, status=201).json
    client = DocumentedTestApp(bucketlist.app)
    client.authorization = ('Bearer', created['token'])
    return client, created


def test_a_new_token_is_shown_once_and_stored_hashed(user):
    _, created = api_client(user, 'read')
    assert set(created) == {'id', 'name', 'scope', 'token', 'date_created', 'expires_at', 'last_used'}
    assert created['token'].startswith('blt_') and created['expires_at'] is None
    listed = user.get('/users/me/tokens').json
    assert [t['name'] for t in listed] == ['read script'] and 'token' not in listed[0]
    assert ApiToken.get().token_hash == hashlib.sha256(created['token'].encode()).hexdigest()
    assert created['token'] not in user.get('/users/me/export').text


def test_a_read_token_reads_and_cannot_write(user):
    trip, _ = new_list(user, 'Trip')
    reader, _ = api_client(user, 'read')
    assert reader.get(f'/bucketlists/{trip["id"]}').json['name'] == 'Trip'
    res = reader.post_json('/bucketlists/', {'name': 'Nope'}, status=403)
    assert 'read' in res.json['detail']
    reader.delete(f'/bucketlists/{trip["id"]}', status=403)
    assert [b['name'] for b in user.get('/bucketlists/').json] == ['Trip']


def test_a_write_token_writes(user):
    writer, _ = api_client(user, 'write')
    trip = writer.post_json('/bucketlists/', {'name': 'Trip'}, status=201).json
    writer.put_json(f'/bucketlists/{trip["id"]}', {'name': 'Trip 2'}, status=200)
    writer.get(f'/bucketlists/{trip["id"]}', status=200)
    writer.delete(f'/bucketlists/{trip["id"]}', status=200)


def test_a_revoked_token_is_401_at_once(user):
    reader, created = api_client(user, 'read')
    reader.get('/bucketlists/', status=200)
    user.delete(f'/users/me/tokens/{created["id"]}', status=200)
    reader.get('/bucketlists/', status=401)
    reader.get('/bucketlists/1', status=401)
    assert user.get('/users/me/tokens').json == []


def test_an_expired_token_is_401(user):
    reader, created = api_client(user, 'read', expires_in_days=30)
    assert created['expires_at'] is not None
    reader.get('/bucketlists/', status=200)
    ApiToken.update(expires_at=utcnow() - timedelta(seconds=1)).execute()
    reader.get('/bucketlists/', status=401)


def test_another_users_token_id_is_404(user, other_user):
    _, created = api_client(other_user, 'read')
    user.delete(f'/users/me/tokens/{created["id"]}', status=404)
    assert len(other_user.get('/users/me/tokens').json) == 1


def test_using_a_token_records_when(user):
    reader, created = api_client(user, 'read')
    assert created['last_used'] is None
    reader.get('/bucketlists/', status=200)
    assert user.get('/users/me/tokens').json[0]['last_used'] is not None


def test_creating_a_token_needs_the_password(user):
    # A stolen access token must not turn itself into a token that outlives the session.
    res = user.post_json('/users/me/tokens', {'name': 'x', 'scope': 'write', 'password': 'guess'}, status=403)
    assert res.json['type'] == '/problems/wrong-password'
    user.post_json('/users/me/tokens', {'name': 'x', 'scope': 'write'}, status=400)
    assert ApiToken.select().count() == 0


@pytest.mark.parametrize('fields, field', [({'name': '', 'scope': 'read'}, 'name'),
                                           ({'name': 'x', 'scope': 'admin'}, 'scope'),
                                           ({'name': 'x'}, 'scope'),
                                           ({'name': 'x', 'scope': 'read', 'expires_in_days': 0}, 'expires_in_days'),
                                           ({'name': 'x', 'scope': 'read', 'expires_in_days': 10**6},
                                            'expires_in_days'),
                                           ({'name': 'x', 'scope': 'read', 'expires_in_days': True},
                                            'expires_in_days')])
def test_invalid_token_fields_are_400(user, fields, field):
    body = {'password': PASSWORD, **fields}
    assert field in user.post_json('/users/me/tokens', body, status=400).json['errors']


def test_a_form_with_thousands_of_digits_for_days_is_a_plain_400(user):
    res = user.post('/users/me/tokens', {'name': 'x', 'scope': 'read', 'password': PASSWORD,
                                         'expires_in_days': '9' * 5000}, status=400)
    assert res.json['errors'] == {'expires_in_days': 'Must be a whole number of days from 1 to 3650.'}


def test_deleting_the_account_deletes_its_tokens(user):
    reader, _ = api_client(user, 'read')
    user.delete_json('/users/me', {'password': PASSWORD}, status=200)
    reader.get('/bucketlists/', status=401)
    assert ApiToken.select().count() == 0


# --- Every route's scope --------------------------------------------------------------------------

# What each private route needs of an API token: 'read', 'write', or None (a session only: no API
# token may manage sessions, tokens, the password or the account's deletion).
SCOPES = {
    ('POST', '/auth/logout'): None,
    ('GET', '/auth/sessions'): None,
    ('DELETE', '/auth/sessions/<session_id:id>'): None,
    ('GET', '/users/me'): 'read',
    ('DELETE', '/users/me'): None,
    ('PATCH', '/users/me'): None,
    ('POST', '/users/me/password'): None,
    ('GET', '/users/me/tokens'): None,
    ('POST', '/users/me/tokens'): None,
    ('DELETE', '/users/me/tokens/<token_id:id>'): None,
    ('GET', '/users/me/export'): None,
    ('POST', '/bucketlists/'): 'write',
    ('GET', '/bucketlists/'): 'read',
    ('GET', '/bucketlists/<bucketlist_id:id>'): 'read',
    ('PUT', '/bucketlists/<bucketlist_id:id>'): 'write',
    ('PATCH', '/bucketlists/<bucketlist_id:id>'): 'write',
    ('DELETE', '/bucketlists/<bucketlist_id:id>'): 'write',
    ('POST', '/bucketlists/<bucketlist_id:id>/items/'): 'write',
    ('GET', '/bucketlists/<bucketlist_id:id>/items/'): 'read',
    ('GET', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>'): 'read',
    ('PUT', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>'): 'write',
    ('PATCH', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>'): 'write',
    ('DELETE', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>'): 'write',
    ('POST', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/move'): 'write',
    ('GET', '/sync'): 'read',
    ('GET', '/labels'): 'read',
    ('GET', '/items/'): 'read',
    ('POST', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/'): 'write',
    ('GET', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/'): 'read',
    ('GET', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/<step_id:id>'): 'read',
    ('PATCH', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/<step_id:id>'): 'write',
    ('DELETE', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/<step_id:id>'): 'write',
    ('GET', '/users/me/calendar'): None,
    ('POST', '/users/me/calendar'): None,
    ('POST', '/labels'): 'write',
    ('GET', '/labels/<label_id:id>'): 'read',
    ('PATCH', '/labels/<label_id:id>'): 'write',
    ('DELETE', '/labels/<label_id:id>'): 'write',
    ('GET', '/trash'): 'read',
    ('POST', '/sync'): 'write',
    ('GET', '/activity'): 'read',
    ('GET', '/bucketlists/<bucketlist_id:id>/activity'): 'read',
    ('GET', '/items/completed'): 'read',
    ('POST', '/trash/bucketlists/<bucketlist_id:id>/restore'): 'write',
    ('POST', '/trash/items/<item_id:id>/restore'): 'write',
    ('DELETE', '/trash/bucketlists/<bucketlist_id:id>'): 'write',
    ('DELETE', '/trash/items/<item_id:id>'): 'write',
    ('GET', '/bucketlists/<bucketlist_id:id>/members'): 'read',
    ('POST', '/bucketlists/<bucketlist_id:id>/members'): 'write',
    ('PATCH', '/bucketlists/<bucketlist_id:id>/members/<user_id:id>'): 'write',
    ('DELETE', '/bucketlists/<bucketlist_id:id>/members/<user_id:id>'): 'write',
    ('GET', '/invitations'): 'read',
    ('POST', '/invitations/<invitation_id:id>/accept'): 'write',
    ('POST', '/invitations/<invitation_id:id>/decline'): 'write',
    ('GET', '/events'): 'read',
    ('POST', '/webhooks'): 'webhooks',
    ('GET', '/webhooks'): 'webhooks',
    ('GET', '/webhooks/<webhook_id:id>'): 'webhooks',
    ('PATCH', '/webhooks/<webhook_id:id>'): 'webhooks',
    ('DELETE', '/webhooks/<webhook_id:id>'): 'webhooks',
    ('POST', '/webhooks/<webhook_id:id>/secret'): 'webhooks',
    ('GET', '/webhooks/<webhook_id:id>/deliveries'): 'webhooks',
    ('POST', '/webhooks/<webhook_id:id>/deliveries/<message_id:id>/redeliver'): 'webhooks',
    ('POST', '/webhooks/<webhook_id:id>/ping'): 'webhooks',
}


def test_every_private_route_has_a_scope():
    assert set(SCOPES) == {(method, rule) for method, rule, _ in routes(public=False)}


@pytest.mark.parametrize('method, rule', sorted(SCOPES))
@pytest.mark.parametrize('scope', ['read', 'write', 'webhooks'])
def test_each_route_refuses_tokens_without_its_scope(user, scope, method, rule):
    trip, (item,) = new_list(user, items=['Pack'])
    client, _ = api_client(user, scope)
    path = example_path(rule, b=trip['id'], i=item['id'])
    res = client.request(path, method=method, body=json.dumps({'name': 'x', 'password': PASSWORD}).encode(),
                         content_type='application/json', expect_errors=True)
    allowed = SCOPES[(method, rule)] in {'read': {'read'}, 'write': {'read', 'write'},
                                         'webhooks': {'read', 'webhooks'}}[scope]
    if allowed:
        assert res.status_int not in (401, 403), (res.status, res.text)
    else:
        assert res.status_int == 403, (res.status, res.text)
