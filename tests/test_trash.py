"""The trash: a deleted bucketlist or item waits TRASH_DAYS in its owner's trash, invisible
everywhere else, until it is restored whole or deleted for good."""
import threading
from datetime import timedelta

import pytest
from helpers import accept_invitations, item_names, new_item, new_list, positions_of, register_and_login
from test_sync import Replica

import activity
import settings
from models import Activity, Bucketlist, Completion, ForgottenList, Trash, db


def without_versions(bucketlist):
    return {**bucketlist, 'version': None, 'items': [{**item, 'version': None} for item in bucketlist['items']]}


def invite(owner, bucketlist_id, email, role='editor'):
    owner.post_json(f'/bucketlists/{bucketlist_id}/members', {'email': email, 'role': role}, status=201)


@pytest.fixture
def trip(user):
    """Alice's list of three items, the second with a step and a label of hers, shared with grace as
    an editor; (list, items, grace)."""
    trip, items = new_list(user, 'Japan trip', ['Book flights', 'Visit Kyoto', 'Climb Fuji'])
    label = user.post_json('/labels', {'name': 'Culture'}, status=201).json
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{items[1]["id"]}', {'labels': [label['id']]})
    user.post_json(f'/bucketlists/{trip["id"]}/items/{items[1]["id"]}/steps/', {'name': 'Fushimi Inari'}, status=201)
    grace = register_and_login('grace@example.com')
    invite(user, trip['id'], 'grace@example.com')
    accept_invitations(grace)
    return trip, items, grace


def test_a_deleted_bucketlist_waits_in_the_trash_and_comes_back_whole(user, trip):
    trip, items, grace = trip
    before = user.get(f'/bucketlists/{trip["id"]}').json
    steps_before = user.get(f'/bucketlists/{trip["id"]}/items/{items[1]["id"]}').json['steps']
    res = user.delete(f'/bucketlists/{trip["id"]}')
    assert res.json == {'message': f'bucketlist {trip["id"]} deleted successfully'}  # (the tutorial's)
    user.get(f'/bucketlists/{trip["id"]}', status=404)
    grace.get(f'/bucketlists/{trip["id"]}', status=404)
    assert user.get('/bucketlists/').json == [] and user.get('/items/').json == []

    entry, = user.get('/trash').json
    assert set(entry) == {'kind', 'id', 'name', 'bucketlist_id', 'deleted_at', 'deleted_by', 'purge_at'}
    assert (entry['kind'], entry['id'], entry['name'], entry['bucketlist_id']) == ('bucketlist', trip['id'],
                                                                                  'Japan trip', None)
    assert entry['purge_at'] > entry['deleted_at']
    assert grace.get('/trash').json == []  # the owner's trash

    restored = user.post(f'/trash/bucketlists/{trip["id"]}/restore').json
    assert restored == user.get(f'/bucketlists/{trip["id"]}').json
    assert without_versions(restored) == without_versions(before)  # items, positions, labels, dates (new versions)
    steps = user.get(f'/bucketlists/{trip["id"]}/items/{items[1]["id"]}').json['steps']
    assert [{**step, 'version': None} for step in steps] == [{**step, 'version': None} for step in steps_before]
    assert grace.get(f'/bucketlists/{trip["id"]}').json['role'] == 'editor'  # members come back too
    members = user.get(f'/bucketlists/{trip["id"]}/members').json
    assert [member['email'] for member in members] == ['alice@example.com', 'grace@example.com']
    assert positions_of(trip['id']) == [0, 1, 2]
    assert user.get('/trash').json == []
    user.post(f'/trash/bucketlists/{trip["id"]}/restore', status=404)


