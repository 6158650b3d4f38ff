"""Recurring items: an RFC 5545 RRULE on an item with a due date. Ticking it done records the
completion and moves the due to the next occurrence, local to the item's zone, the item staying
open; a rule that ends (COUNT, UNTIL) closes it after its last occurrence."""
import pytest
from helpers import accept_invitations, new_item, new_list, register_and_login

from models import Item


@pytest.fixture
def habits(user):
    return new_list(user, 'Habits')[0]


def tick(client, item):
    return client.patch_json(f'/bucketlists/{item["bucketlist_id"]}/items/{item["id"]}', {'done': True}).json


def due(item):
    return item['due_date'], item['due_time'], item['due_at']


def test_ticking_a_daily_item_moves_it_to_tomorrow_and_keeps_it_open(user, habits):
    item = new_item(user, habits['id'], 'Stretch', due_date='2027-01-10', recurrence='FREQ=DAILY')
    assert item['recurrence'] == 'FREQ=DAILY' and item['last_completed_at'] is None
    ticked = tick(user, item)
    assert (ticked['done'], ticked['done_at'], ticked['due_date']) == (False, None, '2027-01-11')
    assert ticked['last_completed_at'] is not None and ticked['recurrence'] == 'FREQ=DAILY'
    stored = Item.get_by_id(item['id'])
    assert (stored.done, str(stored.due_date)) == (False, '2027-01-11')


@pytest.mark.parametrize('zone, before, after', [
    # Weekly at 09:00 in Berlin: 08:00Z in winter time, 07:00Z once the clocks go forward...
    ('Europe/Berlin', ('2027-03-22', '09:00', '2027-03-22T08:00:00Z'), ('2027-03-29', '09:00', '2027-03-29T07:00:00Z')),
    # ...and back.
    ('Europe/Berlin', ('2027-10-25', '09:00', '2027-10-25T07:00:00Z'), ('2027-11-01', '09:00', '2027-11-01T08:00:00Z')),
    # Lord Howe moves by half an hour: UTC+10:30 in winter, +11 from the first Sunday of October.
    ('Australia/Lord_Howe', ('2027-09-27', '09:00', '2027-09-26T22:30:00Z'),
     ('2027-10-04', '09:00', '2027-10-03T22:00:00Z')),
])
def test_a_weekly_local_time_stays_local_across_daylight_saving(user, habits, zone, before, after):
    item = new_item(user, habits['id'], 'Swim', due_date=before[0], due_time=before[1], time_zone=zone,
                    recurrence='FREQ=WEEKLY')
    assert due(item) == before
    assert due(tick(user, item)) == after


def test_a_monthly_rule_on_the_31st_skips_the_shorter_months(user, habits):
    item = new_item(user, habits['id'], 'Pay rent', due_date='2027-01-31', recurrence='FREQ=MONTHLY;BYMONTHDAY=31')
    dates = [tick(user, item)['due_date'] for _ in range(3)]
    assert dates == ['2027-03-31', '2027-05-31', '2027-07-31']


def test_the_last_day_of_each_month(user, habits):
    item = new_item(user, habits['id'], 'Invoice', due_date='2028-01-31', recurrence='FREQ=MONTHLY;BYMONTHDAY=-1')
    assert [tick(user, item)['due_date'] for _ in range(2)] == ['2028-02-29', '2028-03-31']


def test_a_yearly_rule_on_a_leap_day_waits_for_the_next_one(user, habits):
    item = new_item(user, habits['id'], 'Leap party', due_date='2028-02-29', recurrence='RRULE:FREQ=YEARLY')
    assert item['recurrence'] == 'FREQ=YEARLY'  # (the RRULE: prefix is optional)
    assert tick(user, item)['due_date'] == '2032-02-29'


def test_weekdays_skip_the_weekend(user, habits):
    item = new_item(user, habits['id'], 'Stand-up', due_date='2027-01-08', due_time='09:30', time_zone='UTC',
                    recurrence='FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR')
    assert due(tick(user, item)) == ('2027-01-11', '09:30', '2027-01-11T09:30:00Z')  # Friday, then Monday


def test_count_closes_the_item_after_its_last_occurrence(user, habits):
    item = new_item(user, habits['id'], 'Physio', due_date='2027-02-01', recurrence='FREQ=WEEKLY;COUNT=3')
    second = tick(user, item)
    assert (second['due_date'], second['recurrence'], second['done']) == ('2027-02-08', 'FREQ=WEEKLY;COUNT=2', False)
    third = tick(user, item)
    assert (third['due_date'], third['recurrence'], third['done']) == ('2027-02-15', 'FREQ=WEEKLY;COUNT=1', False)
    closed = tick(user, item)
    assert (closed['done'], closed['due_date']) == (True, '2027-02-15') and closed['done_at'] is not None


