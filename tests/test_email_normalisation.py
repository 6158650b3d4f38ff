"""An email address is one account however it is spelled in Unicode (NFC or NFD, NFKC look-alikes),
refused with invisible or control characters, also for accounts stored before normalisation."""
import pytest
from helpers import PASSWORD

from models import User


@pytest.mark.parametrize('look_alike', ['ＡＤＡ@example.com', 'ada@ｅxample.com'])
def test_an_email_that_normalises_to_a_taken_one_is_taken(client, look_alike):
    client.post_json('/auth/register', {'email': 'ada@example.com', 'password': PASSWORD}, status=201)
    client.post_json('/auth/register', {'email': look_alike, 'password': PASSWORD}, status=409)
    client.post_json('/auth/login', {'email': look_alike, 'password': PASSWORD}, status=200)


def test_nfc_and_nfd_spellings_are_one_account(client):
    client.post_json('/auth/register', {'email': 'jos\u00e9@example.com', 'password': PASSWORD}, status=201)
    client.post_json('/auth/register', {'email': 'jose\u0301@example.com', 'password': PASSWORD}, status=409)
    assert User.select().count() == 1


@pytest.mark.parametrize('email', ['ada@example.com\u200b', 'a\u200dda@example.com', 'ada\u2060@example.com',
                                   'ada@exa\u0007mple.com'])
def test_emails_with_invisible_or_control_characters_are_400(client, email):
    res = client.post_json('/auth/register', {'email': email, 'password': PASSWORD}, status=400)
    assert 'email' in res.json['errors']


def test_an_account_stored_before_normalisation_can_still_log_in(client):
    # Registered before emails were NFKC-normalised: stored as sent (NFD), lower-cased.
    client.post_json('/auth/register', {'email': 'nfd@example.com', 'password': PASSWORD}, status=201)
    User.update(email='jose\u0301@example.com').where(User.email == 'nfd@example.com').execute()
    client.post_json('/auth/login', {'email': 'jose\u0301@example.com', 'password': PASSWORD}, status=200)


def test_nobody_may_register_the_twin_of_an_account_stored_before_normalisation(client):
    client.post_json('/auth/register', {'email': 'wide@example.com', 'password': PASSWORD}, status=201)
    User.update(email='ｗｉｄｅ@example.com').where(User.email == 'wide@example.com').execute()
    client.post_json('/auth/register', {'email': 'ｗｉｄｅ@example.com', 'password': PASSWORD}, status=409)
    client.post_json('/auth/login', {'email': 'ｗｉｄｅ@example.com', 'password': PASSWORD}, status=200)
    assert User.select().count() == 1