def test_a_deleted_item_comes_back_to_its_place(user, trip):
    trip, items, grace = trip
    grace.delete(f'/bucketlists/{trip["id"]}/items/{items[1]["id"]}')  # an editor deletes it
    assert item_names(user, trip['id']) == ['Book flights', 'Climb Fuji']
    user.get(f'/bucketlists/{trip["id"]}/items/{items[1]["id"]}', status=404)
    entry, = user.get('/trash').json
    assert (entry['kind'], entry['id'], entry['name'], entry['bucketlist_id'], entry['deleted_by']) == (
        'item', items[1]['id'], 'Visit Kyoto', trip['id'], user_id(grace))
    assert grace.get('/trash').json == [entry]  # those who may write its list see it too

    item = grace.post(f'/trash/items/{items[1]["id"]}/restore').json
    shown = user.get(f'/bucketlists/{trip["id"]}/items/{items[1]["id"]}').json
    assert {**item, 'labels': []} == {**shown, 'labels': []}  # as GET one shows it (grace has no labels)
    assert item_names(user, trip['id']) == ['Book flights', 'Visit Kyoto', 'Climb Fuji']
    assert user.get(f'/bucketlists/{trip["id"]}/items/{items[1]["id"]}').json['labels'] != []  # alice's label
    assert [step['name'] for step in
            user.get(f'/bucketlists/{trip["id"]}/items/{items[1]["id"]}').json['steps']] == ['Fushimi Inari']
    assert positions_of(trip['id']) == [0, 1, 2]


def user_id(client):
    return client.get('/users/me').json['id']


def test_a_viewer_and_strangers_neither_see_nor_restore_it(user, trip, other_user):
    trip, items, grace = trip
    user.patch_json(f'/bucketlists/{trip["id"]}/members/{user_id(grace)}', {'role': 'viewer'})
    user.delete(f'/bucketlists/{trip["id"]}/items/{items[0]["id"]}')
    assert grace.get('/trash').json == [] and other_user.get('/trash').json == []
    grace.post(f'/trash/items/{items[0]["id"]}/restore', status=404)
    other_user.post(f'/trash/items/{items[0]["id"]}/restore', status=404)
    other_user.delete(f'/trash/items/{items[0]["id"]}', status=404)
    user.delete(f'/bucketlists/{trip["id"]}')
    grace.post(f'/trash/bucketlists/{trip["id"]}/restore', status=404)
    other_user.delete(f'/trash/bucketlists/{trip["id"]}', status=404)
    assert len(user.get('/trash').json) == 2


def test_an_item_whose_list_is_gone_is_409_until_the_list_comes_back(user, trip):
    trip, items, _ = trip
    user.delete(f'/bucketlists/{trip["id"]}/items/{items[0]["id"]}')
    user.delete(f'/bucketlists/{trip["id"]}')
    res = user.post(f'/trash/items/{items[0]["id"]}/restore', status=409)
    assert res.json['type'] == '/problems/list-in-trash'
    user.post(f'/trash/bucketlists/{trip["id"]}/restore')
    user.post(f'/trash/items/{items[0]["id"]}/restore')
    assert item_names(user, trip['id']) == ['Book flights', 'Visit Kyoto', 'Climb Fuji']


def test_an_item_whose_list_was_deleted_for_good_goes_with_it(user, trip):
    trip, items, _ = trip
    user.delete(f'/bucketlists/{trip["id"]}/items/{items[0]["id"]}')
    user.delete(f'/bucketlists/{trip["id"]}')
    assert user.delete(f'/trash/bucketlists/{trip["id"]}').json == {
        'message': f'bucketlist {trip["id"]} deleted for good'}
    assert user.get('/trash').json == []
    user.post(f'/trash/items/{items[0]["id"]}/restore', status=404)


def test_restoring_into_a_full_list_or_past_a_quota_or_onto_a_taken_name_is_409(user, monkeypatch):
    monkeypatch.setattr(settings, 'MAX_ITEMS_PER_BUCKETLIST', 2)
    monkeypatch.setattr(settings, 'MAX_BUCKETLISTS_PER_USER', 2)
    full, (first, _) = new_list(user, 'Full', ['One', 'Two'])
    user.delete(f'/bucketlists/{full["id"]}/items/{first["id"]}')
    new_item(user, full['id'], 'Three')  # the trashed item does not count
    res = user.post(f'/trash/items/{first["id"]}/restore', status=409)
    assert res.json['type'] == '/problems/quota-exceeded'

    user.delete(f'/bucketlists/{full["id"]}')
    other, _ = new_list(user, 'Full')  # the trashed list neither counts nor holds its name
    res = user.post(f'/trash/bucketlists/{full["id"]}/restore', status=409)
    assert res.json['type'] == '/problems/name-taken'
    user.put_json(f'/bucketlists/{other["id"]}', {'name': 'Other'})
    new_list(user, 'Third')
    res = user.post(f'/trash/bucketlists/{full["id"]}/restore', status=409)
    assert res.json['type'] == '/problems/quota-exceeded'
    assert len(user.get('/trash').json) == 2  # still there