@pytest.mark.parametrize('until', ['20270215', '20270215T235959Z'])
def test_until_closes_the_item_after_its_last_occurrence(user, habits, until):
    item = new_item(user, habits['id'], 'Course', due_date='2027-02-01', recurrence=f'FREQ=WEEKLY;UNTIL={until}')
    assert [tick(user, item)['due_date'] for _ in range(2)] == ['2027-02-08', '2027-02-15']
    assert tick(user, item)['done'] is True


def test_until_is_an_instant_for_a_timed_item(user, habits):
    # 09:00 in Berlin on the 15th is 08:00Z: an UNTIL of 07:59Z ends the rule before it.
    item = new_item(user, habits['id'], 'Course', due_date='2027-02-08', due_time='09:00', time_zone='Europe/Berlin',
                    recurrence='FREQ=WEEKLY;UNTIL=20270215T075900Z')
    assert tick(user, item)['done'] is True


def test_done_with_recurrence_null_ends_it_for_good(user, habits):
    item = new_item(user, habits['id'], 'Stretch', due_date='2027-01-10', recurrence='FREQ=DAILY')
    url = f'/bucketlists/{habits["id"]}/items/{item["id"]}'
    ended = user.patch_json(url, {'done': True, 'recurrence': None}).json
    assert (ended['done'], ended['recurrence'], ended['due_date']) == (True, None, '2027-01-10')


def test_unticking_and_other_writes_do_not_move_the_due(user, habits):
    item = new_item(user, habits['id'], 'Stretch', due_date='2027-01-10', recurrence='FREQ=DAILY')
    url = f'/bucketlists/{habits["id"]}/items/{item["id"]}'
    assert user.patch_json(url, {'done': False}).json['due_date'] == '2027-01-10'
    assert user.patch_json(url, {'name': 'Stretch more'}).json['due_date'] == '2027-01-10'
    put = user.put_json(url, {'name': 'Stretch', 'due_date': '2027-01-10', 'recurrence': 'FREQ=DAILY',
                              'done': True}).json  # a PUT that ticks it ticks it too
    assert (put['done'], put['due_date']) == (False, '2027-01-11')


def test_an_editor_ticks_a_recurring_item_on_a_shared_list(user, habits):
    grace = register_and_login('grace@example.com')
    user.post_json(f'/bucketlists/{habits["id"]}/members', {'email': 'grace@example.com', 'role': 'editor'})
    accept_invitations(grace)
    item = new_item(user, habits['id'], 'Water the plants', due_date='2027-06-01', due_time='08:00',
                    time_zone='Europe/Berlin', recurrence='FREQ=DAILY;INTERVAL=3')
    grace.patch_json('/users/me', {'time_zone': 'Asia/Tokyo'})  # (the item's own zone rules)
    ticked = tick(grace, item)
    assert due(ticked) == ('2027-06-04', '08:00', '2027-06-04T06:00:00Z') and ticked['done'] is False
    assert due(user.get(f'/bucketlists/{habits["id"]}/items/{item["id"]}').json) == due(ticked)


def test_a_viewer_cannot_tick_it(user, habits):
    vera = register_and_login('vera@example.com')
    user.post_json(f'/bucketlists/{habits["id"]}/members', {'email': 'vera@example.com', 'role': 'viewer'})
    accept_invitations(vera)
    item = new_item(user, habits['id'], 'Stretch', due_date='2027-01-10', recurrence='FREQ=DAILY')
    res = vera.patch_json(f'/bucketlists/{habits["id"]}/items/{item["id"]}', {'done': True}, status=403)
    assert res.json['type'] == '/problems/viewer'
    assert Item.get_by_id(item['id']).due_date.isoformat() == '2027-01-10'


def test_a_recurrence_needs_a_due_date(user, habits):
    res = user.post_json(f'/bucketlists/{habits["id"]}/items/', {'name': 'x', 'recurrence': 'FREQ=DAILY'},
                         status=422)
    assert res.json['type'] == '/problems/recurrence-without-date' and set(res.json['errors']) == {'recurrence'}
    item = new_item(user, habits['id'], 'y', due_date='2027-01-01', recurrence='FREQ=DAILY')
    res = user.patch_json(f'/bucketlists/{habits["id"]}/items/{item["id"]}', {'due_date': None}, status=422)
    assert res.json['type'] == '/problems/recurrence-without-date'


