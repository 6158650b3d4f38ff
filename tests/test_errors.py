"""Every failure is a problem+json document a client can read; none is a 500 or an HTML page."""
import pytest
from helpers import new_list

import bucketlist
import settings
from models import Bucketlist


def assert_problem(res, status):
    assert res.status_int == status
    assert res.content_type == 'application/problem+json'
    body = res.json
    assert body['status'] == status and body['title'] and body['detail'] and body['type']
    assert '<html' not in res.text.lower() and 'Traceback' not in res.text
    return body


def test_unknown_url_is_problem_json(client):
    assert_problem(client.get('/nowhere', status=404), 404)


def test_wrong_method_is_405_with_allow(user):
    res = user.request('/bucketlists/', method='PATCH', status=405)
    assert_problem(res, 405)
    assert set(res.headers['Allow'].split(',')) == {'GET', 'POST'}


@pytest.mark.parametrize('path', ['/bucketlists/0', '/bucketlists/-1', '/bucketlists/abc',
                                  '/bucketlists/2147483648', '/bucketlists/99999999999999999999999',
                                  '/bucketlists/1.5'])
def test_ids_that_name_no_row_are_404(user, path):
    for method in ('GET', 'PUT', 'PATCH', 'DELETE'):
        assert_problem(user.request(path, method=method, status=404), 404)


@pytest.mark.parametrize('big', ['0', '2147483648', '99999999999999999999999'])
def test_item_routes_take_ids_past_the_columns_range_as_404(user, big):
    trip, (fly,) = new_list(user, items=['Fly'])
    bucketlist_id, item_id = trip['id'], fly['id']
    for path in (f'/bucketlists/{big}/items/', f'/bucketlists/{big}/items/{item_id}',
                 f'/bucketlists/{bucketlist_id}/items/{big}'):
        for method in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE'):
            res = user.request(path, method=method, body=b'{"name": "x", "done": true}',
                               content_type='application/json', expect_errors=True)
            assert res.status_int in (404, 405), (method, path, res.status)
            assert_problem(res, res.status_int)


def test_malformed_json_is_400(user):
    res = user.post('/bucketlists/', '{"name": ', content_type='application/json', status=400)
    assert 'JSON' in assert_problem(res, 400)['detail']


@pytest.mark.parametrize('body', ['[1, 2]', '"name"', '42', 'null', '{"name": NaN}',
                                  '{"name": "a", "name": "b"}', '[' * 100000 + ']' * 100000])
def test_json_that_is_not_one_plain_object_is_400(user, body):
    assert_problem(user.post('/bucketlists/', body, content_type='application/json', status=400), 400)


def test_invalid_utf8_is_400(user):
    assert_problem(user.post('/bucketlists/', b'{"name": "\xff"}', content_type='application/json',
                             status=400), 400)
    assert_problem(user.post('/bucketlists/', b'name=%ff', content_type='application/x-www-form-urlencoded',
                             status=400), 400)


@pytest.mark.parametrize('name', ['a\x00b', '\ud800'])
def test_nul_characters_and_lone_surrogates_are_400(user, name):
    res = user.post_json('/bucketlists/', {'name': name}, status=400)
    assert 'name' in assert_problem(res, 400)['errors']
    assert Bucketlist.select().count() == 0


def test_unsupported_content_type_is_415(user):
    res = user.post('/bucketlists/', '<name>x</name>', content_type='application/xml', status=415)
    assert_problem(res, 415)


def test_body_over_the_limit_is_413(user, monkeypatch):
    monkeypatch.setattr(settings, 'MAX_BODY_BYTES', 64)
    res = user.post_json('/bucketlists/', {'name': 'x' * 100}, status=413)
    assert_problem(res, 413)


def test_unexpected_exception_is_500_without_traceback(user, monkeypatch, caplog):
    def explode(*args, **kwargs):
        raise RuntimeError('secret internals: SELECT * FROM users')
    monkeypatch.setattr(bucketlist, 'bucketlist_json', explode)
    res = user.post_json('/bucketlists/', {'name': 'Boom'}, status=500)
    body = assert_problem(res, 500)
    assert 'secret internals' not in res.text and 'SELECT' not in res.text
    assert body['detail'] == 'The server could not complete the request.'
    assert 'secret internals' in caplog.text and 'Traceback' in caplog.text


def test_validation_errors_name_each_field(user):
    trip, _ = new_list(user)
    res = user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': '', 'done': 'yes', 'extra': 1}, status=400)
    assert set(assert_problem(res, 400)['errors']) == {'name', 'done', 'extra'}


def test_errors_carry_security_headers(client):
    res = client.get('/nowhere', status=404)
    assert res.headers['X-Content-Type-Options'] == 'nosniff'


def test_an_error_that_echoes_a_lone_surrogate_is_still_json(user):
    # The unknown field's name comes back in the error; JSON can carry it escaped.
    res = user.post('/bucketlists/', b'{"name": "Trip", "\\ud800x": 1}', content_type='application/json', status=400)
    assert list(assert_problem(res, 400)['errors']) == ['\ud800x']


@pytest.mark.parametrize('path', ['/bucketlists/1%0A', '/bucketlists/1/items/%0A', '/x%0D%0AGET%20/forged',
                                  '/bucketlists/%00'])
def test_a_path_with_control_characters_is_400(user, path):
    new_list(user)
    res = user.get(path, status=400)
    assert res.content_type == 'application/problem+json'


@pytest.mark.parametrize('path', ['/metr%ffics', '/bucket%fflists/', '/bucketlists/%c3', '/health%80'])
def test_a_path_that_is_not_utf_8_is_400_not_another_route(user, path):
    # Dropping the bytes would serve /metr%ffics as /metrics: past a proxy's rule for that path.
    new_list(user)
    res = user.get(path, status=400)
    assert res.content_type == 'application/problem+json' and 'UTF-8' in res.json['detail']
