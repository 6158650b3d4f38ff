"""Due times in time zones: an item is due on a date, or at a local time in an IANA zone (its own,
or its writer's account's); answers give the local date and time, the zone and the UTC instant."""
import pytest
from helpers import accept_invitations, item_names, new_item, new_list, register_and_login


@pytest.fixture
def trip(user):
    return new_list(user, 'Japan trip')[0]


def test_the_account_has_a_time_zone_utc_until_changed(user):
    assert user.get('/users/me').json['time_zone'] == 'UTC'
    assert user.patch_json('/users/me', {'time_zone': 'Europe/Berlin'}).json['time_zone'] == 'Europe/Berlin'
    assert user.get('/users/me').json['time_zone'] == 'Europe/Berlin'


@pytest.mark.parametrize('zone', ['Mars/Olympus', 'europe/berlin', '', None, 'UTC\x00', 'x' * 300, 3])
def test_an_account_time_zone_is_an_iana_name(user, zone):
    res = user.patch_json('/users/me', {'time_zone': zone}, status=400)
    assert set(res.json['errors']) == {'time_zone'}


def test_a_date_only_due_has_no_time_and_no_instant(user, trip):
    item = new_item(user, trip['id'], 'Book the flights', due_date='2027-03-01')
    assert (item['due_date'], item['due_time'], item['time_zone'], item['due_at']) == ('2027-03-01', None, None, None)


@pytest.mark.parametrize('zone, local, instant', [
    ('Europe/Berlin', ('2027-03-27', '09:00'), '2027-03-27T08:00:00Z'),  # winter time, UTC+1
    ('Europe/Berlin', ('2027-03-28', '09:00'), '2027-03-28T07:00:00Z'),  # summer time from 02:00 that day
    ('Europe/Berlin', ('2027-10-31', '09:00'), '2027-10-31T08:00:00Z'),  # winter again
    ('Europe/Berlin', ('2027-03-28', '02:30'), '2027-03-28T01:30:00Z'),  # in the gap: the offset before
    ('Australia/Lord_Howe', ('2027-01-15', '09:00'), '2027-01-14T22:00:00Z'),  # UTC+11 in summer
    ('Australia/Lord_Howe', ('2027-07-15', '09:00'), '2027-07-14T22:30:00Z'),  # UTC+10:30 in winter
    ('America/Sao_Paulo', ('2028-02-29', '23:59'), '2028-03-01T02:59:00Z'),  # a leap day, UTC-3
])
def test_a_due_time_is_local_to_its_zone_and_its_instant_is_utc(user, trip, zone, local, instant):
    item = new_item(user, trip['id'], 'Call home', due_date=local[0], due_time=local[1], time_zone=zone)
    assert (item['due_date'], item['due_time'], item['time_zone'], item['due_at']) == (*local, zone, instant)


def test_a_due_time_without_a_zone_takes_the_writer_s_account_zone(user, trip):
    user.patch_json('/users/me', {'time_zone': 'Asia/Tokyo'})
    item = new_item(user, trip['id'], 'Board', due_date='2027-04-01', due_time='10:15')
    assert (item['time_zone'], item['due_at']) == ('Asia/Tokyo', '2027-04-01T01:15:00Z')
    # The account's zone changing later moves nothing: the item keeps the zone it was given.
    user.patch_json('/users/me', {'time_zone': 'UTC'})
    assert user.get(f'/bucketlists/{trip["id"]}/items/{item["id"]}').json['due_at'] == '2027-04-01T01:15:00Z'


def test_a_patch_of_one_due_field_keeps_the_others_and_moves_the_instant(user, trip):
    base = f'/bucketlists/{trip["id"]}/items'
    item = new_item(user, trip['id'], 'Call home', due_date='2027-07-01', due_time='09:00', time_zone='Europe/Berlin')
    moved = user.patch_json(f'{base}/{item["id"]}', {'due_time': '18:30'}).json
    assert (moved['due_date'], moved['due_time'], moved['time_zone'], moved['due_at']) == \
        ('2027-07-01', '18:30', 'Europe/Berlin', '2027-07-01T16:30:00Z')
    rezoned = user.patch_json(f'{base}/{item["id"]}', {'time_zone': 'America/New_York'}).json
    assert rezoned['due_at'] == '2027-07-01T22:30:00Z'
    redated = user.patch_json(f'{base}/{item["id"]}', {'due_date': '2027-12-01'}).json
    assert redated['due_at'] == '2027-12-01T23:30:00Z'  # New York in winter, UTC-5
    untimed = user.patch_json(f'{base}/{item["id"]}', {'due_time': None}).json
    assert (untimed['due_date'], untimed['due_time'], untimed['due_at']) == ('2027-12-01', None, None)
    renamed = user.patch_json(f'{base}/{item["id"]}', {'name': 'Call home, really'}).json
    assert (renamed['due_date'], renamed['time_zone']) == ('2027-12-01', 'America/New_York')
    replaced = user.put_json(f'{base}/{item["id"]}', {'name': 'Call home'}).json
    assert (replaced['due_date'], replaced['due_time'], replaced['time_zone'], replaced['due_at']) == \
        (None, None, None, None)


