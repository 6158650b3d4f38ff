"""Items people plan with: descriptions and notes, due dates, when each was done, an order of
their own that moves keep gapless, and lists sorted and filtered."""
import threading

import pytest
from helpers import ON_POSTGRESQL, register_and_login

import settings as app_settings
from models import Item, db


def new_list(user, name='Trip', items=()):
    bucketlist = user.post_json('/bucketlists/', {'name': name}).json
    made = [user.post_json(f'/bucketlists/{bucketlist["id"]}/items/', {'name': item}).json for item in items]
    return bucketlist, made


def names(user, bucketlist_id, query=''):
    return [item['name'] for item in user.get(f'/bucketlists/{bucketlist_id}/items/{query}').json]


def positions_of(bucketlist_id):
    with db.connection_context():
        return sorted(item.position for item in Item.select().where(Item.bucketlist == bucketlist_id))


# --- Fields --------------------------------------------------------------------------------------

def test_a_bucketlist_has_a_description(user):
    created = user.post_json('/bucketlists/', {'name': 'Trip', 'description': 'By my 40th birthday'}).json
    assert created['description'] == 'By my 40th birthday'
    assert user.post_json('/bucketlists/', {'name': 'Bare'}).json['description'] == ''
    renamed = user.patch_json(f'/bucketlists/{created["id"]}', {'description': 'Sooner'}).json
    assert (renamed['name'], renamed['description']) == ('Trip', 'Sooner')
    assert user.get(f'/bucketlists/{created["id"]}').json['description'] == 'Sooner'
    assert user.get('/bucketlists/').json[0]['description'] == 'Sooner'


def test_descriptions_and_notes_are_bounded_text(user):
    bucketlist, _ = new_list(user)
    user.post_json('/bucketlists/', {'name': 'Long', 'description': 'x' * 8193}, status=400)
    user.post_json('/bucketlists/', {'name': 'Nul', 'description': 'a\x00b'}, status=400)
    user.post_json('/bucketlists/', {'name': 'Max', 'description': 'x' * 8192}, status=201)
    user.post_json(f'/bucketlists/{bucketlist["id"]}/items/', {'name': 'n', 'notes': 'x' * 8193}, status=400)
    user.post_json(f'/bucketlists/{bucketlist["id"]}/items/', {'name': 'n', 'notes': 7}, status=400)


def test_an_item_has_notes_a_due_date_and_a_position(user):
    bucketlist, _ = new_list(user)
    item = user.post_json(f'/bucketlists/{bucketlist["id"]}/items/',
                          {'name': 'Book the flights', 'notes': 'Window seat', 'due_date': '2027-03-01'}).json
    assert (item['notes'], item['due_date'], item['done_at'], item['position']) == \
        ('Window seat', '2027-03-01', None, 0)
    bare = user.post(f'/bucketlists/{bucketlist["id"]}/items/', {'name': 'Pack'}).json  # a form, too
    assert (bare['notes'], bare['due_date'], bare['position']) == ('', None, 1)
    cleared = user.patch_json(f'/bucketlists/{bucketlist["id"]}/items/{item["id"]}', {'due_date': None}).json
    assert cleared['due_date'] is None


@pytest.mark.parametrize('due_date', ['2027-02-30', '27-03-01', '2027-3-1', 'tomorrow', 20270301, '2027-03-01T00:00',
                                      '٢٠٢٧-٠٣-٠١'])
def test_a_due_date_must_be_a_calendar_date(user, due_date):
    bucketlist, _ = new_list(user)
    res = user.post_json(f'/bucketlists/{bucketlist["id"]}/items/', {'name': 'x', 'due_date': due_date}, status=400)
    assert 'due_date' in res.json['errors']


def test_done_at_is_when_the_item_was_last_done(user):
    bucketlist, (item,) = new_list(user, items=['Skydive'])
    url = f'/bucketlists/{bucketlist["id"]}/items/{item["id"]}'
    done = user.patch_json(url, {'done': True}).json
    assert done['done_at'] is not None and done['done_at'].endswith('Z')
    assert user.patch_json(url, {'name': 'Skydive twice'}).json['done_at'] == done['done_at']
    assert user.patch_json(url, {'done': True}).json['done_at'] == done['done_at']  # already done
    assert user.patch_json(url, {'done': False}).json['done_at'] is None
    created_done = user.post_json(f'/bucketlists/{bucketlist["id"]}/items/', {'name': 'Born', 'done': True}).json
    assert created_done['done_at'] is not None


@pytest.mark.parametrize('field', ['position', 'done_at'])
def test_position_and_done_at_are_read_only(user, field):
    bucketlist, (item,) = new_list(user, items=['Skydive'])
    res = user.patch_json(f'/bucketlists/{bucketlist["id"]}/items/{item["id"]}', {field: 3}, status=400)
    assert res.json['errors'][field] == 'This field is read-only.'


# --- Order and moves -----------------------------------------------------------------------------

