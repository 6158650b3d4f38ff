"""Sharing a bucketlist: members with roles. Who may see and do what is decided by the query that
reads the row; a member's forbidden write is 403, anybody else gets 404 exactly as before."""
import json
import threading
import time

import pytest
from conftest import empty_tables_now
from helpers import (
    ON_POSTGRESQL,
    PASSWORD,
    accept_invitations,
    example_path,
    new_list,
    register_and_login,
    routes,
    user_id_of,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from peewee import fn

import settings as app_settings
import sync
from models import Deletion, Item, Membership, db


@pytest.fixture
def owner(user):
    return user  # alice


@pytest.fixture
def editor():
    return register_and_login('eddie@example.com')


@pytest.fixture
def viewer():
    return register_and_login('vera@example.com')


@pytest.fixture
def stranger(other_user):
    return other_user  # bob


@pytest.fixture
def shared(owner, editor, viewer):
    """alice's 'Trip' with two items, shared with eddie (editor) and vera (viewer)."""
    trip, items = new_list(owner, 'Trip', ['Pack', 'Fly'])
    owner.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'eddie@example.com', 'role': 'editor'}, status=201)
    owner.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'vera@example.com', 'role': 'viewer'}, status=201)
    accept_invitations(editor)
    accept_invitations(viewer)
    return trip, items


# --- Members -------------------------------------------------------------------------------------

def test_the_owner_adds_a_member_by_email(owner, editor):
    trip, _ = new_list(owner)
    added = owner.post_json(f'/bucketlists/{trip["id"]}/members', {'email': ' Eddie@Example.com', 'role': 'editor'},
                            status=201).json
    assert set(added) == {'user_id', 'email', 'role', 'date_added', 'status'} and added['status'] == 'pending'
    assert (added['user_id'], added['email'], added['role']) == (user_id_of(editor), 'eddie@example.com', 'editor')


def test_adding_an_unknown_email_the_owner_or_a_member_again_fails(owner, shared):
    trip, _ = shared
    url = f'/bucketlists/{trip["id"]}/members'
    owner.post_json(url, {'email': 'nobody@example.com', 'role': 'viewer'}, status=404)
    owner.post_json(url, {'email': 'alice@example.com', 'role': 'viewer'}, status=409)
    owner.post_json(url, {'email': 'vera@example.com', 'role': 'editor'}, status=409)
    assert 'role' in owner.post_json(url, {'email': 'bob@example.com', 'role': 'owner'}, status=400).json['errors']
    assert 'email' in owner.post_json(url, {'role': 'viewer'}, status=400).json['errors']


def test_owner_and_members_read_the_members_owner_first(owner, editor, viewer, stranger, shared):
    trip, _ = shared
    url = f'/bucketlists/{trip["id"]}/members'
    listed = owner.get(url).json
    assert [(m['email'], m['role']) for m in listed] == [('alice@example.com', 'owner'),
                                                       ('eddie@example.com', 'editor'), ('vera@example.com', 'viewer')]
    assert editor.get(url).json == viewer.get(url).json == listed
    stranger.get(url, status=404)


def test_only_the_owner_changes_roles(owner, editor, viewer, stranger, shared):
    trip, _ = shared
    vera = f'/bucketlists/{trip["id"]}/members/{user_id_of(viewer)}'
    editor.patch_json(vera, {'role': 'editor'}, status=403)
    stranger.patch_json(vera, {'role': 'editor'}, status=404)
    assert owner.patch_json(vera, {'role': 'editor'}).json['role'] == 'editor'
    viewer.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Now I can'}, status=201)
    owner.patch_json(f'/bucketlists/{trip["id"]}/members/{user_id_of(stranger)}', {'role': 'viewer'}, status=404)
    owner.patch_json(f'/bucketlists/{trip["id"]}/members/{user_id_of(owner)}', {'role': 'viewer'}, status=409)


