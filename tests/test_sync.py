"""Sync for offline clients: everything once, then only what changed, paged, with deletions, and
nothing ever missed or doubled, even while eight writers race the reader."""
import random
import threading
import time
from datetime import timedelta

from helpers import ON_POSTGRESQL, new_item, new_list, register_and_login

from models import Deletion, utcnow


class Replica:
    """What a client keeps: bucketlists, items, labels and steps by id, brought up to date by /sync."""

    def __init__(self, client):
        self.client, self.cursor = client, None
        self.bucketlists, self.items, self.labels, self.steps = {}, {}, {}, {}

    def sync(self, limit=None):
        """Sync until has_more is false; returns the pages' answers."""
        pages = []
        while True:
            query = {key: value for key, value in (('cursor', self.cursor), ('limit', limit)) if value is not None}
            answer = self.client.get('/sync', query).json
            pages.append(answer)
            self.apply(answer)
            if not answer['has_more']:
                return pages

    def apply(self, answer):
        # Deletions first: an id may come back (SQLite reuses the highest) as a new object.
        for bucketlist_id in answer['deleted']['bucketlists']:
            self.bucketlists.pop(bucketlist_id, None)
            self.items = {i: item for i, item in self.items.items() if item['bucketlist_id'] != bucketlist_id}
        for item_id in answer['deleted']['items']:
            self.items.pop(item_id, None)
        # A deleted item takes its steps with it (a deleted list's items are gone by now).
        self.steps = {s: step for s, step in self.steps.items() if step['item_id'] in self.items}
        for step_id in answer['deleted']['steps']:
            self.steps.pop(step_id, None)
        for label_id in answer['deleted']['labels']:
            self.labels.pop(label_id, None)
        seen = set()
        for label in answer['labels']:
            assert ('l', label['id']) not in seen, 'an object twice in one answer'
            seen.add(('l', label['id']))
            self.labels[label['id']] = label
        for bucketlist in answer['bucketlists']:
            assert ('b', bucketlist['id']) not in seen, 'an object twice in one answer'
            seen.add(('b', bucketlist['id']))
            self.bucketlists[bucketlist['id']] = bucketlist
        for item in answer['items']:
            assert ('i', item['id']) not in seen, 'an object twice in one answer'
            seen.add(('i', item['id']))
            self.items[item['id']] = item
        for step in answer['steps']:
            assert ('s', step['id']) not in seen, 'an object twice in one answer'
            seen.add(('s', step['id']))
            self.steps[step['id']] = step
        self.cursor = answer['cursor']

    def server_state(self):
        """Everything the account holds, read through the ordinary routes."""
        bucketlists = {b['id']: b for b in self.every_page('/bucketlists/')}
        items = {item['id']: item for bucketlist_id in bucketlists
                 for item in self.every_page(f'/bucketlists/{bucketlist_id}/items/')}
        return bucketlists, items

    def every_page(self, url):
        rows, page = [], 1
        while batch := self.client.get(url, {'limit': 100, 'page': page}).json:
            rows += batch
            page += 1
        return rows


def test_a_first_sync_holds_everything(user, other_user):
    new_list(user, 'Trip', [{'name': 'Pack', 'due_date': '2027-01-01'}], description='Soon')
    new_list(other_user, 'Not yours')
    replica = Replica(user)
    (answer,) = replica.sync()
    assert set(answer) == {'cursor', 'has_more', 'bucketlists', 'items', 'labels', 'steps', 'deleted'}
    assert answer['deleted'] == {'bucketlists': [], 'items': [], 'labels': [], 'steps': []}
    assert answer['has_more'] is False
    assert (replica.bucketlists, replica.items) == replica.server_state()
    assert [b['name'] for b in answer['bucketlists']] == ['Trip']


def test_a_sync_with_a_cursor_holds_only_what_changed(user, other_user):
    replica = Replica(user)
    trip, (pack, fly) = new_list(user, 'Trip', ['Pack', 'Fly'])
    home, (paint,) = new_list(user, 'Home', ['Paint'])
    doomed, (gone,) = new_list(user, 'Doomed', ['Gone with it'])
    replica.sync()
    assert replica.sync()[0]['bucketlists'] == [] and replica.sync()[0]['items'] == []  # nothing new

    user.patch_json(f'/bucketlists/{trip["id"]}/items/{pack["id"]}', {'done': True})
    user.delete(f'/bucketlists/{trip["id"]}/items/{fly["id"]}')
    user.put_json(f'/bucketlists/{home["id"]}', {'name': 'House'})
    user.delete(f'/bucketlists/{doomed["id"]}')
    new_list(other_user, 'Not yours')
    (answer,) = replica.sync()
    assert [b['name'] for b in answer['bucketlists']] == ['House']
    assert [i['name'] for i in answer['items']] == ['Pack']
    assert answer['deleted']['bucketlists'] == [doomed['id']]
    assert sorted(answer['deleted']['items']) == sorted([fly['id'], gone['id']])  # its items, one by one
    assert (replica.bucketlists, replica.items) == replica.server_state()

    user.post_json(f'/bucketlists/{trip["id"]}/items/{pack["id"]}/move', {'bucketlist_id': home['id']})
    (answer,) = replica.sync()
    assert [i['name'] for i in answer['items']] == ['Pack']
    assert (replica.bucketlists, replica.items) == replica.server_state()
    assert paint['id'] in replica.items


