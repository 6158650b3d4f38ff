"""The calendar feed: a secret URL per account that calendar apps subscribe to, serving the open
items it sees that are due, as iCalendar (RFC 5545); recurring ones as an RRULE."""
from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil.rrule import rrulestr
from helpers import accept_invitations, new_item, new_list, register_and_login


def feed_path(client):
    return urlsplit(client.get('/users/me/calendar').json['url']).path


def events(client, path=None):
    res = client.get(path or feed_path(client), headers={'Authorization': ''})
    assert res.content_type == 'text/calendar' and res.charset == 'utf-8'
    calendar = icalendar.Calendar.from_ical(res.body)
    return {str(event['SUMMARY']): event for event in calendar.walk('VEVENT')}


@pytest.fixture
def trip(user):
    return new_list(user, 'Trip')[0]


def test_the_feed_url_is_secret_and_absolute(user):
    url = user.get('/users/me/calendar').json['url']
    parts = urlsplit(url)
    assert parts.scheme in ('http', 'https') and parts.netloc and parts.path.startswith('/calendar/')
    assert len(parts.path) > 50  # (a secret: 256 bits of MAC)
    assert user.get('/users/me/calendar').json['url'] == url  # the same until rotated


def test_dated_and_timed_items_are_events_and_the_rest_stay_out(user, trip):
    new_item(user, trip['id'], 'Pay rent', due_date='2027-03-01')
    new_item(user, trip['id'], 'Fly, 09:30 in Paris', due_date='2027-03-01', due_time='09:30', time_zone='Europe/Paris',
             notes='Seat 12A')
    new_item(user, trip['id'], 'No due')
    new_item(user, trip['id'], 'Done already', due_date='2027-03-01', done=True)
    found = events(user)
    assert set(found) == {'Pay rent', 'Fly, 09:30 in Paris'}
    assert found['Pay rent'].decoded('DTSTART') == date(2027, 3, 1)
    start = found['Fly, 09:30 in Paris'].decoded('DTSTART')  # (one that does not repeat: at its instant)
    assert start == datetime(2027, 3, 1, 9, 30, tzinfo=ZoneInfo('Europe/Paris')) and start.utcoffset().seconds == 0
    assert 'DESCRIPTION' not in found['Fly, 09:30 in Paris']  # the feed tells names and dues, nothing else
    assert all(str(event['UID']).endswith('@bucketlist') for event in found.values())


def test_a_recurring_item_expands_to_the_dates_the_api_moves_it_to(user, trip):
    item = new_item(user, trip['id'], 'Swim', due_date='2027-03-22', due_time='09:00', time_zone='Europe/Berlin',
                    recurrence='FREQ=WEEKLY;BYDAY=MO,TH;COUNT=5')
    event = events(user)['Swim']
    assert str(event['RRULE'].to_ical().decode()) in ('FREQ=WEEKLY;BYDAY=MO,TH;COUNT=5',
                                                     'FREQ=WEEKLY;COUNT=5;BYDAY=MO,TH')
    start = event.decoded('DTSTART')
    expanded = list(rrulestr(event['RRULE'].to_ical().decode(), dtstart=start))
    ticked = [item['due_at']]
    while True:
        item = user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'done': True}).json
        if item['done']:
            break
        ticked.append(item['due_at'])
    assert [moment.astimezone(ZoneInfo('UTC')).strftime('%Y-%m-%dT%H:%M:%SZ') for moment in expanded] == ticked
    assert ticked[1] == '2027-03-25T08:00:00Z' and ticked[2] == '2027-03-29T07:00:00Z'  # across the change of clocks


def test_the_items_of_lists_shared_with_you_are_in_your_feed(user, trip):
    grace = register_and_login('grace@example.com')
    user.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'grace@example.com', 'role': 'viewer'})
    new_item(user, trip['id'], 'Pack', due_date='2027-01-01')
    assert events(grace) == {}
    accept_invitations(grace)
    assert set(events(grace)) == {'Pack'}