def test_the_owner_removes_anyone_and_a_member_only_leaves(owner, editor, viewer, stranger, shared):
    trip, _ = shared
    members = f'/bucketlists/{trip["id"]}/members'
    editor.delete(f'{members}/{user_id_of(viewer)}', status=403)
    stranger.delete(f'{members}/{user_id_of(viewer)}', status=404)
    viewer.delete(f'{members}/{user_id_of(viewer)}', status=200)  # leaves
    viewer.get(f'/bucketlists/{trip["id"]}', status=404)
    owner.delete(f'{members}/{user_id_of(editor)}', status=200)
    editor.get(f'/bucketlists/{trip["id"]}', status=404)
    owner.delete(f'{members}/{user_id_of(owner)}', status=409)  # the owner cannot leave their own list
    assert [m['role'] for m in owner.get(members).json] == ['owner']


def test_guessing_emails_by_sharing_is_throttled(owner):
    trip, _ = new_list(owner)
    url = f'/bucketlists/{trip["id"]}/members'
    for n in range(app_settings.UNKNOWN_EMAILS_PER_HOUR):
        owner.post_json(url, {'email': f'guess{n}@example.com', 'role': 'viewer'}, status=404)
    owner.post_json(url, {'email': 'guess@example.com', 'role': 'viewer'}, status=429)


def test_members_per_bucketlist_are_bounded(owner, monkeypatch):
    monkeypatch.setattr(app_settings, 'MAX_MEMBERS_PER_BUCKETLIST', 1)
    trip, _ = new_list(owner)
    for email in ('m1@example.com', 'm2@example.com'):
        register_and_login(email)
    owner.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'm1@example.com', 'role': 'viewer'}, status=201)
    owner.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'm2@example.com', 'role': 'viewer'}, status=409)


# --- What members see and do ---------------------------------------------------------------------

def test_members_see_shared_bucketlists_with_their_role(owner, editor, viewer, shared):
    trip, _ = shared
    new_list(editor, 'Trip')  # names are unique per owner only
    assert sorted((b['name'], b['role']) for b in editor.get('/bucketlists/').json) == [('Trip', 'editor'),
                                                                                       ('Trip', 'owner')]
    assert [b['role'] for b in editor.get('/bucketlists/?role=editor').json] == ['editor']
    assert [b['role'] for b in editor.get('/bucketlists/?role=owner').json] == ['owner']
    assert editor.get('/bucketlists/?role=viewer').json == []
    assert [b['id'] for b in viewer.get('/bucketlists/?q=tri').json] == [trip['id']]
    assert viewer.get(f'/bucketlists/{trip["id"]}').json['role'] == 'viewer'
    assert owner.get(f'/bucketlists/{trip["id"]}').json['role'] == 'owner'
    assert [i['name'] for i in viewer.get(f'/bucketlists/{trip["id"]}/items/').json] == ['Pack', 'Fly']
    viewer.get('/bucketlists/?role=boss', status=400)


def test_the_lists_total_counts_what_you_own_and_what_is_shared_with_you_as_both_change(owner, editor, viewer,
                                                                                        shared):
    trip, _ = shared

    def totals():
        return {query: (editor.get(f'/bucketlists/{query}').headers['X-Total-Count'],
                        len(editor.get(f'/bucketlists/{query}').json))
                for query in ('', '?role=owner', '?role=editor', '?q=trip', '?limit=1&page=5')}

    own = [new_list(editor, f'Trip {n}')[0]['id'] for n in range(3)]
    assert totals() == {'': ('4', 4), '?role=owner': ('3', 3), '?role=editor': ('1', 1), '?q=trip': ('4', 4),
                        '?limit=1&page=5': ('4', 0)}
    editor.delete(f'/bucketlists/{own[0]}')
    new_list(viewer, 'Mine')  # another account's lists count for it only
    other = new_list(viewer, 'Shared too')[0]['id']
    viewer.post_json(f'/bucketlists/{other}/members', {'email': 'eddie@example.com', 'role': 'editor'}, status=201)
    accept_invitations(editor)
    assert totals() == {'': ('4', 4), '?role=owner': ('2', 2), '?role=editor': ('2', 2), '?q=trip': ('3', 3),
                        '?limit=1&page=5': ('4', 0)}
    owner.delete(f'/bucketlists/{trip["id"]}/members/{user_id_of(editor)}')
    viewer.delete(f'/bucketlists/{other}')
    assert totals() == {'': ('2', 2), '?role=owner': ('2', 2), '?role=editor': ('0', 0), '?q=trip': ('2', 2),
                        '?limit=1&page=5': ('2', 0)}


