"""Rate limits against guessing and floods: failed logins slow an account only from where they come,
logins and registrations are limited per address (an IPv6 host by its /64, behind trusted proxies
only), and the queue for password hashing sheds load instead of growing."""
import logging
import threading
import time

from argon2 import PasswordHasher, Type
from helpers import PASSWORD, failed_login, register_and_login

import auth
import settings


def login(client, email='alice@example.com', password=PASSWORD, address='192.0.2.1', **kwargs):
    """A login from ``address``, its answer whatever it is."""
    return client.post_json('/auth/login', {'email': email, 'password': password}, expect_errors=True,
                            extra_environ={'REMOTE_ADDR': address}, **kwargs)


# --- Logins --------------------------------------------------------------------------------------

def test_failed_logins_lock_the_account_only_for_the_address_they_come_from(client, user):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        assert login(client, password='wrong password', address='198.51.100.66').status_int == 401
    res = login(client, address='198.51.100.66')
    assert res.status_int == 429 and res.content_type == 'application/problem+json'
    assert 0 < int(res.headers['Retry-After']) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    # The owner, elsewhere, is not locked out by somebody else's guesses.
    assert login(client, address='203.0.113.7').status_int == 200
    # Nor is another account at the guessing address.
    register_and_login('carol@example.com')


def test_failures_from_every_address_slow_the_account_without_locking_its_owner_out(client, user, monkeypatch):
    monkeypatch.setattr(settings, 'LOGIN_FAILURES_PER_ACCOUNT', 6)
    attackers = [f'198.51.100.{n}' for n in range(1, 5)]
    for address in attackers:  # 3 failures each; the 2nd and 3rd of each count: 8, past the account's 6
        for _ in range(3):
            login(client, password='wrong password', address=address)
    # An address that already failed on the account is refused; a new one gets one guess.
    assert login(client, password='wrong password', address=attackers[0]).status_int == 429
    assert login(client, password='wrong password', address='198.51.100.200').status_int == 401
    assert login(client, password='wrong password', address='198.51.100.200').status_int == 429
    # The owner, at an address that never failed, still logs in.
    assert login(client, address='203.0.113.7').status_int == 200


def test_a_successful_login_resets_the_failures_of_its_address(client, user):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS - 1):
        login(client, password='wrong password')
    assert login(client).status_int == 200
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        assert login(client, password='wrong password').status_int == 401


def test_the_owner_mistyping_at_a_known_address_is_not_locked_out_by_an_attack(client, user, monkeypatch):
    monkeypatch.setattr(settings, 'LOGIN_FAILURES_PER_ACCOUNT', 3)
    home = {'REMOTE_ADDR': '203.0.113.7'}
    credentials = {'email': 'alice@example.com', 'password': PASSWORD}
    client.post_json('/auth/login', credentials, extra_environ=home, status=200)
    for n in range(1, 6):  # the attack fills the account's ceiling
        for _ in range(3):
            client.post_json('/auth/login', {**credentials, 'password': 'guess'}, expect_errors=True,
                             extra_environ={'REMOTE_ADDR': f'198.51.100.{n}'})
    client.post_json('/auth/login', {**credentials, 'password': 'typo'}, extra_environ=home, status=401)
    client.post_json('/auth/login', credentials, extra_environ=home, status=200)


def test_successful_logins_count_toward_a_rate_per_address(client, user, monkeypatch):
    monkeypatch.setattr(settings, 'LOGINS_PER_ADDRESS', 3)
    for _ in range(3):
        assert login(client).status_int == 200
    assert login(client).status_int == 429
    assert login(client, address='203.0.113.7').status_int == 200


def test_login_is_throttled_per_address(client):
    for number in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        assert failed_login(client, f'user{number}@example.com').status_int == 401
    assert failed_login(client, 'fresh@example.com').status_int == 429
    other = {'REMOTE_ADDR': '203.0.113.9'}
    assert failed_login(client, 'fresh@example.com', extra_environ=other).status_int == 401


def test_proxy_header_is_ignored_unless_trusted(client, monkeypatch):
    for number in range(settings.LOGIN_FAILURES_PER_ADDRESS):
        failed_login(client, f'user{number}@example.com', headers={'X-Forwarded-For': f'198.51.100.{number}'})
    assert failed_login(client, 'x@example.com', headers={'X-Forwarded-For': '198.51.100.99'}).status_int == 429
    monkeypatch.setattr(settings, 'TRUSTED_PROXY_COUNT', 1)
    assert failed_login(client, 'x@example.com', headers={'X-Forwarded-For': '198.51.100.99'}).status_int == 401


# --- Registrations -------------------------------------------------------------------------------

