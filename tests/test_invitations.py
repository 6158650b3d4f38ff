"""Sharing with consent: the owner's add is an invitation, and nothing of the list reaches the
invitee until they accept it."""
import pytest
from helpers import PASSWORD, accept_invitations, new_list, register_and_login, user_id_of

import settings
from models import Deletion, db


@pytest.fixture
def grace():
    return register_and_login('grace@example.com')


def invite(owner, bucketlist_id, email='grace@example.com', role='editor', status=201):
    return owner.post_json(f'/bucketlists/{bucketlist_id}/members', {'email': email, 'role': role}, status=status)


def test_nothing_of_a_list_reaches_the_invitee_before_they_accept(user, grace):
    trip, (pack,) = new_list(user, 'FREE PRIZE', ['Claim it'])
    cursor = grace.get('/sync').json['cursor']
    assert invite(user, trip['id']).json['status'] == 'pending'
    assert grace.get('/bucketlists/').json == []
    grace.get(f'/bucketlists/{trip["id"]}', status=404)
    grace.get(f'/bucketlists/{trip["id"]}/items/{pack["id"]}', status=404)
    assert grace.get('/sync', {'cursor': cursor}).json['bucketlists'] == []
    assert grace.get('/sync').json['items'] == []
    assert grace.get('/users/me/export').json['bucketlists'] == []
    (invitation,) = grace.get('/invitations').json
    assert invitation == {'id': invitation['id'], 'bucketlist_id': trip['id'], 'bucketlist_name': 'FREE PRIZE',
                          'role': 'editor', 'invited_by': 'alice@example.com',
                          'date_added': invitation['date_added']}
    listed = user.get(f'/bucketlists/{trip["id"]}/members').json
    assert [(m['email'], m['status']) for m in listed] == [('alice@example.com', 'active'),
                                                          ('grace@example.com', 'pending')]


def test_accepting_makes_the_invitee_a_member_whose_next_sync_brings_the_list(user, grace):
    trip, (pack,) = new_list(user, 'Trip', ['Pack'])
    cursor = grace.get('/sync').json['cursor']
    invite(user, trip['id'])
    (joined,) = accept_invitations(grace)
    assert (joined['id'], joined['role']) == (trip['id'], 'editor')
    assert grace.get('/invitations').json == []
    answer = grace.get('/sync', {'cursor': cursor}).json
    assert [b['id'] for b in answer['bucketlists']] == [trip['id']] and [i['id'] for i in answer['items']] == [
        pack['id']]
    grace.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'By grace'}, status=201)
    assert [m['status'] for m in user.get(f'/bucketlists/{trip["id"]}/members').json] == ['active', 'active']


def test_declining_or_a_withdrawal_leaves_no_trace(user, grace):
    trip, _ = new_list(user, 'Trip')
    invite(user, trip['id'])
    (invitation,) = grace.get('/invitations').json
    assert 'declined' in grace.post(f'/invitations/{invitation["id"]}/decline', status=200).json['message']
    grace.post(f'/invitations/{invitation["id"]}/accept', status=404)
    assert len(user.get(f'/bucketlists/{trip["id"]}/members').json) == 1
    invite(user, trip['id'])
    user.delete(f'/bucketlists/{trip["id"]}/members/{user_id_of(grace)}', status=200)  # withdrawn
    assert grace.get('/invitations').json == []
    grace.get(f'/bucketlists/{trip["id"]}', status=404)


def test_only_the_invitee_answers_an_invitation(user, grace, other_user):
    trip, _ = new_list(user, 'Trip')
    invite(user, trip['id'])
    (invitation,) = grace.get('/invitations').json
    for client in (other_user, user):
        client.post(f'/invitations/{invitation["id"]}/accept', status=404)
        client.post(f'/invitations/{invitation["id"]}/decline', status=404)
    other_user.get(f'/bucketlists/{trip["id"]}', status=404)
    grace.post('/invitations/99999/accept', status=404)


def test_inviting_twice_or_inviting_a_member_is_409(user, grace):
    trip, _ = new_list(user, 'Trip')
    invite(user, trip['id'])
    assert invite(user, trip['id'], status=409).json['type'] == '/problems/already-a-member'
    accept_invitations(grace)
    invite(user, trip['id'], status=409)


def test_invitations_are_throttled_per_owner_and_per_invitee(user, grace, monkeypatch):
    monkeypatch.setattr(settings, 'INVITATIONS_PER_HOUR', 2)
    for n in range(3):
        register_and_login(f'friend{n}@example.com')
    lists = [new_list(user, f'List {n}')[0]['id'] for n in range(3)]
    invite(user, lists[0], 'friend0@example.com')
    invite(user, lists[0], 'friend1@example.com')
    assert 'Retry-After' in invite(user, lists[0], 'friend2@example.com', status=429).headers  # per owner
    spammers = [register_and_login(f'spammer{n}@example.com') for n in range(3)]
    for spammer in spammers[:2]:
        invite(spammer, new_list(spammer, 'Prize')[0]['id'])
    invite(spammers[2], new_list(spammers[2], 'Prize')[0]['id'], status=429)  # per invitee
    assert len(grace.get('/invitations').json) == 2


def test_a_member_removed_again_and_again_gets_one_tombstone_each_time(user, grace):
    trip, _ = new_list(user, 'Big', [f'Item {n}' for n in range(20)])
    for _ in range(3):
        invite(user, trip['id'])
        accept_invitations(grace)
        user.delete(f'/bucketlists/{trip["id"]}/members/{user_id_of(grace)}', status=200)
    with db.connection_context():
        assert Deletion.select().where(Deletion.user == user_id_of(grace)).count() == 3  # not 3 x 21


def test_deleting_the_invitees_account_or_the_list_ends_the_invitation(user, grace):
    trip, _ = new_list(user, 'Trip')
    invite(user, trip['id'])
    user.delete(f'/bucketlists/{trip["id"]}', status=200)
    assert grace.get('/invitations').json == []
    other, _ = new_list(user, 'Other')
    invite(user, other['id'])
    grace.delete_json('/users/me', {'password': PASSWORD}, status=200)
    assert len(user.get(f'/bucketlists/{other["id"]}/members').json) == 1