@pytest.mark.parametrize('sort', ['id', '-id', 'name', '-name', 'date_created', '-date_modified'])
def test_pages_of_own_and_shared_lists_interleaved_add_up_to_the_whole_list(owner, editor, sort):
    """Each page is cut from the reader's own lists and those shared with them, in one order:
    walked page by page, in every order, they give every list once, as one page with all does."""
    for n in range(5):  # ids, names and dates alternate between the two accounts
        new_list(editor, f'{"bdfhj"[n]} own')
        theirs = new_list(owner, f'{"acegi"[n]} shared')[0]['id']
        owner.post_json(f'/bucketlists/{theirs}/members', {'email': 'eddie@example.com', 'role': 'viewer'},
                        status=201)
    accept_invitations(editor)
    whole = [b['name'] for b in editor.get(f'/bucketlists/?sort={sort}&limit=100').json]
    assert len(whole) == 10 and len(set(whole)) == 10
    for limit in (1, 3, 4):
        pages = [editor.get(f'/bucketlists/?sort={sort}&limit={limit}&page={page}')
                 for page in range(1, 10 // limit + 2)]
        assert [b['name'] for page in pages for b in page.json] == whole
        assert {page.headers['X-Total-Count'] for page in pages} == {'10'}
    if sort.lstrip('-') == 'name':
        assert whole == sorted(whole, reverse=sort.startswith('-'))


def test_viewers_only_read(viewer, shared):
    trip, (pack, _) = shared
    base = f'/bucketlists/{trip["id"]}'
    viewer.get(f'{base}/items/{pack["id"]}', status=200)
    assert 'viewer' in viewer.post_json(f'{base}/items/', {'name': 'x'}, status=403).json['detail']
    viewer.patch_json(f'{base}/items/{pack["id"]}', {'done': True}, status=403)
    viewer.post_json(f'{base}/items/{pack["id"]}/move', {'position': 1}, status=403)
    viewer.delete(f'{base}/items/{pack["id"]}', status=403)
    viewer.put_json(base, {'name': 'Mine now'}, status=403)
    viewer.delete(base, status=403)


def test_editors_write_items_but_only_the_owner_renames_or_deletes(owner, editor, shared):
    trip, (pack, fly) = shared
    base = f'/bucketlists/{trip["id"]}'
    made = editor.post_json(f'{base}/items/', {'name': 'Insure'}, status=201).json
    assert made['created_by'] == user_id_of(editor)
    assert owner.get(f'{base}/items/{pack["id"]}').json['created_by'] == user_id_of(owner)
    editor.patch_json(f'{base}/items/{pack["id"]}', {'done': True}, status=200)
    editor.post_json(f'{base}/items/{made["id"]}/move', {'position': 0}, status=200)
    editor.delete(f'{base}/items/{fly["id"]}', status=200)
    assert [i['name'] for i in owner.get(f'{base}/items/').json] == ['Insure', 'Pack']
    editor.patch_json(base, {'name': 'Renamed'}, status=403)
    editor.delete(base, status=403)
    editor.post_json(f'{base}/members', {'email': 'bob@example.com', 'role': 'viewer'}, status=403)


def test_moving_needs_write_access_to_both_lists(owner, editor, viewer, shared):
    trip, (pack, _) = shared
    home, (viewer_item,) = new_list(viewer, 'Home', ['Mine'])
    # Out of her own list into one she only views: 403; into a stranger's: 404.
    viewer.post_json(f'/bucketlists/{home["id"]}/items/{viewer_item["id"]}/move', {'bucketlist_id': trip['id']},
                     status=403)
    editor_list, _ = new_list(editor, 'Eddie')
    viewer.post_json(f'/bucketlists/{home["id"]}/items/{viewer_item["id"]}/move',
                     {'bucketlist_id': editor_list['id']}, status=404)
    # An editor moves an item of the shared list into a list of their own.
    editor.post_json(f'/bucketlists/{trip["id"]}/items/{pack["id"]}/move', {'bucketlist_id': editor_list['id']},
                     status=200)
    assert [i['name'] for i in editor.get(f'/bucketlists/{editor_list["id"]}/items/').json] == ['Pack']


def test_conditional_requests_and_retries_work_on_shared_lists(owner, editor, shared):
    trip, (pack, _) = shared
    url = f'/bucketlists/{trip["id"]}/items/{pack["id"]}'
    etag = editor.get(url).headers['ETag']
    owner.patch_json(url, {'name': 'Pack light'})
    editor.patch_json(url, {'done': True}, headers={'If-Match': etag}, status=412)
    editor.get(url, headers={'If-None-Match': owner.get(url).headers['ETag']}, status=304)
    key = {'Idempotency-Key': 'eddie-1'}
    first = editor.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Once'}, headers=key, status=201).json
    again = editor.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Once'}, headers=key, status=201).json
    assert first == again and len(owner.get(f'/bucketlists/{trip["id"]}/items/').json) == 3
    res = editor.get(f'/bucketlists/{trip["id"]}/items/?limit=1&page=2')
    assert res.headers['X-Total-Count'] == '3' and 'rel="next"' in res.headers['Link']


def test_deleting_an_account_removes_its_memberships_and_what_it_owned_for_every_member(owner, editor, viewer,
                                                                                     shared):
    trip, _ = shared
    cursor = editor.get('/sync').json['cursor']
    eddies, _ = new_list(editor, 'Eddie')
    editor.post_json(f'/bucketlists/{eddies["id"]}/members', {'email': 'alice@example.com', 'role': 'viewer'})
    accept_invitations(owner)
    owner.delete_json('/users/me', {'password': PASSWORD}, status=200)
    editor.get(f'/bucketlists/{trip["id"]}', status=404)
    assert editor.get(f'/bucketlists/{eddies["id"]}/members').json[1:] == []
    answer = editor.get('/sync', {'cursor': cursor}).json
    assert trip['id'] in answer['deleted']['bucketlists']
    with db.connection_context():
        assert Membership.select().count() == 0


# --- Sync ----------------------------------------------------------------------------------------

def test_sync_shows_being_added_and_being_removed(owner, viewer):
    trip, (pack,) = new_list(owner, 'Trip', ['Pack'])
    cursor = viewer.get('/sync').json['cursor']
    owner.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'vera@example.com', 'role': 'viewer'})
    assert viewer.get('/sync', {'cursor': cursor}).json['bucketlists'] == []  # invited only: nothing yet
    accept_invitations(viewer)
    answer = viewer.get('/sync', {'cursor': cursor}).json
    assert [(b['id'], b['role']) for b in answer['bucketlists']] == [(trip['id'], 'viewer')]
    assert [i['id'] for i in answer['items']] == [pack['id']]  # the list's items come with it
    owner.delete(f'/bucketlists/{trip["id"]}/members/{user_id_of(viewer)}')
    answer = viewer.get('/sync', {'cursor': answer['cursor']}).json
    # The list alone: a client drops its items with it (one tombstone however many items).
    assert answer['deleted'] == {'bucketlists': [trip['id']], 'items': [], 'labels': [], 'steps': []}
    assert answer['bucketlists'] == [] and answer['items'] == []