def test_registration_is_throttled_per_address(client):
    for number in range(settings.REGISTRATIONS_PER_ADDRESS):
        client.post_json('/auth/register', {'email': f'u{number}@example.com', 'password': PASSWORD}, status=201)
    res = client.post_json('/auth/register', {'email': 'late@example.com', 'password': PASSWORD}, status=429)
    assert int(res.headers['Retry-After']) > 0


def test_an_ipv6_host_is_limited_by_its_whole_64(client, monkeypatch):
    monkeypatch.setattr(settings, 'REGISTRATIONS_PER_ADDRESS', 2)
    for n in range(2):
        client.post_json('/auth/register', {'email': f'v6-{n}@example.com', 'password': PASSWORD},
                         extra_environ={'REMOTE_ADDR': f'2001:db8:1:2::{n + 1}'}, status=201)
    client.post_json('/auth/register', {'email': 'v6-x@example.com', 'password': PASSWORD},
                     extra_environ={'REMOTE_ADDR': '2001:db8:1:2:ffff::9'}, status=429)
    client.post_json('/auth/register', {'email': 'v6-y@example.com', 'password': PASSWORD},
                     extra_environ={'REMOTE_ADDR': '2001:db8:1:3::1'}, status=201)


# --- Password hashing ----------------------------------------------------------------------------

def test_one_address_holds_at_most_one_place_in_the_hashing_queue(client, user, monkeypatch):
    monkeypatch.setattr(auth, 'ADDRESS_WAIT_SECONDS', 0.1)
    with auth.hashing_slot('198.51.100.66'):  # a login from there is hashing now
        assert login(client, address='198.51.100.66').status_int == 503
        assert login(client, address='203.0.113.7').status_int == 200


def test_a_worker_with_its_hashing_line_full_answers_503_at_once(client, user, caplog, monkeypatch):
    monkeypatch.setattr(auth, 'ADDRESSES_WAITING', 0)  # (the line of addresses waiting for a place: full)
    for _ in range(settings.PASSWORD_HASHES_WAITING):
        auth._hash_slots.acquire(timeout=0)
    try:
        with caplog.at_level(logging.DEBUG, logger='peewee'):
            res = client.post_json('/auth/login', {'email': 'alice@example.com', 'password': PASSWORD}, status=503)
            client.post_json('/auth/register', {'email': 'carol@example.com', 'password': PASSWORD}, status=503)
        assert res.headers['Retry-After'] == '1' and res.content_type == 'application/problem+json'
        # Refused before any work: a burst of shed logins costs the database nothing.
        assert [record for record in caplog.records if record.name == 'peewee'] == []
        user.get('/bucketlists/', status=200)  # everything else carries on
    finally:
        for _ in range(settings.PASSWORD_HASHES_WAITING):
            auth._hash_slots.release()
    client.post_json('/auth/login', {'email': 'alice@example.com', 'password': PASSWORD}, status=200)


def test_a_login_waits_its_turn_for_a_hashing_place_then_gives_up(client, user, monkeypatch):
    monkeypatch.setattr(auth, 'ADDRESS_WAIT_SECONDS', 0.2)
    for _ in range(settings.PASSWORD_HASHES_WAITING):
        auth._hash_slots.acquire(timeout=0)
    try:
        assert login(client).status_int == 503  # nobody's hash finished within its wait
    finally:
        for _ in range(settings.PASSWORD_HASHES_WAITING):
            auth._hash_slots.release()
    assert login(client).status_int == 200


class SlowHasher(PasswordHasher):
    """argon2 as a busy CPU runs it: 30 ms a hash."""

    def verify(self, *args):
        time.sleep(0.03)
        return super().verify(*args)


def test_logins_flooding_from_a_few_addresses_fail_no_other_addresss_login(client, user, monkeypatch):
    """Two addresses, three connections each, logging in without pause: every place used to be
    theirs, and 11 of 12 other people's logins got 503. Addresses take turns now."""
    monkeypatch.setattr(auth, 'password_hasher', SlowHasher(
        time_cost=settings.PASSWORD_TIME_COST, memory_cost=settings.PASSWORD_MEMORY_KIB,
        parallelism=settings.PASSWORD_PARALLELISM, type=Type.ID))
    monkeypatch.setattr(settings, 'LOGINS_PER_ADDRESS', 10_000)
    register_and_login('flood@example.com')
    stop = threading.Event()

    def flood(address):
        while not stop.is_set():
            login(client, 'flood@example.com', address=address)
    flooders = [threading.Thread(target=flood, args=(f'198.51.100.{n % 2}',)) for n in range(6)]
    for thread in flooders:
        thread.start()
    try:
        time.sleep(0.2)
        bystanders = [login(client, address=f'203.0.113.{n}').status_int for n in range(8)]
    finally:
        stop.set()
        for thread in flooders:
            thread.join()
    assert bystanders == [200] * 8
