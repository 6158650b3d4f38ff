"""Queries per request do not grow with the data: no N+1 anywhere."""
import json

import pytest
from helpers import ON_POSTGRESQL, PASSWORD, accept_invitations, path_template, register_and_login, routes, user_id_of

import settings
from models import Item, db


def fill(user, bucketlists, items):
    ids = [user.post_json('/bucketlists/', {'name': f'List {n}'}).json['id'] for n in range(bucketlists)]
    for n in range(items):
        user.post_json(f'/bucketlists/{ids[0]}/items/', {'name': f'Item {n}', 'done': n % 2 == 0})
    return ids[0]


def fill_quickly(user, items):
    """``fill(user, 1, items)``, its items written straight to the database: faster, for the tests
    that count only the queries after."""
    bucketlist_id = user.post_json('/bucketlists/', {'name': 'List 0'}).json['id']
    Item.insert_many([{'bucketlist': bucketlist_id, 'name': f'Item {n}', 'done': n % 2 == 0, 'position': n,
                       'created_by': user_id_of(user)} for n in range(items)]).execute()
    return bucketlist_id


@pytest.fixture(params=['none', 'transaction'])
def pooler(request, monkeypatch, user):
    """Each DATABASE_POOLER; behind a transaction pooler reads run as functions (one statement each,
    as their prepared statements do), which the process looks up once: done here, before counting."""
    monkeypatch.setattr(settings, 'DATABASE_POOLER', request.param)
    user.get('/bucketlists/')
    return request.param


def test_a_bucketlist_with_100_items_takes_as_many_queries_as_with_1(user, other_user, queries, pooler):
    small = fill(other_user, 1, 1)
    big = fill(user, 1, 100)
    with_one = queries(lambda: other_user.get(f'/bucketlists/{small}'))
    with_hundred = queries(lambda: user.get(f'/bucketlists/{big}'))
    assert with_one == with_hundred == 1  # bucketlist, items and the token's session in one


def test_a_bucketlist_read_with_an_api_token_takes_two_queries(user, queries, pooler):
    big = fill(user, 1, 100)
    token = user.post_json('/users/me/tokens', {'name': 'Script', 'scope': 'read', 'password': PASSWORD}).json['token']
    user.get(f'/bucketlists/{big}', headers={'Authorization': f'Bearer {token}'})  # records last_used
    assert queries(lambda: user.get(f'/bucketlists/{big}', headers={'Authorization': f'Bearer {token}'})) == 2


def test_list_endpoints_are_constant(user, other_user, queries, pooler):
    fill(other_user, 1, 1)
    big = fill(user, 100, 100)
    assert queries(lambda: other_user.get('/bucketlists/')) == queries(lambda: user.get('/bucketlists/?limit=100'))
    assert queries(lambda: user.get('/bucketlists/?q=list&page=2')) <= 3  # session, count, page
    small_items = queries(lambda: other_user.get('/bucketlists/1/items/'))
    assert queries(lambda: user.get(f'/bucketlists/{big}/items/?limit=100&done=true')) == small_items <= 4