def test_rotating_the_url_retires_the_old_one(user, trip):
    new_item(user, trip['id'], 'Pack', due_date='2027-01-01')
    old = feed_path(user)
    new = urlsplit(user.post('/users/me/calendar').json['url']).path
    assert new != old and feed_path(user) == new
    user.get(old, status=404)
    assert set(events(user, new)) == {'Pack'}


@pytest.mark.parametrize('path', ['/calendar/1.AAAA.ics', '/calendar/1.ics', '/calendar/x', '/calendar/-1.abc.ics',
                                  '/calendar/99999999999.x.ics'])
def test_a_wrong_secret_is_404(user, path):
    res = user.get(path, status=404)
    assert res.content_type == 'application/problem+json'


def test_another_account_s_secret_does_not_open_yours(user, other_user):
    mine, theirs = feed_path(user), feed_path(other_user)
    user_id, mac = mine.removeprefix('/calendar/').removesuffix('.ics').split('.')
    their_id, their_mac = theirs.removeprefix('/calendar/').removesuffix('.ics').split('.')
    user.get(f'/calendar/{user_id}.{their_mac}.ics', status=404)


@pytest.mark.parametrize('due_time, until, expected', [
    ('09:00', '20270103', '20270103T225959Z'),  # a timed due's UNTIL date: the end of that day in its zone
    (None, '20270103T000000Z', '20270103'),  # a date-only due's UNTIL: a date
])
def test_until_takes_the_form_the_feed_s_dtstart_needs(user, trip, due_time, until, expected):
    item = new_item(user, trip['id'], 'Daily', due_date='2027-01-01', due_time=due_time, time_zone='Europe/Berlin',
                    recurrence=f'FREQ=DAILY;UNTIL={until}')
    event = events(user)['Daily']
    rule = event['RRULE'].to_ical().decode()
    assert f'UNTIL={expected}' in rule
    expanded = [moment.date() if due_time is None else moment for moment in
                rrulestr(rule, dtstart=event.decoded('DTSTART') if due_time else
                         datetime.combine(event.decoded('DTSTART'), datetime.min.time()))]
    ticked = [item['due_date']]
    while not item['done']:
        item = user.patch_json(f'/bucketlists/{trip["id"]}/items/{item["id"]}', {'done': True}).json
        ticked.append(item['due_date'])
    assert [str(moment.date() if isinstance(moment, datetime) else moment) for moment in expanded] == ticked[:-1]


def test_a_feed_places_events_by_at_most_twenty_zones(user, trip):
    zones = ['Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Australia/Sydney', 'America/Sao_Paulo',
             'Europe/London', 'Africa/Cairo', 'Asia/Kolkata', 'Pacific/Auckland', 'America/Chicago',
             'America/Denver', 'America/Los_Angeles', 'Europe/Paris', 'Europe/Madrid', 'Asia/Shanghai',
             'Asia/Dubai', 'Europe/Moscow', 'America/Mexico_City', 'Africa/Lagos', 'Asia/Singapore',
             'Australia/Lord_Howe', 'America/Halifax']
    for n, zone in enumerate(zones):
        new_item(user, trip['id'], f'Weekly {n}', due_date='2027-01-04', due_time='09:00', time_zone=zone,
                 recurrence='FREQ=WEEKLY')
    res = user.get(feed_path(user))
    calendar = icalendar.Calendar.from_ical(res.body)
    assert len(calendar.walk('VTIMEZONE')) == 20
    placed = {str(event['SUMMARY']): event.decoded('DTSTART') for event in calendar.walk('VEVENT')}
    assert placed['Weekly 0'] == datetime(2027, 1, 4, 9, tzinfo=ZoneInfo('Europe/Berlin'))
    # Past twenty zones, a recurring event repeats from its instant, in UTC.
    assert placed['Weekly 21'] == datetime(2027, 1, 4, 13, tzinfo=ZoneInfo('UTC'))

