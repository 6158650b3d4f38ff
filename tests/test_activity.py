"""Activity: every change to a list is recorded, with who, when, the request and the fields' old
and new values, in the same transaction as the change; and every completion is kept."""
import json
from datetime import timedelta

import pytest
from helpers import (
    accept_invitations,
    example_path,
    new_item,
    new_list,
    register_and_login,
    routes,
    user_id_of,
)
from peewee import fn

import settings
from models import Activity, db


def share(owner, bucketlist_id, member, email, role='editor'):
    owner.post_json(f'/bucketlists/{bucketlist_id}/members', {'email': email, 'role': role}, status=201)
    accept_invitations(member)


def kinds(client, url):
    return [entry['kind'] for entry in client.get(url).json]


@pytest.fixture
def grace():
    return register_and_login('grace@example.com')


def test_a_shared_list_s_changes_are_recorded_with_who_when_and_what(user, grace):
    trip, _ = new_list(user, 'Japan trip')
    share(user, trip['id'], grace, 'grace@example.com')
    res = grace.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Visit Kyoto', 'due_date': '2027-04-01'})
    item = res.json
    grace.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'name': 'Visit Kyoto and Nara',
                                                                        'notes': 'Deer', 'priority': 1})
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'done': True})
    user.put_json(f'/bucketlists/{trip["id"]}', {'name': 'Japan, spring'})

    entries = grace.get(f'/bucketlists/{trip["id"]}/activity').json  # newest first
    assert [entry['kind'] for entry in entries] == [  # (the invitation is the owner's to see)
        'bucketlist.renamed', 'item.completed', 'item.updated', 'item.created', 'member.joined', 'bucketlist.created']
    assert kinds(user, f'/bucketlists/{trip["id"]}/activity')[-2:] == ['member.invited', 'bucketlist.created']
    renamed, completed, updated, created, joined = entries[:5]
    assert set(created) == {'id', 'kind', 'bucketlist_id', 'item_id', 'step_id', 'member_id', 'user_id', 'at',
                            'request_id', 'changes'}
    assert (created['user_id'], created['item_id'], created['bucketlist_id']) == (
        user_id_of(grace), item['id'], trip['id'])
    assert created['request_id'] == res.headers['X-Request-ID']
    assert created['changes']['name'] == [None, 'Visit Kyoto']
    assert updated['changes'] == {'name': ['Visit Kyoto', 'Visit Kyoto and Nara'], 'notes': ['', 'Deer'],
                                  'priority': [None, 1]}
    assert (completed['user_id'], completed['changes']) == (user_id_of(user), {'done': [False, True]})
    assert renamed['changes'] == {'name': ['Japan trip', 'Japan, spring']}
    assert joined['member_id'] == user_id_of(grace) and joined['user_id'] == user_id_of(grace)
    assert created['at'] <= updated['at'] <= completed['at']


def test_a_refused_write_records_nothing(user, monkeypatch):
    monkeypatch.setattr(settings, 'MAX_ITEMS_PER_BUCKETLIST', 1)
    trip, (item,) = new_list(user, 'Trip', ['One'])
    user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Two'}, status=409)
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'name': ''}, status=400)
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'name': 'One'})  # no change: still recorded
    assert kinds(user, f'/bucketlists/{trip["id"]}/activity') == ['item.updated', 'item.created',
                                                                   'bucketlist.created']
    assert user.get(f'/bucketlists/{trip["id"]}/activity').json[0]['changes'] == {}


def test_a_move_across_lists_shows_in_both(user):
    here, (item,) = new_list(user, 'Here', ['Wander'])
    there, _ = new_list(user, 'There', ['Stay'])
    user.post_json(f'/bucketlists/{here["id"]}/items/{item["id"]}/move', {'bucketlist_id': there['id'],
                                                                           'position': 0})
    moved, = [entry for entry in user.get(f'/bucketlists/{here["id"]}/activity').json if entry['kind'] == 'item.moved']
    assert moved == user.get(f'/bucketlists/{there["id"]}/activity').json[0]
    assert moved['bucketlist_id'] == there['id'] and moved['changes'] == {'bucketlist_id': [here['id'], there['id']],
                                                                          'position': [0, 0]}


