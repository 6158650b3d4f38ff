"""Requests from other origins: CORS only for the listed origins, and a browser's cross-site form
can neither register nor write, while same-origin pages, listed origins and non-browsers can."""
import pytest
from helpers import PASSWORD, vary_fields

import settings
from models import Bucketlist, User

# --- Cross-site forms ----------------------------------------------------------------------------

@pytest.mark.parametrize('headers', [{'Sec-Fetch-Site': 'cross-site'}, {'Origin': 'https://evil.example'},
                                     {'Origin': 'null'},
                                     {'Origin': 'https://evil.example', 'Sec-Fetch-Site': 'cross-site'}])
def test_a_cross_site_form_cannot_register_or_write(client, user, headers):
    res = client.post('/auth/register', {'email': 'csrf@example.com', 'password': PASSWORD},
                      headers=headers, status=403)
    assert res.content_type == 'application/problem+json'
    assert User.select().where(User.email == 'csrf@example.com').count() == 0
    user.post_json('/bucketlists/', {'name': 'Planted'}, headers=headers, status=403)
    assert Bucketlist.select().count() == 0


def test_same_origin_listed_origins_and_non_browsers_still_write(client, user, monkeypatch):
    client.post('/auth/register', {'email': 'plain@example.com', 'password': PASSWORD}, status=201)
    user.post_json('/bucketlists/', {'name': 'Same origin'}, status=201,
                   headers={'Origin': 'http://localhost:80', 'Host': 'localhost:80', 'Sec-Fetch-Site': 'same-origin'})
    monkeypatch.setattr(settings, 'CORS_ORIGINS', ['https://app.example'])
    user.post_json('/bucketlists/', {'name': 'Listed'}, status=201,
                   headers={'Origin': 'https://app.example', 'Sec-Fetch-Site': 'cross-site'})
    user.get('/bucketlists/', headers={'Sec-Fetch-Site': 'cross-site'}, status=200)  # reads are not refused


# --- CORS ----------------------------------------------------------------------------------------

def test_cors_is_off_by_default(user):
    res = user.get('/bucketlists/', headers={'Origin': 'https://evil.example'})
    assert 'Access-Control-Allow-Origin' not in res.headers
    user.options('/bucketlists/', headers={'Origin': 'https://evil.example'}, status=405)


def test_cors_allows_only_listed_origins(user, monkeypatch):
    monkeypatch.setattr(settings, 'CORS_ORIGINS', ['https://app.example'])
    res = user.get('/bucketlists/', headers={'Origin': 'https://app.example'})
    assert res.headers['Access-Control-Allow-Origin'] == 'https://app.example'
    assert vary_fields(res) == ['Accept', 'Origin']
    assert 'Access-Control-Allow-Origin' not in user.get('/bucketlists/', headers={'Origin': 'https://evil.example'}).headers
    preflight = user.options('/bucketlists/1', headers={'Origin': 'https://app.example',
                                                        'Access-Control-Request-Method': 'PUT'}, status=204)
    assert 'PUT' in preflight.headers['Access-Control-Allow-Methods']
    assert 'Authorization' in preflight.headers['Access-Control-Allow-Headers']


@pytest.mark.parametrize('method, path, status', [
    ('GET', '/bucketlists/999', 404), ('GET', '/nowhere', 404), ('DELETE', '/bucketlists/', 405),
    ('POST', '/bucketlists/', 400), ('GET', '/bucketlists/?page=0', 400)])
def test_with_cors_on_every_error_lists_origin_in_vary_once(user, monkeypatch, method, path, status):
    monkeypatch.setattr(settings, 'CORS_ORIGINS', ['https://app.example'])
    res = user.request(path, method=method, headers={'Origin': 'https://app.example'}, status=status)
    assert vary_fields(res).count('Origin') == 1
    assert res.headers['Access-Control-Allow-Origin'] == 'https://app.example'
    assert len(res.headers.getall('X-Request-ID')) == 1