def test_the_trash_is_purged_after_trash_days(user, trip):
    trip, items, _ = trip
    user.delete(f'/bucketlists/{trip["id"]}/items/{items[0]["id"]}')
    user.delete(f'/bucketlists/{trip["id"]}')
    with db.connection_context():
        for entry in Trash.select():
            Trash.update(deleted_at=entry.deleted_at - timedelta(days=settings.TRASH_DAYS, seconds=1),
                         purge_at=entry.purge_at - timedelta(days=settings.TRASH_DAYS, seconds=1)).where(
                Trash.id == entry.id).execute()
    assert user.get('/trash').json == []
    user.post(f'/trash/bucketlists/{trip["id"]}/restore', status=404)
    other, _ = new_list(user)
    user.delete(f'/bucketlists/{other["id"]}')  # a deletion purges what is past its days
    with db.connection_context():
        assert [entry.object_id for entry in Trash.select()] == [other['id']]


def test_the_trash_is_paged_newest_first(user):
    made = [new_list(user)[0] for _ in range(3)]
    for bucketlist in made:
        user.delete(f'/bucketlists/{bucketlist["id"]}')
    res = user.get('/trash', {'limit': 2})
    assert [entry['id'] for entry in res.json] == [made[2]['id'], made[1]['id']]
    assert res.headers['X-Total-Count'] == '3'
    assert [entry['id'] for entry in user.get('/trash', {'limit': 2, 'page': 2}).json] == [made[0]['id']]


def test_sync_sends_the_deletion_then_the_whole_object_again(user, trip):
    trip, items, grace = trip
    replica, graces = Replica(user), Replica(grace)
    replica.sync(), graces.sync()
    whole = (dict(replica.bucketlists), dict(replica.items), dict(replica.steps))
    user.delete(f'/bucketlists/{trip["id"]}')
    replica.sync(), graces.sync()
    assert replica.bucketlists == {} and replica.items == {} and graces.bucketlists == {}
    user.post(f'/trash/bucketlists/{trip["id"]}/restore')
    replica.sync(), graces.sync()
    strip = lambda objects: {key: {**value, 'version': None} for key, value in objects.items()}  # noqa: E731
    assert (strip(replica.bucketlists), strip(replica.items), strip(replica.steps)) == tuple(map(strip, whole))
    assert set(graces.items) == {item['id'] for item in items}
    fresh = Replica(user)  # from before both: the deletion, then the object
    fresh.sync()
    assert set(fresh.items) == {item['id'] for item in items}


def test_deleting_the_account_empties_its_trash(user, trip):
    trip, _, _ = trip
    user.delete(f'/bucketlists/{trip["id"]}')
    user.delete_json('/users/me', {'password': 'correct horse battery'})
    with db.connection_context():
        assert Trash.select().count() == 0 and Bucketlist.select().count() == 0
        while ForgottenList.select().count():  # (its lists' activity goes a batch at a time)
            activity.purge()
        assert Activity.select().count() == 0  # (grace's entries in alice's list too)


def test_the_export_holds_the_trash(user, trip):
    trip, items, _ = trip
    user.delete(f'/bucketlists/{trip["id"]}/items/{items[0]["id"]}')
    exported = user.get('/users/me/export').json
    entry, = exported['trash']
    assert (entry['kind'], entry['id'], entry['contents']['items'][0]['name']) == ('item', items[0]['id'],
                                                                                   'Book flights')


def test_a_restore_never_makes_a_member_of_an_account_made_since(user, trip):
    trip, _, grace = trip
    user.delete(f'/bucketlists/{trip["id"]}')
    grace.delete_json('/users/me', {'password': 'correct horse battery'})
    mallory = register_and_login('mallory@example.com')  # (on SQLite, maybe grace's id again)
    user.post(f'/trash/bucketlists/{trip["id"]}/restore')
    mallory.get(f'/bucketlists/{trip["id"]}', status=404)
    assert [m['email'] for m in user.get(f'/bucketlists/{trip["id"]}/members').json] == ['alice@example.com']


