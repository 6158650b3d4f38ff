"""Idempotency-Key: a retried create returns what the first one made, once per user and request,
also when the retry comes on a database connection that has run nothing yet."""
import pytest
from helpers import new_list

import settings
from models import Bucketlist, IdempotencyKey, Item, db


def test_retried_create_with_the_same_key_returns_the_first_result(user):
    headers = {'Idempotency-Key': 'create-trip-1'}
    first = user.post_json('/bucketlists/', {'name': 'Once'}, headers=headers, status=201)
    retry = user.post_json('/bucketlists/', {'name': 'Once'}, headers=headers, status=201)
    assert retry.json == first.json
    assert Bucketlist.select().count() == 1


def test_same_key_for_a_different_request_is_422(user):
    headers = {'Idempotency-Key': 'k1'}
    user.post_json('/bucketlists/', {'name': 'First'}, headers=headers, status=201)
    user.post_json('/bucketlists/', {'name': 'Second'}, headers=headers, status=422)
    assert Bucketlist.select().count() == 1


def test_item_creates_are_idempotent_too(user):
    trip, _ = new_list(user)
    url = f'/bucketlists/{trip["id"]}/items/'
    for _ in range(3):
        user.post_json(url, {'name': 'Pack'}, headers={'Idempotency-Key': 'item-1'}, status=201)
    assert Item.select().count() == 1


def test_keys_belong_to_their_user(user, other_user):
    headers = {'Idempotency-Key': 'shared'}
    user.post_json('/bucketlists/', {'name': 'Mine'}, headers=headers, status=201)
    res = other_user.post_json('/bucketlists/', {'name': 'Mine'}, headers=headers, status=201)
    assert res.json['created_by'] != user.get('/bucketlists/').json[0]['created_by']


def test_a_failed_create_does_not_burn_the_key(user):
    new_list(user, 'Taken')
    headers = {'Idempotency-Key': 'retry-me'}
    user.post_json('/bucketlists/', {'name': 'Taken'}, headers=headers, status=409)
    assert IdempotencyKey.select().count() == 0


@pytest.mark.parametrize('key', ['', 'has space', 'x' * 256, 'ключ'.encode().decode('latin1')])
def test_malformed_keys_are_400(user, key):
    user.post_json('/bucketlists/', {'name': 'x'}, headers={'Idempotency-Key': key}, status=400)


@pytest.mark.parametrize('pooler', ['none', 'transaction'])
def test_a_retry_replays_on_a_connection_that_has_run_nothing_yet(user, monkeypatch, pooler):
    """The retry's first statements on a new PostgreSQL connection run in its transaction (they
    carry the statement timeout with SET LOCAL, as every statement does behind a pooler in
    transaction mode): the key's unique violation rolls back to its savepoint, and the stored
    answer comes back."""
    monkeypatch.setattr(settings, 'DATABASE_POOLER', pooler)
    first = user.post_json('/bucketlists/', {'name': 'Once'}, headers={'Idempotency-Key': 'k-1'}, status=201)
    if hasattr(db, 'close_idle'):
        db.close_idle()  # the retry gets a new connection
    again = user.post_json('/bucketlists/', {'name': 'Once'}, headers={'Idempotency-Key': 'k-1'}, status=201)
    assert again.json == first.json