def test_an_item_moved_into_a_bucketlist_then_deleted_with_it_is_gone_from_the_copy(user):
    trip, (pack,) = new_list(user, 'Trip', ['Pack'])
    doomed, _ = new_list(user, 'Doomed')
    replica = Replica(user)
    replica.sync()
    user.post_json(f'/bucketlists/{trip["id"]}/items/{pack["id"]}/move', {'bucketlist_id': doomed['id']})
    user.delete(f'/bucketlists/{doomed["id"]}')
    replica.sync()
    assert replica.items == {} and (replica.bucketlists, replica.items) == replica.server_state()


def test_large_answers_are_paged(user):
    for n in range(3):
        new_list(user, f'List {n}', [f'Item {m}' for m in range(3)])
    replica = Replica(user)
    pages = replica.sync(limit=4)
    # The third page is full of items; the fourth finds no steps after them.
    assert [page['has_more'] for page in pages] == [True, True, True, False]
    assert all(len(page['bucketlists']) + len(page['items']) <= 4 for page in pages)
    assert (replica.bucketlists, replica.items) == replica.server_state()
    for bucketlist in list(replica.bucketlists.values())[:2]:
        user.patch_json(f'/bucketlists/{bucketlist["id"]}', {'description': 'changed'})
        user.delete(f'/bucketlists/{bucketlist["id"]}')
    pages = replica.sync(limit=1)
    assert len(pages) >= 2
    assert (replica.bucketlists, replica.items) == replica.server_state()


def test_a_cursor_older_than_the_tombstones_kept_is_410(user):
    replica = Replica(user)
    trip, _ = new_list(user, 'Trip')
    replica.sync()
    item = new_item(user, trip['id'], 'Gone')
    user.delete(f'/bucketlists/{trip["id"]}/items/{item["id"]}')
    # Time passes: the tombstone is older than SYNC_TOMBSTONE_DAYS when the next deletion purges.
    Deletion.update(deleted_at=utcnow() - timedelta(days=31)).execute()
    user.delete(f'/bucketlists/{trip["id"]}')
    res = user.get('/sync', {'cursor': replica.cursor}, status=410)
    assert res.content_type == 'application/problem+json' and 'from scratch' in res.json['detail']
    fresh = Replica(user)
    fresh.sync()
    assert (fresh.bucketlists, fresh.items) == fresh.server_state()


def test_bad_cursors_and_limits_are_400(user):
    for query in ({'cursor': 'nonsense'}, {'cursor': ''}, {'cursor': 'eyJ9'}, {'limit': '0'}, {'limit': 'x'},
                  {'limit': '100000'}):
        res = user.get('/sync', query, status=400)
        assert next(iter(query)) in res.json['detail']


def test_a_cursor_of_another_account_shows_nothing_of_it(user, other_user):
    new_list(other_user, 'Private')
    theirs = other_user.get('/sync').json['cursor']
    new_list(other_user, 'Also private')
    answer = user.get('/sync', {'cursor': theirs}).json
    assert answer['bucketlists'] == [] and answer['items'] == []


