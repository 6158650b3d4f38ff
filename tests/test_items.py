"""Items: the goals inside a bucketlist, ticked off one by one, with notes, a due date and when
each was done."""
import threading

import pytest
from helpers import new_item, new_list, set_back_an_hour
from playhouse.pool import PooledDatabase

from models import Item, db


@pytest.fixture
def trip(user):
    return new_list(user, 'Japan trip')[0]


def test_item_creation(user, trip):
    res = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'See Mount Fuji'}, status=201)
    assert set(res.json) == {'id', 'name', 'done', 'bucketlist_id', 'date_created', 'date_modified', 'notes',
                             'due_date', 'done_at', 'position', 'created_by', 'priority', 'due_time', 'time_zone',
                             'due_at', 'recurrence', 'last_completed_at', 'version', 'labels'}
    assert res.json['done'] is False and res.json['bucketlist_id'] == trip['id']


def test_item_creation_from_a_form_with_done(user, trip):
    res = user.post(f'/bucketlists/{trip["id"]}/items/', {'name': 'Eat ramen', 'done': 'true'}, status=201)
    assert res.json['done'] is True


def test_items_are_listed_and_embedded_in_their_bucketlist(user, trip):
    for name in ('One', 'Two'):
        new_item(user, trip['id'], name)
    listed = user.get(f'/bucketlists/{trip["id"]}/items/').json
    assert [item['name'] for item in listed] == ['One', 'Two']
    assert user.get(f'/bucketlists/{trip["id"]}').json['items'] == listed


def test_item_get_put_patch_delete(user, trip):
    url = f'/bucketlists/{trip["id"]}/items/'
    item = new_item(user, trip['id'], 'Visit Kyoto', done=True)
    item_url = f'{url}{item["id"]}'
    assert user.get(item_url).json == {**item, 'steps': []}
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
    other, _ = new_list(user)
    item = new_item(user, trip['id'], 'Stay')
    res = user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}',
                          {'bucketlist_id': other['id']}, status=400)
    assert 'bucketlist_id' in res.json['errors']
    assert Item.get_by_id(item['id']).bucketlist_id == trip['id']


def test_item_is_404_under_the_wrong_bucketlist(user, trip):
    other, _ = new_list(user)
    item = new_item(user, trip['id'], 'Stay')
    user.get(f'/bucketlists/{other["id"]}/items/{item["id"]}', status=404)


def test_items_in_a_missing_bucketlist_are_404(user):
    user.get('/bucketlists/7/items/', status=404)
    user.post_json('/bucketlists/7/items/', {'name': 'x'}, status=404)


# --- What an item holds besides its name ---------------------------------------------------------

def test_an_item_has_notes_a_due_date_and_a_position(user, trip):
    item = user.post_json(f'/bucketlists/{trip["id"]}/items/',
                          {'name': 'Book the flights', 'notes': 'Window seat', 'due_date': '2027-03-01'}).json
    assert (item['notes'], item['due_date'], item['done_at'], item['position']) == \
        ('Window seat', '2027-03-01', None, 0)
    bare = user.post(f'/bucketlists/{trip["id"]}/items/', {'name': 'Pack'}).json  # a form, too
    assert (bare['notes'], bare['due_date'], bare['position']) == ('', None, 1)
    cleared = user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'due_date': None}).json
    assert cleared['due_date'] is None


@pytest.mark.parametrize('due_date', ['2027-02-30', '27-03-01', '2027-3-1', 'tomorrow', 20270301, '2027-03-01T00:00',
                                      '٢٠٢٧-٠٣-٠١'])
def test_a_due_date_must_be_a_calendar_date(user, trip, due_date):
    res = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'x', 'due_date': due_date}, status=400)
    assert 'due_date' in res.json['errors']


def test_done_at_is_when_the_item_was_last_done(user, trip):
    item = new_item(user, trip['id'], 'Skydive')
    url = f'/bucketlists/{trip["id"]}/items/{item["id"]}'
    done = user.patch_json(url, {'done': True}).json
    assert done['done_at'] is not None and done['done_at'].endswith('Z')
    assert user.patch_json(url, {'name': 'Skydive twice'}).json['done_at'] == done['done_at']
    assert user.patch_json(url, {'done': True}).json['done_at'] == done['done_at']  # already done
    assert user.patch_json(url, {'done': False}).json['done_at'] is None
    created_done = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Born', 'done': True}).json
    assert created_done['done_at'] is not None


@pytest.mark.parametrize('field', ['position', 'done_at'])
def test_position_and_done_at_are_read_only(user, trip, field):
    item = new_item(user, trip['id'], 'Skydive')
    res = user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {field: 3}, status=400)
    assert res.json['errors'][field] == 'This field is read-only.'


def test_an_item_created_while_its_bucketlist_is_deleted_is_404_not_500(user):
    statuses, lock = [], threading.Lock()
    for _attempt in range(15):
        bucketlist_id = new_list(user)[0]['id']

        def create(n, bucketlist_id=bucketlist_id):  # bound: run and joined within this iteration
            res = user.post_json(f'/bucketlists/{bucketlist_id}/items/', {'name': f'Item {n}'}, expect_errors=True)
            with lock:
                statuses.append(res.status_int)
        threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        user.delete(f'/bucketlists/{bucketlist_id}', expect_errors=True)
        for thread in threads:
            thread.join()
    assert set(statuses) <= {201, 404}, statuses
    assert Item.select().count() == 0  # nothing outlived its bucketlist
    if isinstance(db, PooledDatabase):
        db.close_idle()  # the threads' connections, so later tests start from one
