"""Quotas: a bucketlist holds at most so many items and an account at most so many bucketlists,
counting what it holds now, and creates racing past a quota add exactly up to it."""
import threading

from helpers import ON_POSTGRESQL, new_list, positions_of, register_and_login, user_id_of
from playhouse.pool import PooledDatabase

import settings
from models import Bucketlist, Item, User, db


def test_a_bucketlist_holds_at_most_the_item_quota(user, monkeypatch):
    monkeypatch.setattr(settings, 'MAX_ITEMS_PER_BUCKETLIST', 3)
    full, _ = new_list(user, 'Small', [f'Item {n}' for n in range(3)])
    res = user.post_json(f'/bucketlists/{full["id"]}/items/', {'name': 'One too many'}, status=409)
    assert 'MAX_ITEMS_PER_BUCKETLIST' in res.json['detail']
    assert Item.select().count() == 3
    other, _ = new_list(user)
    user.post_json(f'/bucketlists/{other["id"]}/items/', {'name': 'Fits'}, status=201)


def test_an_account_holds_at_most_the_bucketlist_quota(user, other_user, monkeypatch):
    monkeypatch.setattr(settings, 'MAX_BUCKETLISTS_PER_USER', 2)
    for n in range(2):
        new_list(user, f'List {n}')
    res = user.post_json('/bucketlists/', {'name': 'One too many'}, status=409)
    assert 'MAX_BUCKETLISTS_PER_USER' in res.json['detail']
    other_user.post_json('/bucketlists/', {'name': 'Fits'}, status=201)
    assert Bucketlist.select().count() == 3
    # The quota counts what the account holds now: a deleted list makes room, a failed create none.
    first = user.get('/bucketlists/').json[0]['id']
    user.delete(f'/bucketlists/{first}', status=200)
    user.post_json('/bucketlists/', {'name': 'List 1'}, status=409)  # a name it holds: no room taken
    user.post_json('/bucketlists/', {'name': 'In its place'}, status=201)
    user.post_json('/bucketlists/', {'name': 'Still too many'}, status=409)


def test_racing_creates_past_the_bucketlist_quota_add_exactly_up_to_it(monkeypatch):
    """Twelve creates at once with room for three: three are made, whatever the interleaving
    (on PostgreSQL each reads the count another may be about to raise). A few accounts, so that
    one lucky interleaving cannot pass it."""
    monkeypatch.setattr(settings, 'MAX_BUCKETLISTS_PER_USER', 4)
    for attempt in range(4):
        racer = register_and_login(f'racer{attempt}@example.com')
        new_list(racer)
        statuses, lock = [], threading.Lock()

        def create(n, racer=racer, lock=lock, statuses=statuses):  # bound: joined within this iteration
            status = racer.post_json('/bucketlists/', {'name': f'Racer {n}'}, expect_errors=True).status_int
            with lock:
                statuses.append(status)
        threads = [threading.Thread(target=create, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [201] * 3 + [409] * 9
        with db.connection_context():
            racer_id = user_id_of(racer)
            assert Bucketlist.select().where(Bucketlist.owner == racer_id).count() == 4
            assert User.get_by_id(racer_id).bucketlist_count == 4
    if isinstance(db, PooledDatabase):
        db.close_idle()  # the threads' connections, so later tests start from one


def test_racing_creates_past_the_quota_add_exactly_up_to_it(monkeypatch):
    if not ON_POSTGRESQL:
        return  # SQLite runs one writer at a time: nothing races
    monkeypatch.setattr(settings, 'MAX_ITEMS_PER_BUCKETLIST', 5)
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
