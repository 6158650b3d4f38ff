"""The tutorial's bucketlist tests, ported to WebTest with tokens, and the CRUD rules around them."""
from datetime import datetime

from helpers import set_back_an_hour

from models import Bucketlist

BUCKETLIST = {'name': 'Go to Borabora for vacation'}


def test_bucketlist_creation(user):
    res = user.post('/bucketlists/', BUCKETLIST, status=201)
    assert 'Go to Borabora' in res.text
    assert set(res.json) == {'id', 'name', 'description', 'created_by', 'role', 'date_created', 'date_modified',
                             'items'}
    assert res.json['date_created'] == res.json['date_modified']


def test_api_can_get_all_bucketlists(user):
    user.post('/bucketlists/', BUCKETLIST, status=201)
    res = user.get('/bucketlists/', status=200)
    assert 'Go to Borabora' in res.text
    assert isinstance(res.json, list) and len(res.json) == 1


def test_api_can_get_bucketlist_by_id(user):
    created = user.post('/bucketlists/', BUCKETLIST, status=201).json
    res = user.get(f'/bucketlists/{created["id"]}', status=200)
    assert 'Go to Borabora' in res.text
    assert res.json == created


def test_bucketlist_can_be_edited(user):
    user.post('/bucketlists/', {'name': 'Eat, pray and love'}, status=201)
    res = user.put('/bucketlists/1', {'name': "Dont just eat, but also pray and love :-)"}, status=200)
    assert res.json['name'] == "Dont just eat, but also pray and love :-)"
    assert 'Dont just eat' in user.get('/bucketlists/1').text


def test_bucketlist_deletion(user):
    user.post('/bucketlists/', {'name': 'Eat, pray and love'}, status=201)
    res = user.delete('/bucketlists/1', status=200)
    assert res.json == {'message': 'bucketlist 1 deleted successfully'}
    user.get('/bucketlists/1', status=404)


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
    created = user.post_json('/bucketlists/', BUCKETLIST).json
    created = set_back_an_hour(Bucketlist, created['id'], user, f'/bucketlists/{created["id"]}')
    edited = user.put_json(f'/bucketlists/{created["id"]}', {'name': 'Go to Tahiti'}).json
    assert edited['date_created'] == created['date_created']
    assert edited['date_modified'] > created['date_modified']


def test_names_are_trimmed(user):
    res = user.post_json('/bucketlists/', {'name': '  Climb Kilimanjaro \n'}, status=201)
    assert res.json['name'] == 'Climb Kilimanjaro'


def test_blank_missing_or_long_names_are_refused(user):
    for body in ({'name': '   '}, {}, {'name': 'x' * 256}, {'name': 42}, {'name': None}):
        res = user.post_json('/bucketlists/', body, status=400)
        assert 'name' in res.json['errors']
    assert Bucketlist.select().count() == 0


def test_a_name_of_255_characters_is_accepted(user):
    user.post_json('/bucketlists/', {'name': 'é' * 255}, status=201)


def test_put_requires_a_name(user):
    created = user.post_json('/bucketlists/', BUCKETLIST).json
    user.put_json(f'/bucketlists/{created["id"]}', {}, status=400)
    assert user.get(f'/bucketlists/{created["id"]}').json['name'] == BUCKETLIST['name']


def test_patch_changes_the_name(user):
    created = user.post_json('/bucketlists/', BUCKETLIST).json
    res = user.patch_json(f'/bucketlists/{created["id"]}', {'name': 'Sail to Fiji'}, status=200)
    assert res.json['name'] == 'Sail to Fiji'


def test_body_cannot_set_read_only_fields(user):
    res = user.post_json('/bucketlists/', {'name': 'Mine', 'id': 99, 'created_by': 7,
                                           'date_created': '2000-01-01T00:00:00Z'}, status=400)
    assert set(res.json['errors']) == {'id', 'created_by', 'date_created'}
    created = user.post_json('/bucketlists/', {'name': 'Mine'}).json
    user.patch_json(f'/bucketlists/{created["id"]}', {'created_by': 2}, status=400)
    assert Bucketlist.get_by_id(created['id']).owner_id == created['created_by']


def test_duplicate_names_conflict_on_create_and_rename(user):
    user.post_json('/bucketlists/', {'name': 'One'}, status=201)
    second = user.post_json('/bucketlists/', {'name': 'Two'}, status=201).json
    res = user.post_json('/bucketlists/', {'name': 'One'}, status=409)
    assert res.content_type == 'application/problem+json'
    user.put_json(f'/bucketlists/{second["id"]}', {'name': 'One'}, status=409)
    assert user.get(f'/bucketlists/{second["id"]}').json['name'] == 'Two'


def test_two_users_may_use_the_same_name(user, other_user):
    user.post_json('/bucketlists/', {'name': 'Same'}, status=201)
    other_user.post_json('/bucketlists/', {'name': 'Same'}, status=201)


def test_deleting_a_bucketlist_deletes_its_items(user):
    created = user.post_json('/bucketlists/', BUCKETLIST).json
    user.post_json(f'/bucketlists/{created["id"]}/items/', {'name': 'Book flights'}, status=201)
    user.delete(f'/bucketlists/{created["id"]}', status=200)
    from models import Item
    assert Item.select().count() == 0


def test_the_database_holds_the_bucketlist(user):
    created = user.post_json('/bucketlists/', BUCKETLIST).json
    row = Bucketlist.get_by_id(created['id'])
    assert row.name == BUCKETLIST['name']

