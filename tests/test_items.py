"""Items: the goals inside a bucketlist, ticked off one by one."""
import pytest
from helpers import set_back_an_hour

from models import Item


@pytest.fixture
def trip(user):
    return user.post_json('/bucketlists/', {'name': 'Japan trip'}, status=201).json


def test_item_creation(user, trip):
    res = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'See Mount Fuji'}, status=201)
    assert set(res.json) == {'id', 'name', 'done', 'bucketlist_id', 'date_created', 'date_modified', 'notes',
                             'due_date', 'done_at', 'position', 'created_by'}
    assert res.json['done'] is False and res.json['bucketlist_id'] == trip['id']


def test_item_creation_from_a_form_with_done(user, trip):
    res = user.post(f'/bucketlists/{trip["id"]}/items/', {'name': 'Eat ramen', 'done': 'true'}, status=201)
    assert res.json['done'] is True


def test_items_are_listed_and_embedded_in_their_bucketlist(user, trip):
    for name in ('One', 'Two'):
        user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': name}, status=201)
    listed = user.get(f'/bucketlists/{trip["id"]}/items/').json
    assert [item['name'] for item in listed] == ['One', 'Two']
    assert user.get(f'/bucketlists/{trip["id"]}').json['items'] == listed


def test_item_get_put_patch_delete(user, trip):
    url = f'/bucketlists/{trip["id"]}/items/'
    item = user.post_json(url, {'name': 'Visit Kyoto', 'done': True}).json
    item_url = f'{url}{item["id"]}'
    assert user.get(item_url).json == item
    item = set_back_an_hour(Item, item['id'], user, item_url)
    patched = user.patch_json(item_url, {'done': False}).json
    assert patched['name'] == 'Visit Kyoto' and patched['done'] is False
    assert patched['date_modified'] > item['date_modified']
    replaced = user.put_json(item_url, {'name': 'Visit Nara'}).json
    assert replaced == {**replaced, 'name': 'Visit Nara', 'done': False}
    assert user.delete(item_url).json == {'message': f'item {item["id"]} deleted successfully'}
    user.get(item_url, status=404)
    assert Item.select().count() == 0


@pytest.mark.parametrize('done', ['yes', 'true', 1, 0, None, 'false'])
def test_done_must_be_a_real_boolean_in_json(user, trip, done):
    res = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'x', 'done': done}, status=400)
    assert 'done' in res.json['errors']


@pytest.mark.parametrize('form_value, expected', [('true', True), ('false', False), ('1', True), ('0', False)])
def test_done_form_values(user, trip, form_value, expected):
    res = user.post(f'/bucketlists/{trip["id"]}/items/', {'name': 'x', 'done': form_value}, status=201)
    assert res.json['done'] is expected


def test_done_form_value_that_is_not_boolean_is_400(user, trip):
    user.post(f'/bucketlists/{trip["id"]}/items/', {'name': 'x', 'done': 'maybe'}, status=400)


def test_body_cannot_move_an_item_to_another_bucketlist(user, trip):
    other = user.post_json('/bucketlists/', {'name': 'Other'}).json
    item = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Stay'}).json
    res = user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}',
                          {'bucketlist_id': other['id']}, status=400)
    assert 'bucketlist_id' in res.json['errors']
    assert Item.get_by_id(item['id']).bucketlist_id == trip['id']


def test_item_is_404_under_the_wrong_bucketlist(user, trip):
    other = user.post_json('/bucketlists/', {'name': 'Other'}).json
    item = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Stay'}).json
    user.get(f'/bucketlists/{other["id"]}/items/{item["id"]}', status=404)


def test_items_in_a_missing_bucketlist_are_404(user):
    user.get('/bucketlists/7/items/', status=404)
    user.post_json('/bucketlists/7/items/', {'name': 'x'}, status=404)