def test_an_item_moved_out_of_a_shared_list_leaves_every_copy_of_it(owner, editor, viewer, shared):
    trip, (pack, _) = shared
    cursors = {name: client.get('/sync').json['cursor'] for name, client in (('owner', owner), ('viewer', viewer))}
    eddies, _ = new_list(editor, 'Eddie')
    editor.post_json(f'/bucketlists/{trip["id"]}/items/{pack["id"]}/move', {'bucketlist_id': eddies['id']}, status=200)
    for name, client in (('owner', owner), ('viewer', viewer)):
        answer = client.get('/sync', {'cursor': cursors[name]}).json
        assert pack['id'] in answer['deleted']['items'] and pack['id'] not in [i['id'] for i in answer['items']]
    editor_answer = editor.get('/sync').json  # the mover sees it in its new list
    assert [i['bucketlist_id'] for i in editor_answer['items'] if i['id'] == pack['id']] == [eddies['id']]


def test_a_stored_answer_is_not_replayed_to_a_member_who_lost_the_right(owner, editor, shared):
    trip, _ = shared
    key = {'Idempotency-Key': 'eddie-retry'}
    editor.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Once'}, headers=key, status=201)
    owner.patch_json(f'/bucketlists/{trip["id"]}/members/{user_id_of(editor)}', {'role': 'viewer'})
    editor.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Once'}, headers=key, status=403)
    owner.delete(f'/bucketlists/{trip["id"]}/members/{user_id_of(editor)}')
    editor.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Once'}, headers=key, status=404)


