"""GET /items/: the caller's items across every list they see, filtered and sorted as a list's are,
and by when they are due in the caller's time zone: today, overdue, the next seven days."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from helpers import accept_invitations, new_item, new_list, register_and_login


def names(client, query=''):
    return [item['name'] for item in client.get(f'/items/{query}').json]


def local_today(zone):
    return datetime.now(ZoneInfo(zone)).date()


def test_items_of_every_list_you_see_and_no_other(user, other_user):
    trip = new_list(user, 'Trip', ['Pack'])[0]
    home = new_list(user, 'Home', ['Paint'])[0]
    shared = new_list(other_user, 'Shared', ['Cook'])[0]
    new_list(other_user, 'Private', ['Secret'])
    other_user.post_json(f'/bucketlists/{shared["id"]}/members', {'email': 'alice@example.com', 'role': 'viewer'})
    accept_invitations(user)
    assert sorted(names(user, '?sort=name')) == ['Cook', 'Pack', 'Paint']
    assert names(user, '?sort=-name') == ['Paint', 'Pack', 'Cook']
    res = user.get('/items/?limit=2&sort=name')
    assert res.headers['X-Total-Count'] == '3' and len(res.json) == 2
    assert {item['bucketlist_id'] for item in user.get('/items/').json} == {trip['id'], home['id'], shared['id']}


def test_the_filters_of_a_list_work_across_lists(user):
    trip = new_list(user, 'Trip')[0]
    home = new_list(user, 'Home')[0]
    work = user.post_json('/labels', {'name': 'Work'}).json
    new_item(user, trip['id'], 'Book the flights', priority=1, labels=[work['id']])
    new_item(user, home['id'], 'Paint the fence', priority=1, done=True)
    new_item(user, home['id'], 'Book a painter', priority=3)
    assert names(user, '?priority=1&sort=name') == ['Book the flights', 'Paint the fence']
    assert names(user, '?done=false&sort=name') == ['Book a painter', 'Book the flights']
    assert names(user, '?q=book&sort=name') == ['Book a painter', 'Book the flights']
    assert names(user, f'?label={work["id"]}') == ['Book the flights']


@pytest.mark.parametrize('zone', ['Pacific/Auckland', 'America/Los_Angeles'])
def test_today_is_the_caller_s_day_in_their_zone_from_midnight_to_midnight(user, zone):
    user.patch_json('/users/me', {'time_zone': zone})
    trip = new_list(user, 'Trip')[0]
    today = local_today(zone)
    midnight = datetime.combine(today, datetime.min.time(), ZoneInfo(zone))
    tomorrow = today + timedelta(days=1)
    new_item(user, trip['id'], 'at midnight', due_date=str(today), due_time='00:00', time_zone=zone)
    new_item(user, trip['id'], 'a minute before the next', due_date=str(today), due_time='23:59', time_zone=zone)
    new_item(user, trip['id'], 'the next midnight', due_date=str(tomorrow), due_time='00:00', time_zone=zone)
    new_item(user, trip['id'], 'all day', due_date=str(today))
    new_item(user, trip['id'], 'tomorrow, all day', due_date=str(tomorrow))
    new_item(user, trip['id'], 'yesterday, all day', due_date=str(today - timedelta(days=1)))
    # Due today in UTC's reckoning elsewhere, but a minute before the caller's midnight: yesterday.
    before = (midnight - timedelta(minutes=1)).astimezone(ZoneInfo('UTC'))
    new_item(user, trip['id'], 'a minute before midnight, in UTC', due_date=str(before.date()),
             due_time=before.strftime('%H:%M'), time_zone='UTC')
    new_item(user, trip['id'], 'no due')
    assert names(user, '?due=today&sort=due_date') == ['all day', 'at midnight', 'a minute before the next']
    assert set(names(user, '?due=next7days')) == {'at midnight', 'a minute before the next', 'the next midnight',
                                                  'all day', 'tomorrow, all day'}
    overdue = set(names(user, '?due=overdue'))
    assert {'yesterday, all day', 'a minute before midnight, in UTC'} <= overdue
    assert not overdue & {'all day', 'a minute before the next', 'the next midnight', 'tomorrow, all day', 'no due'}


def test_overdue_leaves_out_what_is_done(user):
    trip = new_list(user, 'Trip')[0]
    yesterday = str(local_today('UTC') - timedelta(days=1))
    new_item(user, trip['id'], 'late', due_date=yesterday)
    new_item(user, trip['id'], 'late but done', due_date=yesterday, done=True)
    assert names(user, '?due=overdue') == ['late']
    assert names(user, '?due=overdue&done=true') == ['late but done']  # (unless done= says otherwise)


@pytest.mark.parametrize('query', ['?due=tomorrow', '?due=', '?priority=5', '?label=0', '?sort=colour', '?page=0',
                                   '?limit=1000', '?bucketlist_id=1'])
def test_bad_queries_are_400(user, query):
    res = user.get(f'/items/{query}', status=400)
    assert res.json['type'] == '/problems/invalid-query'


def test_an_account_without_items_gets_an_empty_page(user):
    res = user.get('/items/?due=today')
    assert res.json == [] and res.headers['X-Total-Count'] == '0'


def test_the_labels_shown_are_the_caller_s(user, other_user):
    shared = new_list(other_user, 'Shared')[0]
    other_user.post_json(f'/bucketlists/{shared["id"]}/members', {'email': 'alice@example.com', 'role': 'editor'})
    accept_invitations(user)
    theirs = other_user.post_json('/labels', {'name': 'Theirs'}).json
    new_item(other_user, shared['id'], 'Cook', labels=[theirs['id']])
    assert [item['labels'] for item in user.get('/items/').json] == [[]]
    assert user.get(f'/items/?label={theirs["id"]}').json == []


def test_a_stranger_s_token_sees_only_their_own(user):
    new_list(user, 'Trip', ['Pack'])
    mallory = register_and_login('mallory@example.com')
    assert mallory.get('/items/').json == []