def test_the_trash_holds_at_most_a_list_s_worth_of_its_items(user, monkeypatch):
    monkeypatch.setattr(settings, 'MAX_ITEMS_PER_BUCKETLIST', 2)
    trip, _ = new_list(user, 'Trip')
    made = [new_item(user, trip['id']) for _ in range(2)] + [None]
    user.delete(f'/bucketlists/{trip["id"]}/items/{made[0]["id"]}')
    made[2] = new_item(user, trip['id'])
    for item in made[1:]:
        user.delete(f'/bucketlists/{trip["id"]}/items/{item["id"]}')
    assert [entry['id'] for entry in user.get('/trash').json] == [made[2]['id'], made[1]['id']]  # the oldest went


def test_an_item_deleted_for_good_stays_in_its_list_s_history(user, trip):
    trip, items, _ = trip
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{items[0]["id"]}', {'done': True})
    user.delete(f'/bucketlists/{trip["id"]}/items/{items[0]["id"]}')
    user.delete(f'/trash/items/{items[0]["id"]}')
    user.post(f'/trash/items/{items[0]["id"]}/restore', status=404)
    assert [entry['kind'] for entry in user.get(f'/bucketlists/{trip["id"]}/activity').json
            if entry['item_id'] == items[0]['id']] == ['item.purged', 'item.trashed', 'item.completed', 'item.created']
    assert [c['item_id'] for c in user.get('/items/completed').json] == [items[0]['id']]


def test_a_list_deleted_for_good_takes_its_history_a_batch_at_a_time(user, trip, monkeypatch):
    trip, items, _ = trip
    user.patch_json(f'/bucketlists/{trip["id"]}/items/{items[0]["id"]}', {'done': True})
    user.delete(f'/bucketlists/{trip["id"]}')
    user.delete(f'/trash/bucketlists/{trip["id"]}')
    monkeypatch.setattr(activity, 'PURGE_BATCH', 3)
    with db.connection_context():
        left = [Activity.select().where(Activity.bucketlist_id == trip['id']).count()]
        while left[-1]:
            activity.purge()
            left.append(Activity.select().where(Activity.bucketlist_id == trip['id']).count())
        assert left[0] > 3 and all(a - b <= 3 for a, b in zip(left, left[1:], strict=False))
        assert Completion.select().count() == 0
        activity.purge()  # (the last one, which finds nothing left, forgets the list)
        assert ForgottenList.select().count() == 0


def test_a_restore_racing_a_deletion_that_trims_the_trash_never_deadlocks(user, monkeypatch):
    """At its bound, a deletion trims the trash's oldest entry, which a restore may hold: the trim
    passes over it, so neither waits for the other's lock (before: a deadlock, 503, in most runs)."""
    monkeypatch.setattr(settings, 'MAX_ITEMS_PER_BUCKETLIST', 3)
    trip, _ = new_list(user, 'Trip')
    statuses = []
    for _ in range(8):
        made = [new_item(user, trip['id']) for _ in range(3)]
        for item in made:
            user.delete(f'/bucketlists/{trip["id"]}/items/{item["id"]}')
        live = new_item(user, trip['id'])
        barrier = threading.Barrier(2)
        calls = [lambda restored=made[0]: user.post(f'/trash/items/{restored["id"]}/restore', expect_errors=True),
                 lambda deleted=live: user.delete(f'/bucketlists/{trip["id"]}/items/{deleted["id"]}',
                                                  expect_errors=True)]

        def run(call, barrier=barrier):
            barrier.wait()
            statuses.append(call().status_int)
        racers = [threading.Thread(target=run, args=(call,)) for call in calls]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join()
        for item in user.get(f'/bucketlists/{trip["id"]}/items/').json:
            user.delete(f'/bucketlists/{trip["id"]}/items/{item["id"]}')
    assert all(status < 500 for status in statuses), statuses
    assert positions_of(trip['id']) == []


def test_a_list_holding_more_items_than_a_lowered_quota_allows_is_not_restored(user, monkeypatch):
    trip, _ = new_list(user, 'Trip', ['One', 'Two', 'Three'])
    user.delete(f'/bucketlists/{trip["id"]}')
    monkeypatch.setattr(settings, 'MAX_ITEMS_PER_BUCKETLIST', 2)
    res = user.post(f'/trash/bucketlists/{trip["id"]}/restore', status=409)
    assert res.json['type'] == '/problems/quota-exceeded'
    user.get(f'/bucketlists/{trip["id"]}', status=404)
    assert [entry['id'] for entry in user.get('/trash').json] == [trip['id']]  # still there
