"""Request bodies: too big is 413 without being read, a flood of fields is refused with a short
answer, and a slow client's body is read whole before the database is touched."""
import io
import json

import pytest
from helpers import new_list

import bucketlist
import settings
from models import db


def call_app(user, method, path, stream, **environ):
    """The app called as a WSGI server would, with ``stream`` as the body of ``user``'s request
    (and ``environ`` added: its length, if it has one): the status line and the body."""
    status = []
    environ = {'REQUEST_METHOD': method, 'PATH_INFO': path, 'SERVER_NAME': 'localhost', 'SERVER_PORT': '80',
               'wsgi.url_scheme': 'http', 'wsgi.input': stream, 'wsgi.errors': io.StringIO(),
               'CONTENT_TYPE': 'application/json', 'HTTP_AUTHORIZATION': f'Bearer {user.authorization[1]}', **environ}
    body = b''.join(bucketlist.app(environ, lambda s, h, exc=None: status.append(s)))
    return status[0], body


def test_a_body_with_thousands_of_fields_is_refused_briefly(user):
    body = json.dumps({f'{n:x}': 0 for n in range(85_000)})  # just under MAX_BODY_BYTES
    res = user.post('/bucketlists/', body, content_type='application/json', status=400)
    assert len(res.body) < 4096
    assert 'more than' in res.json['detail']


def test_an_error_document_stays_small_whatever_the_field_names(user):
    body = json.dumps({'x' * 20_000 + str(n): 1 for n in range(30)})
    res = user.post('/bucketlists/', body, content_type='application/json', status=400)
    assert len(res.body) < 8192


# --- Size ----------------------------------------------------------------------------------------

class CountingInput(io.BytesIO):
    def __init__(self, size):
        super().__init__(b'{"name": "' + b'x' * size + b'"}')
        self.bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_oversized_body_is_413_without_being_read(user):
    stream = CountingInput(5 * 1024 * 1024)
    status, body = call_app(user, 'POST', '/bucketlists/', stream, CONTENT_LENGTH=str(len(stream.getvalue())))
    assert status.startswith('413') and json.loads(body)['status'] == 413
    assert stream.bytes_read == 0


def test_body_without_length_is_cut_at_the_limit(user):
    stream = CountingInput(5 * 1024 * 1024)
    status, _ = call_app(user, 'POST', '/bucketlists/', stream, HTTP_TRANSFER_ENCODING='chunked')
    assert status.startswith('413')
    assert stream.bytes_read <= settings.MAX_BODY_BYTES + 1


# --- Slow clients --------------------------------------------------------------------------------

class WatchingInput(io.BytesIO):
    """A request body that notes whether the database connection was open while it was read."""

    def read(self, size=-1):
        self.database_open = not db.is_closed()
        return super().read(size)


@pytest.mark.parametrize('method, path, body', [
    ('POST', '/bucketlists/', {'name': 'Slowly'}), ('PATCH', '/bucketlists/{b}/items/{i}', {'done': True}),
    ('PUT', '/bucketlists/{b}', {'name': 'Renamed'}), ('POST', '/bucketlists/{b}/items/', {'name': 'Item'})])
def test_a_body_is_read_before_the_database_is_touched(user, method, path, body):
    # A client trickling its body in must not hold a pooled connection (or a transaction) meanwhile.
    trip, (pack,) = new_list(user, 'Trip', ['Pack'])
    stream = WatchingInput(json.dumps(body).encode())
    status, _ = call_app(user, method, path.format(b=trip['id'], i=pack['id']), stream,
                         CONTENT_LENGTH=str(len(stream.getvalue())))
    assert status[:3] in ('200', '201') and stream.database_open is False
