"""An item's priority: 1 (highest) to 4, or none; set, changed, reset by PUT, sorted and filtered
by, and carried by sync and the export."""
import json

import pytest
from helpers import item_names, new_item, new_list


@pytest.fixture
def trip(user):
    return new_list(user, 'Japan trip')[0]


def test_an_item_has_a_priority_or_none(user, trip):
    base = f'/bucketlists/{trip["id"]}/items'
    urgent = new_item(user, trip['id'], 'Renew the passport', priority=1)
    assert urgent['priority'] == 1
    assert new_item(user, trip['id'], 'Learn some Japanese')['priority'] is None
    assert user.patch_json(f'{base}/{urgent["id"]}', {'priority': 3}).json['priority'] == 3
    renamed = user.patch_json(f'{base}/{urgent["id"]}', {'name': 'Renew both passports'}).json
    assert renamed['priority'] == 3  # a PATCH leaves out what it does not send
    assert user.put_json(f'{base}/{urgent["id"]}', {'name': 'Renew both passports'}).json['priority'] is None
    assert user.patch_json(f'{base}/{urgent["id"]}', {'priority': 4}).json['priority'] == 4
    assert user.patch_json(f'{base}/{urgent["id"]}', {'priority': None}).json['priority'] is None
    assert user.get(f'{base}/{urgent["id"]}').json['priority'] is None


def test_a_form_sends_a_priority_as_a_digit_or_empty(user, trip):
    base = f'/bucketlists/{trip["id"]}/items'
    item = user.post(f'{base}/', {'name': 'Pack', 'priority': '2'}, status=201).json
    assert item['priority'] == 2
    assert user.patch(f'{base}/{item["id"]}', {'priority': ''}).json['priority'] is None


@pytest.mark.parametrize('priority', [0, 5, -1, 1.5, True, '1', 'high', [1], {}])
def test_a_priority_is_a_whole_number_from_1_to_4(user, trip, priority):
    res = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'x', 'priority': priority}, status=400)
    assert res.json['type'] == '/problems/invalid-fields' and set(res.json['errors']) == {'priority'}


def test_items_sort_by_priority_with_none_last_and_filter_by_it(user, trip):
    for name, priority in [('someday', None), ('soon', 2), ('now', 1), ('later', 4), ('also soon', 2)]:
        new_item(user, trip['id'], name, priority=priority)
    assert item_names(user, trip['id'], '?sort=priority') == ['now', 'soon', 'also soon', 'later', 'someday']
    assert item_names(user, trip['id'], '?sort=-priority') == ['later', 'also soon', 'soon', 'now', 'someday']
    assert item_names(user, trip['id'], '?priority=2') == ['soon', 'also soon']
    assert item_names(user, trip['id'], '?priority=3') == []
    res = user.get(f'/bucketlists/{trip["id"]}/items/?priority=2&limit=1')
    assert res.headers['X-Total-Count'] == '2' and 'priority=2' in res.headers['Link']


@pytest.mark.parametrize('value', ['0', '5', 'high', '', '1.0'])
def test_a_bad_priority_filter_is_400_naming_it(user, trip, value):
    res = user.get(f'/bucketlists/{trip["id"]}/items/?priority={value}', status=400)
    assert 'priority' in res.json['detail']


def test_sync_and_the_export_carry_the_priority(user, trip):
    cursor = user.get('/sync').json['cursor']
    item = new_item(user, trip['id'], 'Renew the passport', priority=1)
    synced = user.get(f'/sync?cursor={cursor}').json['items']
    assert [(i['id'], i['priority']) for i in synced] == [(item['id'], 1)]
    export = json.loads(user.get('/users/me/export').body)
    (exported,) = [i for b in export['bucketlists'] for i in b['items'] if i['id'] == item['id']]
    assert exported['priority'] == 1


def test_the_document_describes_the_priority(client):
    document = client.get('/openapi.json').json
    schemas = document['components']['schemas']
    assert 'priority' in schemas['Item']['properties'] and 'priority' in schemas['ItemPatch']['properties']
    assert 'priority' in schemas['ItemSort']['enum'] and '-priority' in schemas['ItemSort']['enum']
    parameters = document['paths']['/bucketlists/{bucketlist_id}/items/']['get']['parameters']
    assert any(parameter.get('name') == 'priority' or parameter.get('$ref', '').endswith('Priority')
               for parameter in parameters)