def test_trash_restore_steps_and_members_are_recorded(user, grace):
    trip, (item,) = new_list(user, 'Trip', ['Pack'])
    share(user, trip['id'], grace, 'grace@example.com', role='viewer')
    step = user.post_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}/steps/', {'name': 'Socks'}).json
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}/steps/{step["id"]}', {'done': True})
    user.delete(f'/bucketlists/{trip["id"]}/items/{item["id"]}/steps/{step["id"]}')
    user.patch_json(f'/bucketlists/{trip["id"]}/members/{user_id_of(grace)}', {'role': 'editor'})
    user.delete(f'/bucketlists/{trip["id"]}/items/{item["id"]}')
    user.post(f'/trash/items/{item["id"]}/restore')
    grace.delete(f'/bucketlists/{trip["id"]}/members/{user_id_of(grace)}')
    assert kinds(user, f'/bucketlists/{trip["id"]}/activity') == [
        'member.left', 'item.restored', 'item.trashed', 'member.changed', 'step.deleted', 'step.updated',
        'step.created', 'member.joined', 'member.invited', 'item.created', 'bucketlist.created']
    entries = user.get(f'/bucketlists/{trip["id"]}/activity').json
    assert entries[3]['changes'] == {'role': ['viewer', 'editor']}
    assert entries[5]['step_id'] == step['id'] and entries[5]['changes'] == {'done': [False, True]}
    user.delete(f'/bucketlists/{trip["id"]}')
    user.get(f'/bucketlists/{trip["id"]}/activity', status=404)  # (in the trash)
    user.post(f'/trash/bucketlists/{trip["id"]}/restore')
    assert kinds(user, f'/bucketlists/{trip["id"]}/activity')[:2] == ['bucketlist.restored', 'bucketlist.trashed']


def test_only_those_who_see_the_list_see_its_activity(user, grace, other_user):
    trip, _ = new_list(user, 'Trip', ['Pack'])
    share(user, trip['id'], grace, 'grace@example.com', role='viewer')
    assert grace.get(f'/bucketlists/{trip["id"]}/activity').json == [
        entry for entry in user.get(f'/bucketlists/{trip["id"]}/activity').json if entry['kind'] != 'member.invited']
    other_user.get(f'/bucketlists/{trip["id"]}/activity', status=404)
    assert other_user.get('/activity').json == []
    grace.delete(f'/bucketlists/{trip["id"]}/members/{user_id_of(grace)}')
    grace.get(f'/bucketlists/{trip["id"]}/activity', status=404)
    assert grace.get('/activity').json == []


def test_activity_across_lists_filters_by_kind_and_time_and_pages(user):
    first, (item,) = new_list(user, 'First', ['One'])
    second, _ = new_list(user, 'Second', ['Two'])
    user.patch_json(f'/bucketlists/{first["id"]}/items/{item["id"]}', {'done': True})
    every = user.get('/activity').json
    assert [entry['kind'] for entry in every] == ['item.completed', 'item.created', 'bucketlist.created',
                                                  'item.created', 'bucketlist.created']
    created = user.get('/activity', {'kind': 'item.created'}).json
    assert [entry['bucketlist_id'] for entry in created] == [second['id'], first['id']]
    page = user.get('/activity', {'limit': 2, 'page': 2})
    assert page.json == every[2:4] and page.headers['X-Total-Count'] == '5'
    assert user.get('/activity', {'since': every[1]['at']}).json == every[:2]
    assert user.get('/activity', {'until': every[3]['at']}).json == every[3:]
    assert user.get(f'/bucketlists/{first["id"]}/activity', {'kind': 'item.completed'}).json == every[:1]
    user.get('/activity', {'kind': 'item.exploded'}, status=400)
    user.get('/activity', {'since': 'yesterday'}, status=400)


def test_activity_past_activity_days_is_gone(user):
    trip, _ = new_list(user, 'Trip', ['Old'])
    with db.connection_context():
        for entry in Activity.select():
            Activity.update(at=entry.at - timedelta(days=settings.ACTIVITY_DAYS, seconds=1)).where(
                Activity.id == entry.id).execute()
    assert user.get(f'/bucketlists/{trip["id"]}/activity').json == []
    assert user.get('/activity').json == []