def test_new_items_go_last_and_lists_come_in_position_order(user):
    bucketlist, _ = new_list(user, items=['a', 'b', 'c'])
    assert names(user, bucketlist['id']) == ['a', 'b', 'c']
    assert [i['position'] for i in user.get(f'/bucketlists/{bucketlist["id"]}').json['items']] == [0, 1, 2]


def test_moving_an_item_closes_and_opens_the_gaps(user):
    bucketlist, (a, b, c, d) = new_list(user, items=['a', 'b', 'c', 'd'])
    base = f'/bucketlists/{bucketlist["id"]}/items'
    moved = user.post_json(f'{base}/{d["id"]}/move', {'position': 0}).json
    assert (moved['name'], moved['position']) == ('d', 0)
    assert names(user, bucketlist['id']) == ['d', 'a', 'b', 'c']
    user.post_json(f'{base}/{d["id"]}/move', {'position': 2})
    assert names(user, bucketlist['id']) == ['a', 'b', 'd', 'c']
    user.post_json(f'{base}/{a["id"]}/move', {})  # default: last
    assert names(user, bucketlist['id']) == ['b', 'd', 'c', 'a']
    user.post(f'{base}/{a["id"]}/move', {'position': '0'})  # a form
    assert names(user, bucketlist['id']) == ['a', 'b', 'd', 'c']
    user.post_json(f'{base}/{a["id"]}/move', {'position': 99})  # past the end: last
    assert names(user, bucketlist['id']) == ['b', 'd', 'c', 'a']
    assert positions_of(bucketlist['id']) == [0, 1, 2, 3]


def test_moving_an_item_to_another_bucketlist(user):
    trip, (a, b, c) = new_list(user, 'Trip', ['a', 'b', 'c'])
    home, (x,) = new_list(user, 'Home', ['x'])
    moved = user.post_json(f'/bucketlists/{trip["id"]}/items/{b["id"]}/move',
                           {'bucketlist_id': home['id'], 'position': 0}).json
    assert (moved['bucketlist_id'], moved['position']) == (home['id'], 0)
    assert names(user, trip['id']) == ['a', 'c'] and names(user, home['id']) == ['b', 'x']
    assert positions_of(trip['id']) == [0, 1] and positions_of(home['id']) == [0, 1]
    user.get(f'/bucketlists/{home["id"]}/items/{b["id"]}', status=200)
    user.get(f'/bucketlists/{trip["id"]}/items/{b["id"]}', status=404)


def test_moving_into_another_users_bucketlist_is_404(user, other_user):
    trip, (a,) = new_list(user, 'Trip', ['a'])
    theirs, _ = new_list(other_user, 'Theirs')
    user.post_json(f'/bucketlists/{trip["id"]}/items/{a["id"]}/move', {'bucketlist_id': theirs['id']}, status=404)
    other_user.post_json(f'/bucketlists/{trip["id"]}/items/{a["id"]}/move', {'position': 0}, status=404)
    assert names(user, trip['id']) == ['a'] and names(other_user, theirs['id']) == []


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


def test_racing_creates_past_the_quota_add_exactly_up_to_it(monkeypatch):
    if not ON_POSTGRESQL:
        return  # SQLite runs one writer at a time: nothing races
    monkeypatch.setattr(app_settings, 'MAX_ITEMS_PER_BUCKETLIST', 5)
    owner = register_and_login('racer@example.com')
    trip, _ = new_list(owner, 'Race', ['first'])
    statuses = []
    threads = [threading.Thread(target=lambda: statuses.append(owner.post_json(
        f'/bucketlists/{trip["id"]}/items/', {'name': 'more'}, expect_errors=True).status_int)) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 4 + [409] * 8
    assert positions_of(trip['id']) == list(range(5))


# --- Sorting and filters -------------------------------------------------------------------------

def test_bucketlists_sort_by_any_listed_field(user):
    for name in ('b', 'c', 'a'):
        user.post_json('/bucketlists/', {'name': name})
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
    assert names(user, trip['id'], '?sort=due_date') == ['c', 'a', 'b']
    assert names(user, trip['id'], '?sort=-due_date') == ['a', 'c', 'b']
    assert names(user, trip['id'], '?sort=done_at')[0] == 'c'
    assert names(user, trip['id'], '?sort=-done_at')[0] == 'c'
    assert names(user, trip['id'], '?sort=-name') == ['c', 'b', 'a']
    assert names(user, trip['id'], '?sort=-position') == ['c', 'b', 'a']


def test_items_filter_by_due_dates_inclusive(user):
    trip, (a, b, c) = new_list(user, 'Trip', ['a', 'b', 'c'])
    base = f'/bucketlists/{trip["id"]}/items'
    user.patch_json(f'{base}/{a["id"]}', {'due_date': '2027-01-01'})
    user.patch_json(f'{base}/{b["id"]}', {'due_date': '2027-06-30', 'done': True})
    assert names(user, trip['id'], '?due_before=2027-01-01') == ['a']
    assert names(user, trip['id'], '?due_after=2027-01-01') == ['a', 'b']
    assert names(user, trip['id'], '?due_after=2027-01-02&due_before=2027-12-31') == ['b']
    assert names(user, trip['id'], '?due_after=2027-01-01&done=false') == ['a']
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
