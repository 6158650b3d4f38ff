"""Steps: an item's ordered checklist (name, done, position), created, renamed, ticked, moved and
deleted under the items' role rules, embedded in GET one item, carried by sync and the export."""
import pytest
from helpers import accept_invitations, new_item, new_list, register_and_login, user_id_of

from models import Step


@pytest.fixture
def item(user):
    trip = new_list(user, 'Trip')[0]
    return new_item(user, trip['id'], 'Pack the bags')


def steps_url(item, step_id=None):
    url = f'/bucketlists/{item["bucketlist_id"]}/items/{item["id"]}/steps/'
    return url if step_id is None else f'{url}{step_id}'


def add(client, item, name, **fields):
    return client.post_json(steps_url(item), {'name': name, **fields}, status=201).json


def names(client, item):
    return [step['name'] for step in client.get(steps_url(item)).json]


def test_steps_are_added_in_order_and_shown_with_their_item(user, item):
    socks = add(user, item, 'Socks')
    assert set(socks) == {'id', 'item_id', 'name', 'done', 'position', 'date_created', 'date_modified', 'version'}
    assert (socks['item_id'], socks['done'], socks['position']) == (item['id'], False, 0)
    add(user, item, 'Passport', done=True)
    assert names(user, item) == ['Socks', 'Passport']
    shown = user.get(f'/bucketlists/{item["bucketlist_id"]}/items/{item["id"]}').json
    assert [(step['name'], step['done']) for step in shown['steps']] == [('Socks', False), ('Passport', True)]
    # Lists of items do not carry them.
    assert 'steps' not in user.get(f'/bucketlists/{item["bucketlist_id"]}/items/').json[0]


def test_a_step_is_renamed_ticked_moved_and_deleted(user, item):
    a, b, c = (add(user, item, name) for name in 'abc')
    assert user.patch_json(steps_url(item, b['id']), {'name': 'B', 'done': True}).json['done'] is True
    moved = user.patch_json(steps_url(item, c['id']), {'position': 0}).json
    assert moved['position'] == 0 and names(user, item) == ['c', 'a', 'B']
    user.patch_json(steps_url(item, c['id']), {'position': 99})  # past the end: last
    assert names(user, item) == ['a', 'B', 'c']
    assert user.delete(steps_url(item, a['id'])).json == {'message': f'step {a["id"]} deleted successfully'}
    assert [(s['name'], s['position']) for s in user.get(steps_url(item)).json] == [('B', 0), ('c', 1)]
    user.get(steps_url(item, a['id']), status=404)


def test_a_step_can_be_added_at_a_position(user, item):
    add(user, item, 'a'), add(user, item, 'c')
    add(user, item, 'b', position=1)
    assert names(user, item) == ['a', 'b', 'c']


def test_roles_apply_as_for_items(user, item):
    grace, vera = register_and_login('grace@example.com'), register_and_login('vera@example.com')
    for email, role in (('grace@example.com', 'editor'), ('vera@example.com', 'viewer')):
        user.post_json(f'/bucketlists/{item["bucketlist_id"]}/members', {'email': email, 'role': role})
    accept_invitations(grace), accept_invitations(vera)
    step = add(grace, item, 'By the editor')
    assert grace.patch_json(steps_url(item, step['id']), {'done': True}).json['done'] is True
    assert names(vera, item) == ['By the editor']
    res = vera.post_json(steps_url(item), {'name': 'By the viewer'}, status=403)
    assert res.json['type'] == '/problems/viewer'
    vera.patch_json(steps_url(item, step['id']), {'done': False}, status=403)
    vera.delete(steps_url(item, step['id']), status=403)
    mallory = register_and_login('mallory@example.com')
    mallory.get(steps_url(item), status=404)
    mallory.post_json(steps_url(item), {'name': 'x'}, status=404)
    mallory.patch_json(steps_url(item, step['id']), {'done': False}, status=404)