def test_completions_are_kept_through_unticks_and_deletes(user, grace):
    trip, (item, other) = new_list(user, 'Trip', ['Climb Fuji', 'Swim'])
    share(user, trip['id'], grace, 'grace@example.com')
    url = f'/bucketlists/{trip["id"]}/items/{item["id"]}'
    user.patch_json(url, {'done': True})
    user.patch_json(url, {'done': False})
    grace.patch_json(url, {'done': True})
    user.put_json(f'/bucketlists/{trip["id"]}/items/{other["id"]}', {'name': 'Swim', 'done': True})
    user.delete(url)
    completed = user.get('/items/completed').json  # newest first
    assert [(c['item_id'], c['name'], c['completed_by']) for c in completed] == [
        (other['id'], 'Swim', user_id_of(user)), (item['id'], 'Climb Fuji', user_id_of(grace)),
        (item['id'], 'Climb Fuji', user_id_of(user))]
    assert set(completed[0]) == {'item_id', 'bucketlist_id', 'name', 'completed_at', 'completed_by'}
    assert grace.get('/items/completed').json == completed
    assert user.get('/items/completed', {'since': completed[1]['completed_at']}).json == completed[:2]
    assert user.get('/items/completed', {'until': completed[2]['completed_at']}).json == completed[2:]
    page = user.get('/items/completed', {'limit': 1, 'page': 3})
    assert page.json == completed[2:] and page.headers['X-Total-Count'] == '3'
    assert register_and_login('eve@example.com').get('/items/completed').json == []


def test_a_recurring_item_s_every_tick_is_a_completion(user):
    trip, _ = new_list(user, 'Chores')
    item = new_item(user, trip['id'], 'Water the plants', due_date='2027-03-01', recurrence='FREQ=WEEKLY')
    for _ in range(3):
        user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'done': True})
    assert len(user.get('/items/completed').json) == 3
    assert kinds(user, f'/bucketlists/{trip["id"]}/activity')[:3] == ['item.completed'] * 3


def test_the_export_holds_activity_and_completions(user):
    trip, (item,) = new_list(user, 'Trip', ['One'])
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'done': True})
    exported = user.get('/users/me/export').json
    assert [entry['kind'] for entry in exported['activity']] == ['bucketlist.created', 'item.created',
                                                                'item.completed']
    assert [c['item_id'] for c in exported['completions']] == [item['id']]


# --- Every write route leaves one entry ----------------------------------------------------------