BODIES = {('DELETE', '/users/me'): {'password': PASSWORD},
          ('POST', '/webhooks'): {'url': 'https://hooks.example.com/2', 'events': ['item.created']},
          ('PATCH', '/webhooks/<webhook_id:id>'): {'events': ['item.completed']},
          ('PATCH', '/users/me'): {'time_zone': 'Europe/Berlin'},
          ('POST', '/users/me/password'): {'current_password': PASSWORD, 'new_password': 'another passphrase'},
          ('POST', '/users/me/tokens'): {'name': 'Script', 'scope': 'read', 'password': PASSWORD},
          ('POST', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/move'): {'position': 0},
          ('POST', '/bucketlists/<bucketlist_id:id>/members'): {'email': 'third@example.com', 'role': 'viewer'},
          ('PATCH', '/bucketlists/<bucketlist_id:id>/members/<user_id:id>'): {'role': 'editor'},
          ('POST', '/sync'): {'commands': [{'uuid': '0c6b3a52-3f1e-4f7e-9a57-0d2b8f1e6c01', 'type': 'label.create',
                                            'args': {'name': 'Pushed'}}]}}
# Every private route but logout (it ends the session the others need), with a valid body.
PRIVATE_ROUTES = [(method, path_template(rule),
                   BODIES.get((method, rule), None if method in ('GET', 'DELETE') else {'name': 'New name'}))
                  for method, rule, _ in routes(public=False) if rule != '/auth/logout']


@pytest.mark.parametrize('method, path, body', PRIVATE_ROUTES)
def test_every_authenticated_request_is_a_handful_of_queries(user, queries, method, path, body):
    bucketlist_id = fill_quickly(user, 100)
    item_id = user.get(f'/bucketlists/{bucketlist_id}/items/').json[0]['id']
    user.post_json('/auth/login', {'email': 'alice@example.com', 'password': PASSWORD})  # another session
    session_id = user.get('/auth/sessions').json[-1]['id']
    token_id = user.post_json('/users/me/tokens', {'name': 'Script', 'scope': 'read', 'password': PASSWORD}).json['id']
    member = register_and_login('member@example.com')
    member_id = user_id_of(member)
    third = register_and_login('third@example.com')
    user.post_json(f'/bucketlists/{bucketlist_id}/members', {'email': 'member@example.com', 'role': 'viewer'})
    accept_invitations(member)
    thirds = third.post_json('/bucketlists/', {'name': 'Third'}).json['id']  # and alice is invited to it
    third.post_json(f'/bucketlists/{thirds}/members', {'email': 'alice@example.com', 'role': 'viewer'})
    invitation_id = user.get('/invitations').json[0]['id']
    label_id = user.post_json('/labels', {'name': 'Label'}).json['id']
    step_id = user.post_json(f'/bucketlists/{bucketlist_id}/items/{item_id}/steps/', {'name': 'Step'}).json['id']
    if path.startswith('/trash/items/'):
        user.delete(f'/bucketlists/{bucketlist_id}/items/{item_id}')
    elif path.startswith('/trash/bucketlists/'):
        user.delete(f'/bucketlists/{bucketlist_id}')
    webhook_id = user.post_json('/webhooks', {'url': 'https://hooks.example.com/',
                                              'events': ['item.created']}).json['id']
    message_id = int(user.post(f'/webhooks/{webhook_id}/ping').json['id'].removeprefix('msg_'))
    url = path.format(b=bucketlist_id, i=item_id, s=session_id, t=token_id, u=member_id, n=invitation_id, l=label_id,
                      p=step_id, w=webhook_id, m=message_id)
    count = queries(lambda: user.request(url, method=method, content_type='application/json',
                                         body=b"" if body is None else json.dumps(body).encode()))
    # The most: a move (the token's session, the item's list, the lists' locks, the item's, closing
    # the gap, counting the list, opening a gap, the write) and sharing (the session, the list, its
    # lock, the throttle, the account, the members' count, the insert, and a new version of the
    # list and its items for the members' syncs).
    # A password change ends every session and opens the caller's new one (the account's lock,
    # the dead sessions, those past the most, the session, its refresh token); an export counts
    # itself against the one-at-a-time limit and reads its items two lists at a time.
    # An invitation also checks the account is no member already, counts members and invitations
    # together and counts itself against two throttles; accepting one locks the list and the
    # invitation, and writes the membership and the list's new version.
    # A move also reads back the version its write stamped, and the caller's labels on the item it
    # shows; an export reads the labels on the items it shows (its labels
    # too, and the steps, two lists at a time).
    # A delete copies the list or the item, its steps and labels (a list's members and invitations
    # too) to the trash, purging a few entries past TRASH_DAYS and some activity of lists gone for
    # good; a restore puts them back. Each write to a list records its activity entry; an export
    # reads them, and the completions, too; an account's deletion forgets its lists' activity.
    # A push forgets old command results and reads those of its commands, runs its one (a label:
    # the account's lock, the count, the insert and its version) and stores its result, then syncs
    # from scratch (the low water, each part, the session).
    most = {('POST', '/bucketlists/{b}/members'): 16, ('POST', '/users/me/password'): 12,
            ('GET', '/users/me/export'): 16, ('POST', '/invitations/{n}/accept'): 11,
            ('POST', '/bucketlists/{b}/items/{i}/move'): 11, ('DELETE', '/bucketlists/{b}'): 16,
            ('DELETE', '/bucketlists/{b}/items/{i}'): 15, ('DELETE', '/users/me'): 9,
            ('POST', '/trash/bucketlists/{b}/restore'): 15, ('POST', '/trash/items/{i}/restore'): 15,
            ('DELETE', '/bucketlists/{b}/items/{i}/steps/{p}'): 9, ('POST', '/sync'): 18}.get((method, path), 8)
    assert count <= most, f'{method} {path}: {count} queries'


# The busiest routes, held to their round trips: each statement is a round trip to PostgreSQL,
# and a round trip costs the worker more than the statement costs PostgreSQL.
def test_a_list_page_is_one_query_with_its_total_and_the_session(user, queries):
    fill(user, 30, 0)
    assert queries(lambda: user.get('/bucketlists/')) == 1
    assert queries(lambda: user.get('/bucketlists/?q=list&sort=name')) == 1


def test_an_items_page_is_one_query_with_its_total_the_list_and_the_session(user, queries):
    bucketlist_id = fill(user, 1, 30)
    assert queries(lambda: user.get(f'/bucketlists/{bucketlist_id}/items/')) == 1
    assert queries(lambda: user.get(f'/bucketlists/{bucketlist_id}/items/?done=true&sort=name')) == 1


def editor_of(user, bucketlist_id):
    """A client of a new account that ``user``'s bucketlist is shared with as an editor."""
    editor = register_and_login('editor@example.com')
    user.post_json(f'/bucketlists/{bucketlist_id}/members', {'email': 'editor@example.com', 'role': 'editor'})
    accept_invitations(editor)
    return editor


# SQLite has no INSERT in a WITH: there a write reads its changes before it and records its
# activity (and a completion) after it.
ONE_WRITE = 1 if ON_POSTGRESQL else 4  # (SQLite: the write, its activity, and their reads)


def test_an_owner_and_an_editor_change_an_item_in_the_same_one_query(user, queries):
    bucketlist_id = fill(user, 1, 3)
    item_id = user.get(f'/bucketlists/{bucketlist_id}/items/').json[0]['id']
    path = f'/bucketlists/{bucketlist_id}/items/{item_id}'
    # The item is done already for the owner's tick; the owner's PUT then unticks it, and the
    # editor's tick is a completion: on SQLite one more insert.
    for writer, completes in ((user, False), (editor_of(user, bucketlist_id), True)):
        # the write, the role, the session, the activity entry and any completion
        assert queries(lambda: writer.patch_json(path, {'done': True})) == (  # noqa: B023
            ONE_WRITE + (completes and not ON_POSTGRESQL))
        assert queries(lambda: writer.put_json(path, {'name': 'Renamed'})) == ONE_WRITE  # noqa: B023


@pytest.fixture
def round_trips(monkeypatch):
    """Counts what a call sends PostgreSQL, one statement or several in one string: BEGIN and
    COMMIT too, which peewee sends without logging them."""
    def count(call):
        sent = []

        class Counting:
            def __init__(self, cursor):
                self._cursor = cursor

            def execute(self, sql, params=None):
                sent.append(sql)
                return self._cursor.execute(sql, params)

            def __getattr__(self, name):
                return getattr(self._cursor, name)

        with monkeypatch.context() as patch:
            patch.setattr(db, 'cursor', lambda *args, original=db.cursor: Counting(original(*args)))
            call()
        return len([sql for sql in sent if not sql.startswith('PREPARE ')])
    return count


def test_an_owner_and_an_editor_add_an_item_in_the_same_one_query(user, queries, round_trips):
    bucketlist_id = fill(user, 1, 3)
    add = lambda client: client.post_json(f'/bucketlists/{bucketlist_id}/items/', {'name': 'New'})  # noqa: E731
    # the list's lock, the writer's role, its count of items, the session, the insert and its activity in one
    for writer in (user, editor_of(user, bucketlist_id)):
        assert queries(lambda: add(writer)) == ONE_WRITE - (not ON_POSTGRESQL)  # noqa: B023 (nothing to read before)
        if ON_POSTGRESQL:
            assert round_trips(lambda: add(writer)) == 1  # noqa: B023
    added = 4 if ON_POSTGRESQL else 2
    assert [i['position'] for i in user.get(f'/bucketlists/{bucketlist_id}/items/').json] == list(range(3 + added))


def test_creating_a_bucketlist_is_one_query_with_its_quota_and_the_session(user, queries):
    assert queries(lambda: user.post_json('/bucketlists/', {'name': 'New'})) == ONE_WRITE - (not ON_POSTGRESQL)


def test_a_sync_of_a_few_changes_is_one_query(user, queries):
    bucketlist_id = fill(user, 3, 3)
    cursor = user.get('/sync').json['cursor']
    item_id = user.get(f'/bucketlists/{bucketlist_id}/items/').json[0]['id']
    user.patch_json(f'/bucketlists/{bucketlist_id}/items/{item_id}', {'done': False})
    user.delete(f'/bucketlists/{bucketlist_id}/items/{item_id + 1}')
    # the tombstones, the bucketlists and the items, with the low water, the purge and the session
    assert queries(lambda: user.get('/sync', {'cursor': cursor})) == 1
    page = user.get('/sync', {'cursor': cursor, 'limit': 1}).json
    assert queries(lambda: user.get('/sync', {'cursor': page['cursor'], 'limit': 1})) == 1  # and every next page


def test_an_owner_edits_a_bucketlist_in_one_query_on_postgresql(user, queries):
    bucketlist_id = fill(user, 1, 3)
    path = f'/bucketlists/{bucketlist_id}'
    # PostgreSQL: the write, its activity and the items it answers with; SQLite reads the changes
    # before, the items after.
    assert queries(lambda: user.put_json(path, {'name': 'Renamed'})) == (1 if ON_POSTGRESQL else 4)
    assert queries(lambda: user.patch_json(path, {'description': 'Soon'})) == (1 if ON_POSTGRESQL else 4)


def test_prepared_statements_keep_their_one_plan(user):
    """PostgreSQL plans a prepared statement afresh for its first five runs and then whenever a
    plan for the values at hand looks cheaper than the general one, which at a million rows is
    every time: planning the sync took longer than running it. The service asks for the general
    plan every time."""
    if not ON_POSTGRESQL:
        return  # SQLite plans every statement anyway
    bucketlist_id = fill(user, 1, 3)
    cursor = user.get('/sync').json['cursor']
    for _ in range(7):
        user.get(f'/bucketlists/{bucketlist_id}')
        user.get('/sync', {'cursor': cursor})
    with db.connection_context():
        plans = db.execute_sql("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements"
                               " WHERE name IN ('bucketlist_with_items', 'sync_changes')").fetchall()
    assert len(plans) == 2 and all(generic >= 7 and custom == 0 for _, generic, custom in plans), plans
