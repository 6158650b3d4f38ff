"""Labels: each account's own (name unique ignoring case, a colour), put on any item its holder can
see; on a shared list a member's labels are theirs alone. Items filter by label."""
import pytest
from helpers import accept_invitations, item_names, new_item, new_list, register_and_login

from models import ItemLabel


@pytest.fixture
def trip(user):
    return new_list(user, 'Japan trip')[0]


def new_label(client, name, **fields):
    return client.post_json('/labels', {'name': name, **fields}, status=201).json


def test_labels_are_created_listed_renamed_and_deleted(user):
    work = new_label(user, 'Work', colour='#FF8800')
    assert set(work) == {'id', 'name', 'colour', 'date_created', 'date_modified', 'version'}
    assert (work['name'], work['colour']) == ('Work', '#ff8800')
    home = new_label(user, 'Home')
    assert home['colour'] is None
    assert [label['name'] for label in user.get('/labels').json] == ['Home', 'Work']  # by name
    renamed = user.patch_json(f'/labels/{work["id"]}', {'name': 'Office', 'colour': None}).json
    assert (renamed['name'], renamed['colour']) == ('Office', None)
    assert user.delete(f'/labels/{work["id"]}').json == {'message': f'label {work["id"]} deleted successfully'}
    assert [label['name'] for label in user.get('/labels').json] == ['Home']
    user.delete(f'/labels/{work["id"]}', status=404)


def test_a_label_name_is_unique_per_account_ignoring_case(user):
    new_label(user, 'Straße')
    res = user.post_json('/labels', {'name': 'STRASSE'}, status=409)
    assert res.json['type'] == '/problems/label-name-taken'
    new_label(user, 'Caf\u00e9')
    user.post_json('/labels', {'name': 'cafe\u0301'}, status=409)  # (é written as e and a combining accent)
    other = new_label(user, 'Errands')
    user.patch_json(f'/labels/{other["id"]}', {'name': 'straße'}, status=409)
    grace = register_and_login('grace@example.com')
    assert new_label(grace, 'Straße')['name'] == 'Straße'  # another account's are its own


@pytest.mark.parametrize('body', [{'name': ''}, {'name': 'x' * 65}, {'name': 'Work', 'colour': 'orange'},
                                  {'name': 'Work', 'colour': '#ff880'}, {'name': 'Work', 'id': 3}, {}])
def test_bad_labels_are_400(user, body):
    user.post_json('/labels', body, status=400)


def test_another_account_s_label_is_404(user):
    label = new_label(user, 'Work')
    grace = register_and_login('grace@example.com')
    grace.get(f'/labels/{label["id"]}', status=404)
    grace.patch_json(f'/labels/{label["id"]}', {'name': 'Mine'}, status=404)
    grace.delete(f'/labels/{label["id"]}', status=404)
    assert grace.get('/labels').json == []


def test_items_carry_their_labels_and_filter_by_them(user, trip):
    work, home = new_label(user, 'Work'), new_label(user, 'Home')
    first = new_item(user, trip['id'], 'Book the flights', labels=[work['id'], home['id']])
    assert first['labels'] == sorted([work['id'], home['id']])
    second = new_item(user, trip['id'], 'Pack the bags')
    assert second['labels'] == []
    url = f'/bucketlists/{trip["id"]}/items/{second["id"]}'
    assert user.patch_json(url, {'labels': [home['id']]}).json['labels'] == [home['id']]
    assert item_names(user, trip['id'], f'?label={home["id"]}') == ['Book the flights', 'Pack the bags']
    assert item_names(user, trip['id'], f'?label={work["id"]}') == ['Book the flights']
    assert user.get(url).json['labels'] == [home['id']]
    embedded = user.get(f'/bucketlists/{trip["id"]}').json['items']
    assert [item['labels'] for item in embedded] == [sorted([work['id'], home['id']]), [home['id']]]
    # Deleting a label takes it off its items.
    user.delete(f'/labels/{home["id"]}')
    assert user.get(url).json['labels'] == []
    assert item_names(user, trip['id'], f'?label={home["id"]}') == []


def test_only_your_own_labels_go_on_an_item(user, trip):
    grace = register_and_login('grace@example.com')
    hers = new_label(grace, 'Hers')
    res = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'x', 'labels': [hers['id']]}, status=422)
    assert res.json['type'] == '/problems/unknown-label' and set(res.json['errors']) == {'labels'}
    item = new_item(user, trip['id'], 'y')
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'labels': [hers['id']]}, status=422)
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'labels': [2**31]}, status=400)


