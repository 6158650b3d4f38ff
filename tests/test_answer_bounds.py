"""Every answer is bounded, whatever the account holds: GET one and a sync's page stop at
fields.ANSWER_TEXT_MAX characters of text and say there is more; the export is written to a file,
one at a time per account."""
import json
from datetime import timedelta

from helpers import new_item, new_list

import fields
from models import ThrottleEvent, db, utcnow


def test_a_bucketlist_whose_items_hold_too_much_text_shows_the_first_ones_and_says_so(user, monkeypatch):
    trip, _ = new_list(user, 'Trip')
    for n in range(5):
        new_item(user, trip['id'], f'Item {n}', notes='x' * 40)
    shown = user.get(f'/bucketlists/{trip["id"]}').json
    assert len(shown['items']) == 5 and shown['has_more_items'] is False
    monkeypatch.setattr(fields, 'ANSWER_TEXT_MAX', 100)  # two items of 46 characters
    shown = user.get(f'/bucketlists/{trip["id"]}').json
    assert [item['name'] for item in shown['items']] == ['Item 0', 'Item 1'] and shown['has_more_items'] is True
    every = user.get(f'/bucketlists/{trip["id"]}/items/').json  # where the rest are
    assert [item['name'] for item in every] == [f'Item {n}' for n in range(5)]


def test_one_item_bigger_than_the_bound_is_still_shown(user, monkeypatch):
    trip, _ = new_list(user, 'Trip', [{'name': 'Big', 'notes': 'x' * 500}, 'Small'])
    monkeypatch.setattr(fields, 'ANSWER_TEXT_MAX', 100)
    shown = user.get(f'/bucketlists/{trip["id"]}').json
    assert [item['name'] for item in shown['items']] == ['Big'] and shown['has_more_items'] is True
    monkeypatch.setattr(fields, 'ANSWER_TEXT_MAX', 1000)
    assert len(user.get(f'/bucketlists/{trip["id"]}').json['items']) == 2


def test_a_sync_page_ends_early_when_its_objects_hold_too_much_text(user, monkeypatch):
    trip, _ = new_list(user, 'Trip')
    for n in range(6):
        new_item(user, trip['id'], f'Item {n}', notes='x' * 40)
    monkeypatch.setattr(fields, 'ANSWER_TEXT_MAX', 100)
    seen, cursor, pages = [], None, 0
    while True:
        page = user.get('/sync', {'cursor': cursor} if cursor else {}).json
        assert sum(len(item['name']) + len(item['notes']) for item in page['items']) <= 100 or len(
            page['items']) == 1
        seen += [item['id'] for item in page['items']]
        cursor, pages = page['cursor'], pages + 1
        if not page['has_more']:
            break
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 6 and pages >= 3
    new_item(user, trip['id'], 'Later', notes='y' * 90)  # and an incremental sync pages the same way
    assert [item['name'] for item in user.get('/sync', {'cursor': cursor}).json['items']] == ['Later']


def test_the_export_holds_every_item_whatever_the_answer_bound(user, monkeypatch):
    trip, _ = new_list(user, 'Trip')
    for n in range(5):
        new_item(user, trip['id'], f'Item {n}', notes='x' * 40)
    monkeypatch.setattr(fields, 'ANSWER_TEXT_MAX', 100)
    res = user.get('/users/me/export', status=200)
    assert int(res.headers['Content-Length']) == len(res.body)
    (exported,) = json.loads(res.body)['bucketlists']
    assert len(exported['items']) == 5 and exported['has_more_items'] is False


def test_an_account_exports_one_at_a_time(user):
    user_id = user.get('/users/me').json['id']
    with db.connection_context():  # an export of this account being written
        ThrottleEvent.record([('export', str(user_id), 1, timedelta(minutes=10))], utcnow())
    res = user.get('/users/me/export', status=429)
    assert int(res.headers['Retry-After']) > 0
    with db.connection_context():
        ThrottleEvent.delete().execute()
    user.get('/users/me/export', status=200)
    user.get('/users/me/export', status=200)  # each export counts only while it is written