def test_a_due_time_needs_a_due_date(user, trip):
    res = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'x', 'due_time': '09:00'}, status=422)
    assert res.json['type'] == '/problems/due-time-without-date' and set(res.json['errors']) == {'due_time'}
    item = new_item(user, trip['id'], 'y', due_date='2027-01-01', due_time='09:00')
    res = user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'due_date': None}, status=422)
    assert res.json['type'] == '/problems/due-time-without-date'
    assert user.get(f'/bucketlists/{trip["id"]}/items/{item["id"]}').json['due_date'] == '2027-01-01'


@pytest.mark.parametrize('field, value', [('due_time', '9:00'), ('due_time', '24:00'), ('due_time', '09:60'),
                                          ('due_time', '09:00:00'), ('due_time', 900), ('time_zone', 'Nowhere/Town'),
                                          ('time_zone', 'Europe/Berlin ')])
def test_bad_due_times_and_zones_are_400_naming_them(user, trip, field, value):
    res = user.post_json(f'/bucketlists/{trip["id"]}/items/',
                         {'name': 'x', 'due_date': '2027-01-01', field: value}, status=400)
    assert set(res.json['errors']) == {field}


def test_a_form_sends_due_times_too(user, trip):
    body = {'name': 'Call', 'due_date': '2027-01-01', 'due_time': '07:05', 'time_zone': 'UTC'}
    item = user.post(f'/bucketlists/{trip["id"]}/items/', body, status=201).json
    assert item['due_at'] == '2027-01-01T07:05:00Z'
    cleared = user.patch(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'due_time': '', 'time_zone': ''}).json
    assert (cleared['due_time'], cleared['time_zone'], cleared['due_at']) == (None, None, None)


def test_sorting_by_due_date_puts_a_day_s_timed_items_in_time_order(user, trip):
    for name, due in [('late', ('2027-05-01', '20:00')), ('all day', ('2027-05-01', None)),
                      ('early', ('2027-05-01', '06:30')), ('before', ('2027-04-30', '23:00'))]:
        new_item(user, trip['id'], name, due_date=due[0], due_time=due[1])
    assert item_names(user, trip['id'], '?sort=due_date') == ['before', 'all day', 'early', 'late']
    assert item_names(user, trip['id'], '?due_after=2027-05-01&sort=due_date') == ['all day', 'early', 'late']


def test_an_editor_s_due_time_takes_the_editor_s_zone_on_a_shared_list(user, trip):
    user.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'grace@example.com', 'role': 'editor'},
                   status=404)  # (no such account yet)
    grace = register_and_login('grace@example.com')
    grace.patch_json('/users/me', {'time_zone': 'America/Sao_Paulo'})
    user.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'grace@example.com', 'role': 'editor'})
    accept_invitations(grace)
    item = new_item(grace, trip['id'], 'Samba', due_date='2027-02-10', due_time='20:00')
    assert (item['time_zone'], item['due_at']) == ('America/Sao_Paulo', '2027-02-10T23:00:00Z')
    assert user.get(f'/bucketlists/{trip["id"]}/items/{item["id"]}').json['due_at'] == '2027-02-10T23:00:00Z'


def test_sync_and_the_export_carry_due_times(user, trip):
    cursor = user.get('/sync').json['cursor']
    item = new_item(user, trip['id'], 'Call', due_date='2027-01-01', due_time='12:00', time_zone='Europe/Berlin')
    (synced,) = user.get(f'/sync?cursor={cursor}').json['items']
    assert (synced['due_time'], synced['time_zone'], synced['due_at']) == ('12:00', 'Europe/Berlin',
                                                                          '2027-01-01T11:00:00Z')
    export = user.get('/users/me/export').json
    assert export['account']['time_zone'] == 'UTC'
    (exported,) = [i for b in export['bucketlists'] for i in b['items'] if i['id'] == item['id']]
    assert exported['due_at'] == '2027-01-01T11:00:00Z'


@pytest.mark.parametrize('due_date, due_time, zone', [('9999-12-31', '23:59', 'Etc/GMT+12'),
                                                      ('0001-01-01', '00:00', 'Asia/Tokyo')])
def test_a_due_time_whose_instant_is_past_the_calendar_s_ends_is_422_not_500(user, trip, due_date, due_time, zone):
    body = {'due_date': due_date, 'due_time': due_time, 'time_zone': zone}
    res = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'x', **body}, status=422)
    assert res.json['type'] == '/problems/due-time-out-of-range' and set(res.json['errors']) == {'due_time'}
    item = new_item(user, trip['id'], 'y')
    res = user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', body, status=422)
    assert res.json['type'] == '/problems/due-time-out-of-range'
    # Without a time the date alone is fine: there is no instant to place.
    assert new_item(user, trip['id'], 'z', due_date=due_date)['due_date'] == due_date