# What each write route records: the kind of its one entry, or why it records none. Derived from
# app.routes below, so that a new write route must say what it records.
NOT_A_LIST_CHANGE = 'changes no list'
RECORDS = {
    ('POST', '/bucketlists/'): 'bucketlist.created',
    ('PUT', '/bucketlists/<bucketlist_id:id>'): 'bucketlist.renamed',
    ('PATCH', '/bucketlists/<bucketlist_id:id>'): 'bucketlist.renamed',
    ('DELETE', '/bucketlists/<bucketlist_id:id>'): 'bucketlist.trashed',
    ('POST', '/bucketlists/<bucketlist_id:id>/items/'): 'item.created',
    ('PUT', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>'): 'item.updated',
    ('PATCH', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>'): 'item.updated',
    ('POST', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/move'): 'item.moved',
    ('DELETE', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>'): 'item.trashed',
    ('POST', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/'): 'step.created',
    ('PATCH', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/<step_id:id>'): 'step.updated',
    ('DELETE', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/<step_id:id>'): 'step.deleted',
    ('POST', '/bucketlists/<bucketlist_id:id>/members'): 'member.invited',
    ('PATCH', '/bucketlists/<bucketlist_id:id>/members/<user_id:id>'): 'member.changed',
    ('DELETE', '/bucketlists/<bucketlist_id:id>/members/<user_id:id>'): 'member.removed',
    ('POST', '/invitations/<invitation_id:id>/accept'): 'member.joined',
    ('POST', '/invitations/<invitation_id:id>/decline'): 'member.declined',
    ('POST', '/trash/bucketlists/<bucketlist_id:id>/restore'): 'bucketlist.restored',
    ('POST', '/trash/items/<item_id:id>/restore'): 'item.restored',
    ('DELETE', '/trash/items/<item_id:id>'): 'item.purged',
    ('DELETE', '/trash/bucketlists/<bucketlist_id:id>'): 'the list goes for good, its activity with it',
    ('POST', '/auth/register'): NOT_A_LIST_CHANGE, ('POST', '/auth/login'): NOT_A_LIST_CHANGE,
    ('POST', '/auth/refresh'): NOT_A_LIST_CHANGE, ('POST', '/auth/logout'): NOT_A_LIST_CHANGE,
    ('DELETE', '/auth/sessions/<session_id:id>'): NOT_A_LIST_CHANGE, ('PATCH', '/users/me'): NOT_A_LIST_CHANGE,
    ('DELETE', '/users/me'): 'the account goes, its lists and their activity with it',
    ('POST', '/users/me/password'): NOT_A_LIST_CHANGE, ('POST', '/users/me/tokens'): NOT_A_LIST_CHANGE,
    ('DELETE', '/users/me/tokens/<token_id:id>'): NOT_A_LIST_CHANGE,
    ('POST', '/users/me/calendar'): NOT_A_LIST_CHANGE,
    ('POST', '/labels'): NOT_A_LIST_CHANGE, ('PATCH', '/labels/<label_id:id>'): NOT_A_LIST_CHANGE,
    ('DELETE', '/labels/<label_id:id>'): 'labels are their account\'s alone: nobody else sees them on items',
    ('POST', '/sync'): 'what the route of each command records',
    **{(method, rule): NOT_A_LIST_CHANGE for method, rule in [
        ('POST', '/webhooks'), ('PATCH', '/webhooks/<webhook_id:id>'), ('DELETE', '/webhooks/<webhook_id:id>'),
        ('POST', '/webhooks/<webhook_id:id>/secret'), ('POST', '/webhooks/<webhook_id:id>/ping'),
        ('POST', '/webhooks/<webhook_id:id>/deliveries/<message_id:id>/redeliver')]},
}
WRITES = {(method, rule) for method, rule, _ in routes() if method in ('POST', 'PUT', 'PATCH', 'DELETE')}


def test_every_write_route_says_what_it_records():
    assert set(RECORDS) == WRITES


BODIES = {'/members': {'email': 'carol@example.com', 'role': 'viewer'}, '/move': {'position': 1},
          '/members/<user_id:id>': {'role': 'editor'}}


@pytest.mark.parametrize('method, rule', sorted(rule for rule, kind in RECORDS.items() if '.' in kind))
def test_every_write_to_a_list_leaves_exactly_one_entry(user, grace, method, rule):
    register_and_login('carol@example.com')
    trip, (item, _) = new_list(user, 'Trip', ['Pack', 'Go'])
    share(user, trip['id'], grace, 'grace@example.com', role='viewer')
    step = user.post_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}/steps/', {'name': 'Socks'}).json
    invitation = None
    if rule.startswith('/invitations/'):
        other, _ = new_list(grace, 'Grace\'s')
        grace.post_json(f'/bucketlists/{other["id"]}/members', {'email': 'alice@example.com', 'role': 'editor'})
        invitation = user.get('/invitations').json[0]['id']
    if rule.startswith('/trash/items'):
        user.delete(f'/bucketlists/{trip["id"]}/items/{item["id"]}')
    elif rule.startswith('/trash/bucketlists'):
        user.delete(f'/bucketlists/{trip["id"]}')
    with db.connection_context():
        before = Activity.select(fn.MAX(Activity.id)).scalar()
    path = example_path(rule, b=trip['id'], i=item['id'], u=user_id_of(grace), p=step['id'], n=invitation)
    body = next((body for end, body in BODIES.items() if rule.endswith(end)),
                None if method == 'DELETE' else {'name': 'New name'})
    user.request(path, method=method, content_type='application/json',
                 body=b'' if body is None else json.dumps(body).encode())
    with db.connection_context():
        added = [entry.kind for entry in Activity.select().where(Activity.id > before)]
    assert added == [RECORDS[(method, rule)]]


def test_long_notes_are_cut_in_the_activity_and_invitations_are_the_owner_s(user, grace):
    trip, (item,) = new_list(user, 'Trip', ['Pack'])
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'notes': 'n' * 5000})
    entry = user.get(f'/bucketlists/{trip["id"]}/activity').json[0]
    assert entry['changes']['notes'] == ['', 'n' * 1024 + '…']
    share(user, trip['id'], grace, 'grace@example.com', role='viewer')
    register_and_login('carol@example.com')
    user.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'carol@example.com', 'role': 'editor'})
    assert 'member.invited' in kinds(user, f'/bucketlists/{trip["id"]}/activity')
    seen = kinds(grace, f'/bucketlists/{trip["id"]}/activity') + kinds(grace, '/activity')
    assert 'member.joined' in seen and 'member.invited' not in seen  # (GET …/members shows her no invitations)
