"""Lists sorted by any listed field and items filtered by due date, with the query parameters kept
in the page links; a parameter a route does not know, or a bad value, is 400 naming it."""
import pytest
from helpers import item_names, new_list


def test_bucketlists_sort_by_any_listed_field(user):
    for name in ('b', 'c', 'a'):
        new_list(user, name)
    listed = lambda query: [b['name'] for b in user.get(f'/bucketlists/{query}').json]  # noqa: E731
    assert listed('') == listed('?sort=id') == ['b', 'c', 'a']
    assert listed('?sort=name') == ['a', 'b', 'c']
    assert listed('?sort=-name') == ['c', 'b', 'a']
    assert listed('?sort=-date_created') == ['a', 'c', 'b']
    user.patch_json(f'/bucketlists/{user.get("/bucketlists/?sort=name").json[1]["id"]}', {'description': 'touched'})
    assert listed('?sort=-date_modified')[0] == 'b'
    res = user.get('/bucketlists/?sort=name&limit=2&q=')
    assert 'sort=name' in res.headers['Link'] and res.headers['X-Total-Count'] == '3'


def test_items_sort_with_nulls_last_either_way(user):
    trip, (a, b, c) = new_list(user, 'Trip', ['a', 'b', 'c'])
    base = f'/bucketlists/{trip["id"]}/items'
    user.patch_json(f'{base}/{a["id"]}', {'due_date': '2027-05-01'})
    user.patch_json(f'{base}/{c["id"]}', {'due_date': '2027-01-01', 'done': True})
    assert item_names(user, trip['id'], '?sort=due_date') == ['c', 'a', 'b']
    assert item_names(user, trip['id'], '?sort=-due_date') == ['a', 'c', 'b']
    assert item_names(user, trip['id'], '?sort=done_at')[0] == 'c'
    assert item_names(user, trip['id'], '?sort=-done_at')[0] == 'c'
    assert item_names(user, trip['id'], '?sort=-name') == ['c', 'b', 'a']
    assert item_names(user, trip['id'], '?sort=-position') == ['c', 'b', 'a']


def test_items_filter_by_due_dates_inclusive(user):
    trip, (a, b, c) = new_list(user, 'Trip', ['a', 'b', 'c'])
    base = f'/bucketlists/{trip["id"]}/items'
    user.patch_json(f'{base}/{a["id"]}', {'due_date': '2027-01-01'})
    user.patch_json(f'{base}/{b["id"]}', {'due_date': '2027-06-30', 'done': True})
    assert item_names(user, trip['id'], '?due_before=2027-01-01') == ['a']
    assert item_names(user, trip['id'], '?due_after=2027-01-01') == ['a', 'b']
    assert item_names(user, trip['id'], '?due_after=2027-01-02&due_before=2027-12-31') == ['b']
    assert item_names(user, trip['id'], '?due_after=2027-01-01&done=false') == ['a']
    res = user.get(f'{base}/?due_after=2027-01-01&sort=-due_date&limit=1')
    assert [i['name'] for i in res.json] == ['b'] and res.headers['X-Total-Count'] == '2'
    assert 'due_after=2027-01-01' in res.headers['Link']


@pytest.mark.parametrize('url, parameter', [('/bucketlists/?sort=owner_id', 'sort'),
                                            ('/bucketlists/?sort=due_date', 'sort'),
                                            ('/bucketlists/?sort=--name', 'sort'), ('/bucketlists/?sort=', 'sort'),
                                            ('/bucketlists/{b}/items/?sort=description', 'sort'),
                                            ('/bucketlists/{b}/items/?due_before=soon', 'due_before'),
                                            ('/bucketlists/{b}/items/?due_after=2027-13-01', 'due_after')])
def test_bad_sorts_and_filters_are_400_naming_the_parameter(user, url, parameter):
    trip, _ = new_list(user)
    res = user.get(url.format(b=trip['id']), status=400)
    assert parameter in res.json['detail']


@pytest.mark.parametrize('path', ['/bucketlists/?order=name', '/bucketlists/?page=1&q=x&extra=1',
                                  '/bucketlists/1?verbose=1', '/health?x=1'])
def test_unknown_query_parameters_are_400_naming_them(user, path):
    new_list(user)
    res = user.get(path, status=400)
    parameter = path.rsplit('&', 1)[-1].split('?')[-1].split('=')[0]
    assert parameter in res.json['errors']
