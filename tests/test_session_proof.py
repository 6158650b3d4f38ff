"""An access token is honoured only while its session is open: a statement that checks the
session proves it, and nothing else runs before the session is proven or checked."""
from bottle import Bottle
from helpers import new_list
from webtest import TestApp

import web
from models import Bucketlist, IdempotencyKey, ThrottleEvent, db


def probe_app(callback, method='GET'):
    """An app with the service's plugins and one route of its own, at /probe."""
    probe = Bottle()
    probe.uninstall('json')
    for plugin in web.app.plugins:
        if plugin.name in ('errors', 'json', 'browsable', 'token_auth'):
            probe.install(plugin)
    probe.default_error_handler = web.problem_json
    probe.route('/probe', method=method, callback=callback)
    return probe


def test_a_route_that_checks_no_token_itself_still_refuses_a_revoked_one(user):
    # The token plugin checks the session when no statement of the route did: a new route cannot forget.
    client = TestApp(probe_app(lambda: {'secret': 'data'}))
    client.authorization = user.authorization
    assert client.get('/probe', status=200).json == {'secret': 'data'}
    user.post('/auth/logout', status=200)
    res = client.get('/probe', status=401)
    assert 'secret' not in res.text


def test_a_route_that_writes_without_checking_the_session_writes_nothing_for_an_ended_one(user):
    def write():
        with db.atomic():
            ThrottleEvent.insert(kind='probe', subject='probe').execute()
        return {'written': True}
    client = TestApp(probe_app(write, method='POST'))
    client.authorization = user.authorization
    client.post('/probe', status=200)
    user.post('/auth/logout', status=200)
    client.post('/probe', status=401)
    with db.connection_context():
        assert ThrottleEvent.select().where(ThrottleEvent.kind == 'probe').count() == 1


def test_every_route_of_an_ended_session_is_401_whatever_it_reads_first(user):
    bucketlist, (item,) = new_list(user, items=['Skydive'])
    base = f'/bucketlists/{bucketlist["id"]}'
    user.post('/auth/logout', status=200)
    for method, path in [('GET', base), ('GET', f'{base}/items/'), ('GET', f'{base}/items/{item["id"]}'),
                         ('POST', f'{base}/items/{item["id"]}/move'), ('GET', f'{base}/members'),
                         ('GET', '/sync'), ('GET', '/bucketlists/'), ('GET', '/users/me')]:
        res = user.request(path, method=method, expect_errors=True)
        assert res.status_int == 401, (method, path, res.status)


def test_an_ended_sessions_create_with_an_idempotency_key_stores_neither_the_key_nor_the_list(user):
    user.post('/auth/logout', status=200)
    user.post('/bucketlists/', {'name': 'After'}, headers={'Idempotency-Key': 'k1'}, status=401)
    with db.connection_context():
        assert IdempotencyKey.select().count() == 0
        assert Bucketlist.select().count() == 0
