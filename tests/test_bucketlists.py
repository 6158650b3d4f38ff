"""The tutorial's bucketlist tests, ported to WebTest with tokens, and the CRUD rules around them:
names, descriptions, timestamps, read-only fields."""
from datetime import datetime

import pytest
from helpers import new_list, set_back_an_hour

from models import Bucketlist, Item

BUCKETLIST = {'name': 'Go to Borabora for vacation'}


def test_bucketlist_creation(user):
    res = user.post('/bucketlists/', BUCKETLIST, status=201)
    assert 'Go to Borabora' in res.text
    assert set(res.json) == {'id', 'name', 'description', 'created_by', 'role', 'date_created', 'date_modified',
                             'version', 'items', 'has_more_items'}
    assert res.json['date_created'] == res.json['date_modified']


def test_api_can_get_all_bucketlists(user):
    new_list(user, **BUCKETLIST)
    res = user.get('/bucketlists/', status=200)
    assert 'Go to Borabora' in res.text
    assert isinstance(res.json, list) and len(res.json) == 1


def test_api_can_get_bucketlist_by_id(user):
    created, _ = new_list(user, **BUCKETLIST)
    res = user.get(f'/bucketlists/{created["id"]}', status=200)
    assert 'Go to Borabora' in res.text
    assert res.json == created


def test_bucketlist_can_be_edited(user):
    created, _ = new_list(user, 'Eat, pray and love')
    res = user.put(f'/bucketlists/{created["id"]}', {'name': "Dont just eat, but also pray and love :-)"}, status=200)
    assert res.json['name'] == "Dont just eat, but also pray and love :-)"
    assert 'Dont just eat' in user.get(f'/bucketlists/{created["id"]}').text


def test_bucketlist_deletion(user):
    created, _ = new_list(user, 'Eat, pray and love')
    res = user.delete(f'/bucketlists/{created["id"]}', status=200)
    assert res.json == {'message': f'bucketlist {created["id"]} deleted successfully'}
    user.get(f'/bucketlists/{created["id"]}', status=404)


def test_create_accepts_json_as_well_as_forms(user):
    res = user.post_json('/bucketlists/', {'name': 'See the northern lights'}, status=201)
    assert res.json['name'] == 'See the northern lights'
    assert res.content_type == 'application/json'


def test_timestamps_are_utc_iso_8601(user):
    res = user.post_json('/bucketlists/', BUCKETLIST, status=201)
    for field in ('date_created', 'date_modified'):
        assert res.json[field].endswith('Z')
        datetime.fromisoformat(res.json[field].replace('Z', '+00:00'))


def test_edit_advances_date_modified_only(user):
    created, _ = new_list(user)
    created = set_back_an_hour(Bucketlist, created['id'], user, f'/bucketlists/{created["id"]}')
    edited = user.put_json(f'/bucketlists/{created["id"]}', {'name': 'Go to Tahiti'}).json
    assert edited['date_created'] == created['date_created']
    assert edited['date_modified'] > created['date_modified']


def test_names_are_trimmed(user):
    res = user.post_json('/bucketlists/', {'name': '  Climb Kilimanjaro \n'}, status=201)
    assert res.json['name'] == 'Climb Kilimanjaro'


@pytest.mark.parametrize('name', ['\u200b', ' \u200b\u200c ', '\ufeff', '\u2060\u00a0'])
def test_a_name_of_only_invisible_characters_is_blank(user, name):
    res = user.post_json('/bucketlists/', {'name': name}, status=400)
    assert res.json['errors']['name'] == 'Must not be blank.'


def test_names_are_trimmed_of_invisible_characters(user):
    assert user.post_json('/bucketlists/', {'name': '\u200bSail\u200b '}, status=201).json['name'] == 'Sail'


def test_blank_missing_or_long_names_are_refused(user):
    for body in ({'name': '   '}, {}, {'name': 'x' * 256}, {'name': 42}, {'name': None}):
        res = user.post_json('/bucketlists/', body, status=400)
        assert 'name' in res.json['errors']
    assert Bucketlist.select().count() == 0


def test_a_name_of_255_characters_is_accepted(user):
    user.post_json('/bucketlists/', {'name': 'é' * 255}, status=201)


def test_put_requires_a_name(user):
    created, _ = new_list(user, **BUCKETLIST)
    user.put_json(f'/bucketlists/{created["id"]}', {}, status=400)
    assert user.get(f'/bucketlists/{created["id"]}').json['name'] == BUCKETLIST['name']


def test_patch_changes_the_name(user):
    created, _ = new_list(user)
    res = user.patch_json(f'/bucketlists/{created["id"]}', {'name': 'Sail to Fiji'}, status=200)
    assert res.json['name'] == 'Sail to Fiji'


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


def test_body_cannot_set_read_only_fields(user):
    res = user.post_json('/bucketlists/', {'name': 'Mine', 'id': 99, 'created_by': 7,
                                           'date_created': '2000-01-01T00:00:00Z'}, status=400)
    assert set(res.json['errors']) == {'id', 'created_by', 'date_created'}
    created, _ = new_list(user)
    user.patch_json(f'/bucketlists/{created["id"]}', {'created_by': 2}, status=400)
    assert Bucketlist.get_by_id(created['id']).owner_id == created['created_by']


def test_duplicate_names_conflict_on_create_and_rename(user):
    new_list(user, 'One')
    second, _ = new_list(user, 'Two')
    res = user.post_json('/bucketlists/', {'name': 'One'}, status=409)
    assert res.content_type == 'application/problem+json'
    user.put_json(f'/bucketlists/{second["id"]}', {'name': 'One'}, status=409)
    assert user.get(f'/bucketlists/{second["id"]}').json['name'] == 'Two'


def test_two_users_may_use_the_same_name(user, other_user):
    user.post_json('/bucketlists/', {'name': 'Same'}, status=201)
    other_user.post_json('/bucketlists/', {'name': 'Same'}, status=201)


def test_deleting_a_bucketlist_deletes_its_items(user):
    created, _ = new_list(user, items=['Book flights'])
    user.delete(f'/bucketlists/{created["id"]}', status=200)
    assert Item.select().count() == 0


def test_the_database_holds_the_bucketlist(user):
    created, _ = new_list(user, **BUCKETLIST)
    row = Bucketlist.get_by_id(created['id'])
    assert row.name == BUCKETLIST['name']


def test_a_deleted_bucketlists_id_is_never_given_again(user):
    # A client retrying DELETE /bucketlists/1 must not delete the list made after it.
    first, (item,) = new_list(user, 'First', ['Item'])
    user.delete(f'/bucketlists/{first["id"]}', status=200)
    second, (other_item,) = new_list(user, 'Second', ['Item'])
    assert second['id'] != first['id'] and other_item['id'] != item['id']
    user.delete(f'/bucketlists/{first["id"]}', status=404)