def test_a_viewer_with_a_bad_body_is_refused_for_the_role_first(viewer, shared):
    trip, _ = shared
    viewer.post_json(f'/bucketlists/{trip["id"]}/items/', {'nope': 1}, status=403)


def test_a_members_sync_sees_the_others_changes(owner, editor, shared):
    trip, (pack, fly) = shared
    cursor = editor.get('/sync').json['cursor']
    owner.patch_json(f'/bucketlists/{trip["id"]}/items/{pack["id"]}', {'done': True})
    owner.delete(f'/bucketlists/{trip["id"]}/items/{fly["id"]}')
    answer = editor.get('/sync', {'cursor': cursor}).json
    assert [i['id'] for i in answer['items']] == [pack['id']] and answer['deleted']['items'] == [fly['id']]


# --- Every route, every role ----------------------------------------------------------------------

# What each route that names a bucketlist answers each role, on a list shared with them.
OK, FORBIDDEN, MISSING = 'ok', 403, 404
EVERYONE = {'owner': OK, 'editor': OK, 'viewer': OK, 'stranger': MISSING}
WRITERS = {'owner': OK, 'editor': OK, 'viewer': FORBIDDEN, 'stranger': MISSING}
OWNER_ONLY = {'owner': OK, 'editor': FORBIDDEN, 'viewer': FORBIDDEN, 'stranger': MISSING}
MATRIX = {
    ('GET', '/bucketlists/<bucketlist_id:id>'): EVERYONE,
    ('GET', '/bucketlists/<bucketlist_id:id>/activity'): EVERYONE,
    ('PUT', '/bucketlists/<bucketlist_id:id>'): OWNER_ONLY,
    ('PATCH', '/bucketlists/<bucketlist_id:id>'): OWNER_ONLY,
    ('DELETE', '/bucketlists/<bucketlist_id:id>'): OWNER_ONLY,
    ('POST', '/bucketlists/<bucketlist_id:id>/items/'): WRITERS,
    ('GET', '/bucketlists/<bucketlist_id:id>/items/'): EVERYONE,
    ('GET', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>'): EVERYONE,
    ('PUT', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>'): WRITERS,
    ('PATCH', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>'): WRITERS,
    ('DELETE', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>'): WRITERS,
    ('POST', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/move'): WRITERS,
    ('POST', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/'): WRITERS,
    ('GET', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/'): EVERYONE,
    ('GET', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/<step_id:id>'): EVERYONE,
    ('PATCH', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/<step_id:id>'): WRITERS,
    ('DELETE', '/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/<step_id:id>'): WRITERS,
    ('GET', '/bucketlists/<bucketlist_id:id>/members'): EVERYONE,
    ('POST', '/bucketlists/<bucketlist_id:id>/members'): OWNER_ONLY,
    ('PATCH', '/bucketlists/<bucketlist_id:id>/members/<user_id:id>'): OWNER_ONLY,
    # Removing the viewer: the owner may; the viewer herself may (she leaves); the editor may not.
    ('DELETE', '/bucketlists/<bucketlist_id:id>/members/<user_id:id>'):
        {'owner': OK, 'editor': FORBIDDEN, 'viewer': OK, 'stranger': MISSING},
}
BODIES = {'members': {'email': 'carol@example.com', 'role': 'viewer'}}


def test_the_matrix_covers_every_route_that_names_a_bucketlist():
    # (The trash's routes name a list that is in the trash: test_trash.py has who may reach them.)
    assert set(MATRIX) == {(method, rule) for method, rule, _ in routes(public=False)
                           if '<bucketlist_id' in rule and not rule.startswith('/trash/')}


@pytest.mark.parametrize('method, rule', sorted(MATRIX))
@pytest.mark.parametrize('role', ['owner', 'editor', 'viewer', 'stranger'])
def test_every_route_answers_each_role_as_the_matrix_says(owner, editor, viewer, stranger, shared, role, method,
                                                         rule):
    register_and_login('carol@example.com')
    trip, (pack, _) = shared
    client = {'owner': owner, 'editor': editor, 'viewer': viewer, 'stranger': stranger}[role]
    step = owner.post_json(f'/bucketlists/{trip["id"]}/items/{pack["id"]}/steps/', {'name': 'Socks'}).json
    path = example_path(rule, b=trip['id'], i=pack['id'], u=user_id_of(viewer), p=step['id'])
    body = BODIES['members'] if rule.endswith('/members') else {'position': 1} if rule.endswith('/move') else (
        {'role': 'editor'} if '<user_id' in rule else {'name': f'by {role}'} if method in ('POST', 'PUT', 'PATCH')
        else None)
    res = client.request(path, method=method, body=json.dumps(body).encode() if body else b'',
                         content_type='application/json', expect_errors=True)
    expected = MATRIX[(method, rule)][role]
    if expected == OK:
        assert res.status_int < 300, (res.status, res.text)
    else:
        assert res.status_int == expected, (res.status, res.text)


# --- Sequences of sharing, checked against a model ------------------------------------------------

class Sharing(RuleBasedStateMachine):
    """alice owns one list; bob and carol are shared in and out of it, with roles changing, while
    everybody reads and writes. Each answer must be what a plain model of the roles says."""

    @initialize()
    def start(self):
        empty_tables_now()  # every sequence from nothing, or hypothesis could not replay one
        self.clients = {name: register_and_login(f'{name}@example.com') for name in ('alice', 'bob', 'carol')}
        self.list_id = new_list(self.clients['alice'], 'Shared')[0]['id']
        self.roles = {'alice': 'owner'}

    @rule(name=st.sampled_from(['bob', 'carol']), role=st.sampled_from(['viewer', 'editor']))
    def share(self, name, role):
        res = self.clients['alice'].post_json(f'/bucketlists/{self.list_id}/members',
                                              {'email': f'{name}@example.com', 'role': role}, expect_errors=True)
        assert res.status_int == (409 if name in self.roles else 201)
        accept_invitations(self.clients[name])
        self.roles.setdefault(name, role)

    @rule(name=st.sampled_from(['bob', 'carol']), role=st.sampled_from(['viewer', 'editor']))
    def change_role(self, name, role):
        user_id = user_id_of(self.clients[name])
        res = self.clients['alice'].patch_json(f'/bucketlists/{self.list_id}/members/{user_id}', {'role': role},
                                               expect_errors=True)
        assert res.status_int == (200 if name in self.roles else 404)
        if name in self.roles:
            self.roles[name] = role

    @rule(name=st.sampled_from(['bob', 'carol']), by_self=st.booleans())
    def unshare(self, name, by_self):
        user_id = user_id_of(self.clients[name])
        res = self.clients[name if by_self else 'alice'].delete(f'/bucketlists/{self.list_id}/members/{user_id}',
                                                                expect_errors=True)
        assert res.status_int == (200 if name in self.roles else 404)
        self.roles.pop(name, None)

    @rule(name=st.sampled_from(['alice', 'bob', 'carol']))
    def read(self, name):
        res = self.clients[name].get(f'/bucketlists/{self.list_id}', expect_errors=True)
        assert res.status_int == (200 if name in self.roles else 404)
        if name in self.roles:
            assert res.json['role'] == self.roles[name]

    @rule(name=st.sampled_from(['alice', 'bob', 'carol']))
    def write(self, name):
        res = self.clients[name].post_json(f'/bucketlists/{self.list_id}/items/', {'name': f'by {name}'},
                                           expect_errors=True)
        role = self.roles.get(name)
        assert res.status_int == {None: 404, 'viewer': 403}.get(role, 201)

    @rule(name=st.sampled_from(['bob', 'carol']))
    def rename(self, name):
        res = self.clients[name].patch_json(f'/bucketlists/{self.list_id}', {'description': name},
                                            expect_errors=True)
        assert res.status_int == (403 if name in self.roles else 404)

    @invariant()
    @precondition(lambda self: hasattr(self, 'list_id'))
    def lists_agree(self):
        listed = [m['role'] for m in self.clients['alice'].get(f'/bucketlists/{self.list_id}/members').json]
        assert sorted(listed) == sorted(self.roles.values())


TestSharingSequences = Sharing.TestCase
TestSharingSequences.settings = settings(max_examples=15, stateful_step_count=12, deadline=None,
                                         suppress_health_check=list(HealthCheck))


# --- Races ---------------------------------------------------------------------------------------

def test_removing_a_member_while_they_write_is_before_or_after_never_between(owner, editor):
    if not ON_POSTGRESQL:
        return  # SQLite runs one writer at a time: nothing races
    trip, _ = new_list(owner, 'Race')
    members = f'/bucketlists/{trip["id"]}/members'
    eddie = user_id_of(editor)
    for attempt in range(5):
        owner.post_json(members, {'email': 'eddie@example.com', 'role': 'editor'}, status=201)
        accept_invitations(editor)
        answers, removed = [], []
        stop = threading.Event()

        def write(stop=stop, attempt=attempt, answers=answers):  # bound: joined within this iteration
            n = 0
            while not stop.is_set():
                started = time.monotonic()
                res = editor.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': f'{attempt}-{n}'},
                                       expect_errors=True)
                answers.append((started, res.status_int, res.json.get('id')))
                n += 1
        writers = [threading.Thread(target=write) for _ in range(3)]
        for thread in writers:
            thread.start()
        time.sleep(0.05)
        owner.delete(f'{members}/{eddie}', status=200)
        removed.append(time.monotonic())
        time.sleep(0.05)
        stop.set()
        for thread in writers:
            thread.join()
        assert {status for _, status, _ in answers} <= {201, 404}
        # Once the removal has answered, every write that starts is refused.
        assert all(status == 404 for started, status, _ in answers if started > removed[0])
        # Every write that succeeded came before the removal: it was made before the removal's
        # tombstone for the removed member, which the removal wrote holding the list's lock.
        created = {item_id for _, status, item_id in answers if status == 201}
        with db.connection_context():
            removed_at = (Deletion.select(fn.MAX(Deletion.deleted_at))
                          .where((Deletion.user == eddie) & (Deletion.kind == 'bucketlist')).scalar())
            stored = {item.id: item.date_created for item in Item.select().where(Item.bucketlist == trip['id'])}
        assert created <= set(stored) and all(stored[item_id] < removed_at for item_id in created)


@pytest.mark.parametrize('change', ['remove', 'make a viewer'])
def test_an_editor_changing_an_item_while_they_lose_the_right_is_before_or_after_never_between(
        owner, editor, change, monkeypatch):
    if not ON_POSTGRESQL:
        return  # SQLite runs one writer at a time: nothing races
    trip, (item,) = new_list(owner, 'Race', items=['Shared'])
    members = f'/bucketlists/{trip["id"]}/members'
    path = f'/bucketlists/{trip["id"]}/items/{item["id"]}'
    owner.post_json(members, {'email': 'eddie@example.com', 'role': 'editor'}, status=201)
    accept_invitations(editor)
    # The change takes a while once it has begun (its sync records, slowed): long enough for
    # writes to start meanwhile.
    recorded = {'remove': 'record_departure', 'make a viewer': 'record_sharing'}[change]
    record = getattr(sync, recorded)

    def slowly(*args):
        time.sleep(0.3)
        return record(*args)
    monkeypatch.setattr(sync, recorded, slowly)
    answers, stop = [], threading.Event()

    def write():
        while not stop.is_set():
            started = time.monotonic()
            res = editor.patch_json(path, {'notes': f'{started}'}, expect_errors=True)
            answers.append((started, res.status_int))
    writers = [threading.Thread(target=write) for _ in range(3)]
    for thread in writers:
        thread.start()
    time.sleep(0.05)
    began = time.monotonic()
    if change == 'remove':
        owner.delete(f'{members}/{user_id_of(editor)}', status=200)
    else:
        owner.patch_json(f'{members}/{user_id_of(editor)}', {'role': 'viewer'}, status=200)
    notes_then = owner.get(path).json['notes']
    time.sleep(0.05)
    stop.set()
    for thread in writers:
        thread.join()
    refused = 404 if change == 'remove' else 403
    assert {status for _, status in answers} <= {200, refused}
    # A write that starts once the change has begun waits for it, and is refused.
    assert [status for started, status in answers if started > began + 0.1] and all(
        status == refused for started, status in answers if started > began + 0.1)
    assert owner.get(path).json['notes'] == notes_then  # nothing landed after the change answered