def test_a_step_of_another_item_is_404(user, item):
    other = new_item(user, item['bucketlist_id'], 'Other')
    step = add(user, item, 'Socks')
    user.patch_json(steps_url(other, step['id']), {'name': 'x'}, status=404)
    user.delete(steps_url(other, step['id']), status=404)


@pytest.mark.parametrize('body', [{}, {'name': ''}, {'name': 'x', 'item_id': 2}, {'name': 'x', 'done': 'maybe'},
                                  {'name': 'x', 'position': -1}])
def test_bad_steps_are_400(user, item, body):
    user.post_json(steps_url(item), body, status=400)


def test_an_item_holds_at_most_max_steps(user, item, monkeypatch):
    import settings
    monkeypatch.setattr(settings, 'MAX_STEPS_PER_ITEM', 2)
    add(user, item, 'a'), add(user, item, 'b')
    res = user.post_json(steps_url(item), {'name': 'c'}, status=409)
    assert res.json['type'] == '/problems/quota-exceeded'


def test_deleting_the_item_deletes_its_steps(user, item):
    add(user, item, 'a')
    user.delete(f'/bucketlists/{item["bucketlist_id"]}/items/{item["id"]}')
    assert Step.select().count() == 0


def test_sync_brings_steps_and_their_deletions(user, item):
    first = add(user, item, 'a')
    full = user.get('/sync').json
    assert [step['name'] for step in full['steps']] == ['a']
    cursor = full['cursor']
    second = add(user, item, 'b')
    user.delete(steps_url(item, first['id']))
    changed = user.get(f'/sync?cursor={cursor}').json
    assert [step['id'] for step in changed['steps']] == [second['id']]  # (moved up to position 0)
    assert changed['steps'][0]['position'] == 0 and changed['deleted']['steps'] == [first['id']]


def test_an_item_moved_to_another_list_brings_its_steps_in_the_same_sync(user, item):
    other = new_list(user, 'Other')[0]
    add(user, item, 'a')
    cursor = user.get('/sync').json['cursor']
    user.post_json(f'/bucketlists/{item["bucketlist_id"]}/items/{item["id"]}/move', {'bucketlist_id': other['id']})
    changed = user.get(f'/sync?cursor={cursor}').json
    # The item's tombstone first (a client drops it with its steps), then the item and its steps again.
    assert changed['deleted']['items'] == [item['id']] and [i['id'] for i in changed['items']] == [item['id']]
    assert [step['name'] for step in changed['steps']] == ['a']


def test_a_new_member_s_sync_brings_the_steps(user, item):
    add(user, item, 'a')
    grace = register_and_login('grace@example.com')
    cursor = grace.get('/sync').json['cursor']
    user.post_json(f'/bucketlists/{item["bucketlist_id"]}/members', {'email': 'grace@example.com', 'role': 'viewer'})
    accept_invitations(grace)
    assert [step['name'] for step in grace.get(f'/sync?cursor={cursor}').json['steps']] == ['a']


def test_the_export_holds_the_steps(user, item):
    add(user, item, 'a')
    export = user.get('/users/me/export').json
    assert [(step['item_id'], step['name']) for step in export['steps']] == [(item['id'], 'a')]


def test_a_removed_editor_cannot_replay_a_step_s_idempotency_key(user, item):
    grace = register_and_login('grace@example.com')
    user.post_json(f'/bucketlists/{item["bucketlist_id"]}/members', {'email': 'grace@example.com', 'role': 'editor'})
    accept_invitations(grace)
    key = {'Idempotency-Key': 'step-1'}
    grace.post_json(steps_url(item), {'name': 'Socks'}, headers=key, status=201)
    user.delete(f'/bucketlists/{item["bucketlist_id"]}/members/{user_id_of(grace)}')
    grace.post_json(steps_url(item), {'name': 'Socks'}, headers=key, status=404)