def test_nothing_is_missed_or_doubled_while_eight_writers_race_the_reader():
    """Eight writers create, rename, move, tick, delete and restore from the trash for a few seconds
    while a client syncs in a loop; then one final sync: the client's copy equals the server's
    state exactly."""
    owner = register_and_login('busy@example.com')
    replica = Replica(owner)
    stop = threading.Event()
    errors = []

    def write(n):
        rng = random.Random(n)
        mine = []
        while not stop.is_set():
            action = rng.random()
            if len(mine) < 2 or action < 0.05:
                res = owner.post_json('/bucketlists/', {'name': f'w{n} {rng.random()}'}, expect_errors=True)
                if res.status_int == 201:
                    mine.append(res.json['id'])
                continue
            bucketlist_id = rng.choice(mine)
            base = f'/bucketlists/{bucketlist_id}/items/'
            if 0.9 <= action < 0.95:  # steps: add one, tick or move one, or delete one
                items = owner.get(base, expect_errors=True).json
                if not isinstance(items, list) or not items:
                    continue
                steps = f'{base}{rng.choice(items)["id"]}/steps/'
                found = owner.get(steps, expect_errors=True).json
                choice = rng.random()
                if choice < 0.5 or not isinstance(found, list) or not found:
                    res = owner.post_json(steps, {'name': f's{n} {rng.random()}'}, expect_errors=True)
                elif choice < 0.8:
                    res = owner.patch_json(f'{steps}{rng.choice(found)["id"]}',
                                           {'done': rng.random() < 0.5, 'position': rng.randrange(len(found))},
                                           expect_errors=True)
                else:
                    res = owner.delete(f'{steps}{rng.choice(found)["id"]}', expect_errors=True)
            elif action >= 0.95:  # labels: make one, rename one, delete one, or put some on an item
                labels = [label['id'] for label in owner.get('/labels').json]
                choice = rng.random()
                if choice < 0.3 or not labels:
                    res = owner.post_json('/labels', {'name': f'l{n} {rng.random()}'}, expect_errors=True)
                elif choice < 0.5:
                    res = owner.patch_json(f'/labels/{rng.choice(labels)}', {'name': f'l{n} {rng.random()}'},
                                           expect_errors=True)
                elif choice < 0.65:
                    res = owner.delete(f'/labels/{rng.choice(labels)}', expect_errors=True)
                else:
                    items = owner.get(base, expect_errors=True).json
                    if not isinstance(items, list) or not items:
                        continue
                    res = owner.patch_json(f'{base}{rng.choice(items)["id"]}',
                                           {'labels': rng.sample(labels, min(len(labels), 2))}, expect_errors=True)
            elif action < 0.5:
                res = owner.post_json(base, {'name': f'item {rng.random()}'}, expect_errors=True)
            elif action < 0.85:
                items = owner.get(base, expect_errors=True).json
                if not isinstance(items, list) or not items:
                    continue
                item = rng.choice(items)
                choice = rng.random()
                if choice < 0.3:
                    res = owner.patch_json(f'{base}{item["id"]}', {'done': not item['done']}, expect_errors=True)
                elif choice < 0.6:
                    res = owner.post_json(f'{base}{item["id"]}/move',
                                          {'position': rng.randrange(len(items)),
                                           'bucketlist_id': rng.choice(mine)}, expect_errors=True)
                elif choice < 0.8:
                    res = owner.patch_json(f'{base}{item["id"]}', {'name': f'renamed {rng.random()}'},
                                           expect_errors=True)
                elif choice < 0.9:
                    res = owner.delete(f'{base}{item["id"]}', expect_errors=True)
                else:  # an item back from the trash (another writer may have taken it: 404, 409)
                    trashed = [e['id'] for e in owner.get('/trash', {'limit': 100}).json if e['kind'] == 'item']
                    if not trashed:
                        continue
                    res = owner.post(f'/trash/items/{rng.choice(trashed)}/restore', expect_errors=True)
            elif action < 0.88:
                res = owner.patch_json(f'/bucketlists/{bucketlist_id}', {'name': f'w{n} {rng.random()}'},
                                       expect_errors=True)
            elif action < 0.89:
                res = owner.delete(f'/bucketlists/{bucketlist_id}', expect_errors=True)
                mine.remove(bucketlist_id)
            else:  # a list back from the trash, with its items
                trashed = [e['id'] for e in owner.get('/trash', {'limit': 100}).json if e['kind'] == 'bucketlist']
                if not trashed:
                    continue
                restored = rng.choice(trashed)
                res = owner.post(f'/trash/bucketlists/{restored}/restore', expect_errors=True)
                if res.status_int == 200:
                    mine.append(restored)
            if res.status_int >= 500:
                errors.append((res.request.method, res.request.path, res.status))

    writers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in writers:
        thread.start()
    deadline, syncs = time.monotonic() + 4, 0
    while time.monotonic() < deadline:
        replica.sync(limit=7)
        syncs += 1
    stop.set()
    for thread in writers:
        thread.join()
    replica.sync(limit=7)
    assert errors == []
    assert syncs > 3
    server_bucketlists, server_items = replica.server_state()
    assert replica.bucketlists == server_bucketlists
    assert replica.items == server_items  # (their labels included)
    assert replica.labels == {label['id']: label for label in owner.get('/labels').json}
    steps_urls = [f'/bucketlists/{item["bucketlist_id"]}/items/{item["id"]}/steps/' for item in server_items.values()]
    assert replica.steps == {step['id']: step for url in steps_urls for step in owner.get(url).json}
    assert len(server_items) > 0 or not ON_POSTGRESQL
