"""Another user's bucketlists and items are 404 on every route and method: existence never leaks."""
import json

import pytest
from helpers import new_list, path_template, routes

from models import Bucketlist, Item, Step

# Every route that names a bucketlist, with a body that would change something.
ROUTES = [(method, path_template(rule),
           {'name': 'Stolen'} if method in ('POST', 'PUT', 'PATCH') else None)
          for method, rule, _ in routes() if '<bucketlist_id' in rule]


@pytest.fixture
def alices_data(user):
    bucketlist, (item,) = new_list(user, 'Private', ['Secret'])
    user.post_json(f'/bucketlists/{bucketlist["id"]}/items/{item["id"]}/steps/', {'name': 'Hidden'})
    return bucketlist['id'], item['id']


def send(client, method, url, body):
    payload = json.dumps(body).encode() if body is not None else b''
    return client.request(url, method=method, body=payload, content_type='application/json', expect_errors=True)


@pytest.mark.parametrize('method, path, body', ROUTES)
def test_other_users_cannot_touch_alices_data(other_user, alices_data, method, path, body):
    bucketlist_id, item_id = alices_data
    res = send(other_user, method, path.format(b=bucketlist_id, i=item_id, u=1, n=1, p=1), body)
    missing = send(other_user, method, path.format(b=9999, i=9999, u=1, n=9999, p=9999), body)
    # Somebody else's row gets the answer no row at all gets.
    assert res.status_int == missing.status_int == 404
    assert res.json['title'] == missing.json['title']
    assert Bucketlist.get_by_id(bucketlist_id).name == 'Private'
    item = Item.get_by_id(item_id)
    assert (item.name, item.done) == ('Secret', False)
    assert Item.select().count() == 1
    assert [(step.id, step.name) for step in Step.select()] == [(1, 'Hidden')]


def test_lists_show_only_your_own(user, other_user, alices_data):
    assert other_user.get('/bucketlists/').json == []
    assert other_user.get('/bucketlists/?q=Private').json == []
    assert other_user.get('/bucketlists/').headers['X-Total-Count'] == '0'
    assert len(user.get('/bucketlists/').json) == 1