def test_labels_stay_private_on_a_shared_list(user, trip):
    grace, vera = register_and_login('grace@example.com'), register_and_login('vera@example.com')
    for email, role in (('grace@example.com', 'editor'), ('vera@example.com', 'viewer')):
        user.post_json(f'/bucketlists/{trip["id"]}/members', {'email': email, 'role': role})
    accept_invitations(grace), accept_invitations(vera)
    mine = new_label(user, 'Mine')
    item = new_item(user, trip['id'], 'Book the flights', labels=[mine['id']])
    url = f'/bucketlists/{trip["id"]}/items/{item["id"]}'
    assert grace.get(url).json['labels'] == []  # the owner's label is not hers to see
    # A viewer labels what she sees, with her own labels: nobody else sees them.
    veras = new_label(vera, 'To read')
    assert vera.patch_json(url, {'labels': [veras['id']]}).json['labels'] == [veras['id']]
    assert user.get(url).json['labels'] == [mine['id']]
    assert grace.get(url).json['labels'] == []
    assert item_names(vera, trip['id'], f'?label={veras["id"]}') == ['Book the flights']
    assert item_names(user, trip['id'], f'?label={veras["id"]}') == []
    # The viewer still writes nothing else, and her labels move no date_modified of the item.
    vera.patch_json(url, {'labels': [], 'done': True}, status=403)
    assert user.get(url).json['date_modified'] == item['date_modified']
    # An editor's PUT sets her labels and leaves the owner's.
    graces = new_label(grace, 'Grace')
    put = grace.put_json(url, {'name': 'Book the flights', 'labels': [graces['id']]}).json
    assert put['labels'] == [graces['id']] and user.get(url).json['labels'] == [mine['id']]
    assert ItemLabel.select().where(ItemLabel.item == item['id']).count() == 3


def test_a_stranger_cannot_label_an_item_they_cannot_see(user, trip):
    item = new_item(user, trip['id'], 'x')
    mallory = register_and_login('mallory@example.com')
    label = new_label(mallory, 'Peek')
    mallory.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'labels': [label['id']]}, status=404)
    assert ItemLabel.select().count() == 0


def test_sync_brings_labels_and_their_deletions(user, trip):
    work = new_label(user, 'Work')
    full = user.get('/sync').json
    assert [label['name'] for label in full['labels']] == ['Work']
    cursor = full['cursor']
    item = new_item(user, trip['id'], 'Book the flights')
    home = new_label(user, 'Home')
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'labels': [work['id']]})
    changed = user.get(f'/sync?cursor={cursor}').json
    assert [label['name'] for label in changed['labels']] == ['Home']
    assert [i['labels'] for i in changed['items']] == [[work['id']]]
    cursor = changed['cursor']
    user.delete(f'/labels/{work["id"]}')
    changed = user.get(f'/sync?cursor={cursor}').json
    assert changed['deleted']['labels'] == [work['id']] and changed['labels'] == []
    assert [i['labels'] for i in changed['items']] == [[]]  # the item, without it
    assert home['id'] not in changed['deleted']['labels']


def test_the_export_holds_the_labels(user, trip):
    work = new_label(user, 'Work')
    new_item(user, trip['id'], 'Book the flights', labels=[work['id']])
    export = user.get('/users/me/export').json
    assert [label['name'] for label in export['labels']] == ['Work']
    assert export['bucketlists'][0]['items'][0]['labels'] == [work['id']]


def test_an_account_holds_at_most_max_labels(user, monkeypatch):
    import settings
    monkeypatch.setattr(settings, 'MAX_LABELS_PER_USER', 2)
    new_label(user, 'a'), new_label(user, 'b')
    res = user.post_json('/labels', {'name': 'c'}, status=409)
    assert res.json['type'] == '/problems/quota-exceeded'


def test_a_form_sends_labels_as_ids_separated_by_commas(user, trip):
    a, b = new_label(user, 'a'), new_label(user, 'b')
    item = user.post(f'/bucketlists/{trip["id"]}/items/', {'name': 'x', 'labels': f'{a["id"]},{b["id"]}'},
                     status=201).json
    assert item['labels'] == [a['id'], b['id']]
    cleared = user.patch(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'labels': ''}).json
    assert cleared['labels'] == []


@pytest.mark.parametrize('body', [b'not json', b'[1]', b'"labels"'])
def test_a_body_that_is_no_object_is_refused_after_404_and_403(user, trip, body):
    item = new_item(user, trip['id'], 'x')
    vera = register_and_login('vera@example.com')
    url = f'/bucketlists/{trip["id"]}/items/{item["id"]}'
    vera.request(url, method='PATCH', body=body, content_type='application/json', status=404)
    user.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'vera@example.com', 'role': 'viewer'})
    accept_invitations(vera)
    vera.request(url, method='PATCH', body=body, content_type='application/json', status=403)

