"""ETags and conditional requests: If-None-Match saves a download, If-Match stops a lost update."""
import json

import pytest
from helpers import new_item, new_list

from models import Bucketlist, Item


@pytest.fixture
def trip(user):
    return new_list(user, 'Trip')[0]


def test_get_sends_an_etag_and_if_none_match_gives_304(user, trip):
    url = f'/bucketlists/{trip["id"]}'
    first = user.get(url)
    assert first.headers['ETag'].startswith('"')
    not_modified = user.get(url, headers={'If-None-Match': first.headers['ETag']}, status=304)
    assert not_modified.body == b'' and not_modified.headers['ETag'] == first.headers['ETag']
    user.get(url, headers={'If-None-Match': '"something else"'}, status=200)


def test_lists_have_etags_that_change_with_content(user, trip):
    before = user.get('/bucketlists/').headers['ETag']
    user.get('/bucketlists/', headers={'If-None-Match': before}, status=304)
    new_list(user)
    assert user.get('/bucketlists/', headers={'If-None-Match': before}, status=200).headers['ETag'] != before


def test_adding_an_item_changes_the_bucketlists_etag(user, trip):
    url = f'/bucketlists/{trip["id"]}'
    etag = user.get(url).headers['ETag']
    new_item(user, trip['id'])
    user.get(url, headers={'If-None-Match': etag}, status=200)


@pytest.mark.parametrize('method', ['PUT', 'PATCH', 'DELETE'])
def test_stale_if_match_is_412_and_changes_nothing(user, trip, method):
    url = f'/bucketlists/{trip["id"]}'
    stale = user.get(url).headers['ETag']
    user.patch_json(url, {'name': 'Renamed by another tab'})
    body = json.dumps({'name': 'Lost update'}).encode() if method != 'DELETE' else b''
    res = user.request(url, method=method, body=body, content_type='application/json',
                       headers={'If-Match': stale}, status=412)
    assert res.content_type == 'application/problem+json'
    assert Bucketlist.get_by_id(trip['id']).name == 'Renamed by another tab'


def test_current_if_match_is_accepted_and_the_new_etag_returned(user, trip):
    url = f'/bucketlists/{trip["id"]}'
    etag = user.get(url).headers['ETag']
    res = user.put_json(url, {'name': 'New name'}, headers={'If-Match': etag}, status=200)
    assert res.headers['ETag'] != etag
    assert user.get(url).headers['ETag'] == res.headers['ETag']
    user.delete(url, headers={'If-Match': res.headers['ETag']}, status=200)


def test_item_if_match(user, trip):
    item = new_item(user, trip['id'], 'Pack')
    url = f'/bucketlists/{trip["id"]}/items/{item["id"]}'
    etag = user.get(url).headers['ETag']
    user.patch_json(url, {'done': True}, headers={'If-Match': etag}, status=200)
    user.patch_json(url, {'done': False}, headers={'If-Match': etag}, status=412)
    user.delete(url, headers={'If-Match': etag}, status=412)
    assert Item.get_by_id(item['id']).done is True
    user.delete(url, headers={'If-Match': '*'}, status=200)