@pytest.mark.parametrize('rule', ['FREQ=SECONDLY', 'FREQ=MINUTELY', 'FREQ=DAILY;INTERVAL=0', 'FREQ=DAILY;COUNT=0',
                                  'freq=daily', 'FREQ=DAILY;DTSTART=20270101', 'FREQ=DAILY;BYSECOND=1',
                                  'FREQ=WEEKLY;BYDAY=XX', 'FREQ=DAILY;UNTIL=2027-01-01', 'FREQ=DAILY;', '',
                                  'FREQ=DAILY\nRRULE:FREQ=WEEKLY', 'FREQ=DAILY;INTERVAL=1000',
                                  'FREQ=DAILY;' + 'BYMONTH=1;' * 40 + 'BYMONTH=1', 7])
def test_a_rule_that_is_not_one_we_read_is_400(user, habits, rule):
    res = user.post_json(f'/bucketlists/{habits["id"]}/items/',
                         {'name': 'x', 'due_date': '2027-01-01', 'recurrence': rule}, status=400)
    assert set(res.json['errors']) == {'recurrence'}


@pytest.mark.parametrize('rule', ['FREQ=DAILY;FREQ=WEEKLY', 'INTERVAL=2', 'FREQ=DAILY;BYMONTHDAY=1',
                                  'FREQ=WEEKLY;BYDAY=1MO', 'FREQ=MONTHLY;BYDAY=6MO', 'FREQ=HOURLY;BYDAY=MO',
                                  'FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30', 'FREQ=DAILY;UNTIL=20270231',
                                  'FREQ=MONTHLY;INTERVAL=12;BYMONTHDAY=30', 'FREQ=DAILY;COUNT=2;UNTIL=20270301',
                                  'FREQ=MONTHLY;BYMONTHDAY=1;BYSETPOS=2,3,4,5,6', 'FREQ=MONTHLY;BYDAY=MO;BYSETPOS=32',
                                  'FREQ=HOURLY'])
def test_a_rule_we_read_but_cannot_keep_is_422_saying_why(user, habits, rule):
    res = user.post_json(f'/bucketlists/{habits["id"]}/items/',
                         {'name': 'x', 'due_date': '2027-02-01', 'recurrence': rule}, status=422)
    assert res.json['type'] == '/problems/unsupported-recurrence' and set(res.json['errors']) == {'recurrence'}


def test_a_form_sends_a_recurrence_and_clears_it(user, habits):
    item = user.post(f'/bucketlists/{habits["id"]}/items/',
                     {'name': 'Stretch', 'due_date': '2027-01-10', 'recurrence': 'FREQ=DAILY'}, status=201).json
    assert item['recurrence'] == 'FREQ=DAILY'
    cleared = user.patch(f'/bucketlists/{habits["id"]}/items/{item["id"]}', {'recurrence': ''}).json
    assert cleared['recurrence'] is None


def test_sync_shows_the_moved_due(user, habits):
    item = new_item(user, habits['id'], 'Stretch', due_date='2027-01-10', recurrence='FREQ=DAILY')
    cursor = user.get('/sync').json['cursor']
    tick(user, item)
    (synced,) = user.get(f'/sync?cursor={cursor}').json['items']
    assert (synced['due_date'], synced['done'], synced['recurrence']) == ('2027-01-11', False, 'FREQ=DAILY')


def test_at_the_calendar_s_end_a_recurring_item_closes(user, habits):
    item = new_item(user, habits['id'], 'Last days', due_date='9999-12-30', recurrence='FREQ=DAILY')
    assert tick(user, item)['due_date'] == '9999-12-31'
    closed = tick(user, item)
    assert (closed['done'], closed['due_date']) == (True, '9999-12-31')
    last = new_item(user, habits['id'], 'Once', due_date='9999-12-31', recurrence='FREQ=DAILY;COUNT=1')
    assert tick(user, last)['done'] is True


def test_an_hourly_rule_needs_a_due_time(user, habits):
    res = user.post_json(f'/bucketlists/{habits["id"]}/items/',
                         {'name': 'x', 'due_date': '2027-01-01', 'recurrence': 'FREQ=HOURLY'}, status=422)
    assert res.json['type'] == '/problems/unsupported-recurrence'
    item = new_item(user, habits['id'], 'Stretch', due_date='2027-01-01', due_time='09:00', time_zone='UTC',
                    recurrence='FREQ=HOURLY;INTERVAL=4')
    assert due(tick(user, item)) == ('2027-01-01', '13:00', '2027-01-01T13:00:00Z')

