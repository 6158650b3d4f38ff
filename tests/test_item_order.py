"""The order of a bucketlist's items: new ones go last, moves within a list or to another keep
positions gapless, deletes close the gap, and racing moves and creates never share a position."""
import threading

import pytest
from helpers import ON_POSTGRESQL, item_names, new_list, positions_of, register_and_login


def test_new_items_go_last_and_lists_come_in_position_order(user):
    bucketlist, _ = new_list(user, items=['a', 'b', 'c'])
    assert item_names(user, bucketlist['id']) == ['a', 'b', 'c']
    assert [i['position'] for i in user.get(f'/bucketlists/{bucketlist["id"]}').json['items']] == [0, 1, 2]


def test_moving_an_item_closes_and_opens_the_gaps(user):
    bucketlist, (a, b, c, d) = new_list(user, items=['a', 'b', 'c', 'd'])
    base = f'/bucketlists/{bucketlist["id"]}/items'
    moved = user.post_json(f'{base}/{d["id"]}/move', {'position': 0}).json
    assert (moved['name'], moved['position']) == ('d', 0)
    assert item_names(user, bucketlist['id']) == ['d', 'a', 'b', 'c']
    user.post_json(f'{base}/{d["id"]}/move', {'position': 2})
    assert item_names(user, bucketlist['id']) == ['a', 'b', 'd', 'c']
    user.post_json(f'{base}/{a["id"]}/move', {})  # default: last
    assert item_names(user, bucketlist['id']) == ['b', 'd', 'c', 'a']
    user.post(f'{base}/{a["id"]}/move', {'position': '0'})  # a form
    assert item_names(user, bucketlist['id']) == ['a', 'b', 'd', 'c']
    user.post_json(f'{base}/{a["id"]}/move', {'position': 99})  # past the end: last
    assert item_names(user, bucketlist['id']) == ['b', 'd', 'c', 'a']
    assert positions_of(bucketlist['id']) == [0, 1, 2, 3]


def test_moving_an_item_to_another_bucketlist(user):
    trip, (a, b, c) = new_list(user, 'Trip', ['a', 'b', 'c'])
    home, (x,) = new_list(user, 'Home', ['x'])
    moved = user.post_json(f'/bucketlists/{trip["id"]}/items/{b["id"]}/move',
                           {'bucketlist_id': home['id'], 'position': 0}).json
    assert (moved['bucketlist_id'], moved['position']) == (home['id'], 0)
    assert item_names(user, trip['id']) == ['a', 'c'] and item_names(user, home['id']) == ['b', 'x']
    assert positions_of(trip['id']) == [0, 1] and positions_of(home['id']) == [0, 1]
    user.get(f'/bucketlists/{home["id"]}/items/{b["id"]}', status=200)
    user.get(f'/bucketlists/{trip["id"]}/items/{b["id"]}', status=404)


def test_moving_into_another_users_bucketlist_is_404(user, other_user):
    trip, (a,) = new_list(user, 'Trip', ['a'])
    theirs, _ = new_list(other_user, 'Theirs')
    user.post_json(f'/bucketlists/{trip["id"]}/items/{a["id"]}/move', {'bucketlist_id': theirs['id']}, status=404)
    other_user.post_json(f'/bucketlists/{trip["id"]}/items/{a["id"]}/move', {'position': 0}, status=404)
    assert item_names(user, trip['id']) == ['a'] and item_names(other_user, theirs['id']) == []


@pytest.mark.parametrize('body, field', [({'position': -1}, 'position'), ({'position': 'x'}, 'position'),
                                         ({'position': True}, 'position'), ({'bucketlist_id': 0}, 'bucketlist_id'),
                                         ({'bucketlist_id': 'a'}, 'bucketlist_id'), ({'name': 'x'}, 'name')])
def test_bad_moves_are_400(user, body, field):
    trip, (a,) = new_list(user, 'Trip', ['a'])
    res = user.post_json(f'/bucketlists/{trip["id"]}/items/{a["id"]}/move', body, status=400)
    assert field in res.json['errors']


def test_a_form_number_may_have_leading_zeros_but_not_too_many_digits(user):
    trip, (a, b) = new_list(user, 'Trip', ['a', 'b'])
    other, _ = new_list(user, 'Other')
    url = f'/bucketlists/{trip["id"]}/items/{a["id"]}/move'
    moved = user.post(url, {'bucketlist_id': f'{other["id"]:011d}', 'position': '0' * 10000}).json
    assert (moved['bucketlist_id'], moved['position']) == (other['id'], 0)
    res = user.post(f'/bucketlists/{other["id"]}/items/{a["id"]}/move', {'position': '1' * 11}, status=400)
    assert 'position' in res.json['errors']


def test_deleting_an_item_closes_the_gap(user):
    trip, (a, b, c) = new_list(user, 'Trip', ['a', 'b', 'c'])
    user.delete(f'/bucketlists/{trip["id"]}/items/{a["id"]}')
    assert [i['position'] for i in user.get(f'/bucketlists/{trip["id"]}/items/').json] == [0, 1]
    assert user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'd'}).json['position'] == 2


def test_racing_moves_and_creates_leave_positions_gapless():
    if not ON_POSTGRESQL:
        return  # SQLite runs one writer at a time: nothing races
    owner = register_and_login('racer@example.com')
    trip, items = new_list(owner, 'Race', [f'item {n}' for n in range(8)])
    base = f'/bucketlists/{trip["id"]}/items'
    failures = []

    def work(n):
        client = owner  # one account, eight requests at once
        for round_number in range(6):
            item = items[(n + round_number) % len(items)]
            res = client.post_json(f'{base}/{item["id"]}/move', {'position': (n * 3 + round_number) % 8},
                                   expect_errors=True)
            if res.status_int != 200:
                failures.append(res.status)
        created = client.post_json(f'{base}/', {'name': f'new {n}'}, expect_errors=True)
        if created.status_int != 201:
            failures.append(created.status)
    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert positions_of(trip['id']) == list(range(16))


def test_racing_creates_give_every_item_its_own_position():
    if not ON_POSTGRESQL:
        return  # SQLite runs one writer at a time: nothing races
    owner = register_and_login('racer@example.com')
    trip, _ = new_list(owner, 'Race', ['first'])
    statuses = []

    def work(n):
        for round_number in range(4):
            statuses.append(owner.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': f'new {n} {round_number}'},
                                            expect_errors=True).status_int)
    threads = [threading.Thread(target=work, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 48
    assert positions_of(trip['id']) == list(range(49))
