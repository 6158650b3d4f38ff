"""What tests share besides fixtures: clients that log in, bucketlists and items made through the
API, minted tokens, the routes of the app.

Imported as ``helpers`` (pytest puts tests/ on the path), once; conftest.py chooses the
database before this module imports the app."""
import itertools
import uuid
from datetime import timedelta

import jwt
from webtest import TestApp

import auth
import bucketlist
import migrations
import settings
from models import Item, db, utcnow

ON_POSTGRESQL = migrations.dialect(db) == 'postgresql'
PASSWORD = 'correct horse battery'


class DocumentedTestApp(TestApp):
    """A TestApp that fails the test on any answer the OpenAPI document does not promise."""

    def do_request(self, req, status=None, expect_errors=None):
        from test_openapi import (
            assert_documented,  # the contract's check lives with its tests
        )
        res = super().do_request(req, status=status, expect_errors=expect_errors)
        assert_documented(req.method, req.environ['PATH_INFO'], res)  # as Bottle decoded it
        return res


def register_and_login(email, password=PASSWORD):
    client = DocumentedTestApp(bucketlist.app)
    client.post('/auth/register', {'email': email, 'password': password}, status=201)
    token = client.post('/auth/login', {'email': email, 'password': password}, status=200).json['access_token']
    client.authorization = ('Bearer', token)
    return client


_serial = itertools.count(1)


def unique_name(kind):
    """A name nobody else in the test uses, for when the test does not care what it is."""
    return f'{kind} #{next(_serial)}'


def new_list(client, name=None, items=(), **fields):
    """A bucketlist of ``client``'s made through the API, as its create answered, and its items
    (each a name, or a dict of the item's fields), in order. Without a name, a unique one."""
    created = client.post_json('/bucketlists/', {'name': unique_name('List') if name is None else name, **fields},
                               status=201).json
    made = [new_item(client, created['id'], **({'name': item} if isinstance(item, str) else item)) for item in items]
    return created, made


def new_item(client, bucketlist_id, name=None, **fields):
    """An item made through the API in the bucketlist, as its create answered. Without a name, a unique one."""
    return client.post_json(f'/bucketlists/{bucketlist_id}/items/',
                            {'name': unique_name('Item') if name is None else name, **fields}, status=201).json


def accept_invitations(client):
    """Accept every invitation ``client``'s account has to share a bucketlist; their answers (the
    bucketlists, as the new member sees them)."""
    return [client.post(f'/invitations/{invitation["id"]}/accept', status=200).json
            for invitation in client.get('/invitations', status=200).json]


def item_names(client, bucketlist_id, query=''):
    """The names of the bucketlist's items as ``client`` reads them, in the order it gets them."""
    return [item['name'] for item in client.get(f'/bucketlists/{bucketlist_id}/items/{query}').json]


def positions_of(bucketlist_id):
    """The positions the bucketlist's items hold as stored, sorted."""
    with db.connection_context():
        return sorted(item.position for item in Item.select().where(Item.bucketlist == bucketlist_id))


def failed_login(client, email='alice@example.com', **kwargs):
    """A login with a wrong password, its answer whatever it is."""
    return client.post_json('/auth/login', {'email': email, 'password': 'wrong password'},
                            expect_errors=True, **kwargs)


def mint_token(user_id, session_id=1, lifetime=timedelta(seconds=settings.TOKEN_TTL_SECONDS),
               typ=auth.TOKEN_TYPE, secret=None, **claims):
    """A token signed like the app's for that session, issued now and valid for ``lifetime``
    (negative: expired already); ``claims`` replace or, as None, drop the standard ones."""
    now = utcnow()
    payload = {'iss': settings.TOKEN_ISSUER, 'aud': auth.AUDIENCE, 'sub': str(user_id), 'sid': session_id,
               'iat': now, 'exp': now + lifetime, 'jti': uuid.uuid4().hex}
    payload.update(claims)
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, secret or settings.SECRET, algorithm=auth.ALGORITHM,
                      headers={'typ': typ} if typ else None)


def user_id_of(client):
    return int(jwt.decode(client.authorization[1], options={'verify_signature': False})['sub'])


def session_id_of(client):
    return jwt.decode(client.authorization[1], options={'verify_signature': False})['sid']


def routes(public=None):
    """(method, rule, route) of every route of the app, optionally only the public or private ones."""
    return [(route.method, route.rule, route) for route in bucketlist.app.routes
            if public is None or bool(route.config.get('public')) == public]


PATH_IDS = {'<bucketlist_id:id>': '{b}', '<item_id:id>': '{i}', '<session_id:id>': '{s}', '<token_id:id>': '{t}',
            '<user_id:id>': '{u}', '<invitation_id:id>': '{n}', '<label_id:id>': '{l}',
            '<step_id:id>': '{p}', '<webhook_id:id>': '{w}', '<message_id:id>': '{m}'}


def path_template(rule):
    """A route rule as a format string: ``{b}`` for the bucketlist id, ``{i}`` for the item id,
    ``{s}`` for a session's, ``{t}`` for an API token's, ``{u}`` for a member's user id, ``{n}``
    for an invitation's, ``{l}`` for a label's and ``{p}`` for a step's."""
    for wildcard, field in PATH_IDS.items():
        rule = rule.replace(wildcard, field)
    return rule


def example_path(rule, b=1, i=1, s=1, t=1, u=1, n=1, l=1, p=1, w=1, m=1):  # noqa: E741
    return path_template(rule).format(b=b, i=i, s=s, t=t, u=u, n=n, l=l, p=p, w=w, m=m)


def set_back_an_hour(model, row_id, user, url):
    """Store the row's timestamps an hour earlier and return it as now read: a later write's
    date_modified is then later whatever the clock's resolution."""
    row = model.get_by_id(row_id)
    model.update(date_created=row.date_created - timedelta(hours=1),
                 date_modified=row.date_modified - timedelta(hours=1)).where(model.id == row_id).execute()
    return user.get(url).json


def vary_fields(res):
    """The field names a response's Vary headers list, each as often as it is listed."""
    return [field.strip() for value in res.headers.getall('Vary') for field in value.split(',')]
