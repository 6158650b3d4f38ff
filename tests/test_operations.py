"""What an operator sees: the request log, JSON logs, liveness and readiness, the version, metrics
across workers, local .env settings and the front page."""
import json
import logging
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from helpers import PASSWORD, failed_login

import bucketlist
import migrations
import settings
from models import db

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def service_log():
    """The records the service's logger writes during the test."""
    handler = Records()
    logger = logging.getLogger('bucketlist')
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def test_every_request_gets_one_log_line_after_it_is_answered(user, service_log):
    created = user.post_json('/bucketlists/', {'name': 'Logged'}, headers={'X-Request-ID': 'trace-1'})
    user.get('/bucketlists/999', status=404, headers={'X-Request-ID': 'trace-2'})
    lines = [record for record in service_log if hasattr(record, 'request')]
    assert [record.request['request_id'] for record in lines] == ['trace-1', 'trace-2']
    first, second = (record.request for record in lines)
    assert first['method'] == 'POST' and first['route'] == '/bucketlists/' and first['status'] == 201
    assert first['bytes'] == len(created.body) and first['user_id'] == created.json['created_by']
    assert first['duration_ms'] >= 0 and first['client']
    assert second['route'] == '/bucketlists/<bucketlist_id:id>' and second['path'] == '/bucketlists/999'
    assert second['status'] == 404
    assert 'GET /bucketlists/999 404' in lines[1].getMessage()


def test_an_anonymous_request_logs_no_user(client, service_log):
    client.get('/health')
    assert [record.request['user_id'] for record in service_log if hasattr(record, 'request')] == ['-']


def test_log_lines_carry_the_request_id_and_no_secrets(client, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    client.post_json('/auth/register', {'email': 'dave@example.com', 'password': PASSWORD}, status=201)
    token = client.post_json('/auth/login', {'email': 'dave@example.com', 'password': PASSWORD}).json['access_token']
    failed_login(client, 'dave@example.com')
    monkeypatch.setattr(bucketlist, 'bucketlist_json', lambda *a, **k: 1 / 0)
    client.post_json('/bucketlists/', {'name': 'Boom'}, headers={'Authorization': f'Bearer {token}',
                                                                 'X-Request-ID': 'trace-me'}, status=500)
    lines = [r for r in caplog.records if r.name == 'bucketlist']
    failing = [r for r in lines if r.request_id == 'trace-me']
    assert [r.levelname for r in failing] == ['ERROR', 'INFO']  # the traceback, then the request log line
    assert all(r.request_id != '-' for r in lines)
    assert PASSWORD not in caplog.text and token not in caplog.text and 'wrong password' not in caplog.text


def test_liveness_touches_nothing_and_health_tells_the_version(client):
    assert client.get('/livez').json == {'status': 'ok'}
    assert client.get('/health').json == {'status': 'ok', 'database': 'reachable', 'version': settings.VERSION}
    newest = re.search(r'^## \[(\d+\.\d+\.\d+)\]', open(os.path.join(ROOT, 'CHANGELOG.md')).read(), re.M).group(1)
    assert settings.VERSION == newest == client.get('/openapi.json').json['info']['version']


def test_a_host_s_commit_is_the_version_s_build_metadata(tmp_path):
    ran = subprocess.run([sys.executable, '-c', 'import settings; print(settings.VERSION)'], cwd=ROOT,
                         env={**os.environ, 'SOURCE_VERSION': '1a2b3c4d5e6f7a8b9c0d'}, capture_output=True, text=True)
    assert ran.stdout.strip() == f'{settings.RELEASE}+1a2b3c4d5e6f'


def test_readiness_names_a_migration_step_not_applied(client):
    assert client.get('/readyz').json == {'status': 'ready', 'version': settings.VERSION}
    latest = migrations.STEPS[-1]
    with db.connection_context():
        row = db.execute_sql('SELECT "name", "applied_at" FROM "schema_migrations" WHERE "version" = '
                             f'{latest.version}').fetchone()
        db.execute_sql(f'DELETE FROM "schema_migrations" WHERE "version" = {latest.version}')
    try:
        res = client.get('/readyz', status=503)
        assert f'Migration step {latest.version} is not applied' in res.json['detail']
        assert res.headers['Retry-After']
    finally:
        with db.connection_context():
            db.execute_sql('INSERT INTO "schema_migrations" ("version", "name", "applied_at") VALUES '
                           f'({latest.version}, {db.param}, {db.param})', row)
    client.get('/readyz', status=200)


def test_the_front_page_links_the_rest(client):
    res = client.get('/')
    assert res.json['links'] == {'documentation': '/docs', 'openapi': '/openapi.json',
                                 'bucketlists': '/bucketlists/', 'health': '/health'}
    page = client.get('/', headers={'Accept': 'text/html'})
    assert page.content_type == 'text/html'
    assert 'href="/docs"' in page.text and 'href="/bucketlists/"' in page.text
    assert "default-src 'none'" in page.headers['Content-Security-Policy']


def test_metrics_are_off_without_a_token(client):
    assert not settings.METRICS_TOKEN
    client.get('/metrics', status=404)


# --- Settings from a .env file -------------------------------------------------------------------

def settings_in(directory, **env):
    clean = {k: v for k, v in os.environ.items() if k not in ('APP_SETTINGS', 'PAGE_SIZE', 'DATABASE_URL')}
    code = 'import settings; print(settings.PAGE_SIZE, settings.LOG_FORMAT)'
    return subprocess.run([sys.executable, '-c', code], cwd=directory, capture_output=True, text=True,
                          env={**clean, 'PYTHONPATH': ROOT, **env}, timeout=30, check=True).stdout.split()


def test_a_dotenv_file_is_read_and_the_real_environment_wins(tmp_path):
    (tmp_path / '.env').write_text('PAGE_SIZE=7\nLOG_FORMAT=json\n')
    assert settings_in(tmp_path) == ['7', 'json']
    assert settings_in(tmp_path, PAGE_SIZE='9') == ['9', 'json']


def test_env_example_lists_every_setting_with_its_default():
    source = open(os.path.join(ROOT, 'settings.py')).read()
    names = set(re.findall(r"(?:environ\.get|integer|numbers?|flag)\('([A-Z_]+)'", source)) - {'HEROKU_SLUG_COMMIT'}
    example = open(os.path.join(ROOT, '.env.example')).read()
    listed = set(re.findall(r'^#? ?([A-Z_]+)=', example, re.MULTILINE))
    assert names == listed


# --- Served by gunicorn, two workers -------------------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


@pytest.fixture(scope='module')
def served():
    """The Procfile's web command with LOG_FORMAT=json and METRICS_TOKEN, on its own SQLite file."""
    directory = tempfile.mkdtemp(prefix='bucketlist-served-')
    port, token = free_port(), secrets.token_urlsafe(16)
    env = {**{k: v for k, v in os.environ.items() if k != 'TEST_DATABASE_URL'},
           'APP_SETTINGS': 'production', 'SECRET': secrets.token_urlsafe(32), 'DATABASE_URL':
           f'sqlite:///{directory}/served.db', 'PORT': str(port), 'WEB_CONCURRENCY': '2', 'LOG_FORMAT': 'json',
           'METRICS_TOKEN': token, 'PASSWORD_TIME_COST': '1', 'PASSWORD_MEMORY_KIB': '1024',
           # One connection at a time per worker: while one holds a slow request, the other answers.
           'GUNICORN_CMD_ARGS': '--worker-connections 1',
           'PATH': os.path.dirname(sys.executable) + os.pathsep + os.environ['PATH']}
    subprocess.run([sys.executable, 'migrations.py'], cwd=ROOT, env=env, check=True, capture_output=True)
    with open(os.path.join(ROOT, 'Procfile')) as procfile:
        web = next(line for line in procfile if line.startswith('web:'))[4:].strip()
    log_path = os.path.join(directory, 'stderr.log')
    with open(log_path, 'w') as log_file:
        server = subprocess.Popen(['bash', '-c', f'exec {web}'], cwd=ROOT, env=env, stdout=log_file, stderr=log_file)
    base = f'http://127.0.0.1:{port}'
    for _ in range(100):
        try:
            urllib.request.urlopen(base + '/livez', timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield base, token, log_path
    server.terminate()
    server.wait(30)


def fetch(url, method='GET', body=None, token=None):
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={'Content-Type': 'application/json',
                                              **({'Authorization': f'Bearer {token}'} if token else {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_metrics_add_up_over_two_workers_and_every_log_line_is_json(served):
    base, metrics_token, log_path = served
    fetch(base + '/auth/register', 'POST', {'email': 'ops@example.com', 'password': PASSWORD})
    login = fetch(base + '/auth/login', 'POST', {'email': 'ops@example.com', 'password': PASSWORD})
    token = json.loads(login[1])['access_token']
    # A registration whose body has not arrived yet keeps one worker busy, so the other
    # answers the rest; then it arrives, and both workers have answered.
    body = json.dumps({'email': 'slow@example.com', 'password': PASSWORD}).encode()
    slow = socket.create_connection(('127.0.0.1', int(base.rsplit(':', 1)[1])))
    slow.sendall(b'POST /auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                 b'Content-Length: %d\r\n\r\n' % len(body))
    time.sleep(0.3)
    with ThreadPoolExecutor(6) as clients:
        statuses = list(clients.map(lambda n: fetch(base + ('/bucketlists/' if n < 30 else '/bucketlists/999'),
                                                    token=token)[0], range(37)))
    assert statuses == [200] * 30 + [404] * 7
    slow.sendall(body)
    assert slow.recv(100).startswith(b'HTTP/1.1 201')
    slow.close()
    # A webhook whose one message waits (no worker runs here): the queue shows it.
    fetch(base + '/webhooks', 'POST', {'url': 'https://hooks.example.com/', 'events': ['bucketlist.created']},
          token=token)
    assert fetch(base + '/bucketlists/', 'POST', {'name': 'Queued'}, token=token)[0] == 201
    assert fetch(base + '/metrics')[0] == 401
    assert fetch(base + '/metrics', token='wrong')[0] == 401
    status, body = fetch(base + '/metrics', token=metrics_token)
    assert status == 200
    text = body.decode()

    def count(route, method, code):
        match = re.search(rf'bucketlist_requests_total{{method="{method}",route="{re.escape(route)}",'
                          rf'status="{code}"}} ([0-9.e+]+)', text)
        return float(match.group(1)) if match else 0
    assert 'bucketlist_webhook_queue_depth 1.0' in text and 'bucketlist_webhook_queue_lag_seconds' in text
    assert 'bucketlist_webhook_deliveries_total{outcome="delivered"} 0.0' in text
    assert count('/bucketlists/', 'GET', 200) == 30
    assert count('/bucketlists/<bucketlist_id:id>', 'GET', 404) == 7
    assert count('/auth/login', 'POST', 200) == 1
    assert 'bucketlist_request_duration_seconds_bucket' in text
    assert 'bucketlist_database_connections_in_use' in text and 'bucketlist_password_hashes_queued' in text

    time.sleep(0.5)  # the last request's log line
    lines = [line for line in open(log_path).read().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line on the stream is one JSON object
    assert all(re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z', record['time']) for record in records), \
        {record['time'] for record in records}  # RFC 3339, UTC, milliseconds
    assert any(record.get('logger') == 'gunicorn.error' for record in records)
    assert not any(record.get('logger') == 'gunicorn.access' for record in records)  # ours says more
    requests = [record['request'] for record in records if 'request' in record]
    assert len([r for r in requests if r['route'] == '/bucketlists/' and r['status'] == 200]) == 30
    assert len({record['process'] for record in records if 'request' in record}) == 2  # both workers answered


def test_the_request_log_cannot_be_forged_or_flooded_with_methods(client, service_log):
    client.request('/health', method='FROB', status=405)
    client.get('/x%0A2030-01-01 INFO bucketlist POST /auth/login 200', status=400)
    lines = [record for record in service_log if hasattr(record, 'request')]
    assert [record.request['method'] for record in lines] == ['OTHER', 'GET']
    assert '\n' not in lines[1].getMessage() and '\\x0a' in lines[1].request['path']


def raw_answer(base, request):
    """The status line, headers and body gunicorn answers to the raw bytes ``request``."""
    with socket.create_connection(('127.0.0.1', int(base.rsplit(':', 1)[1])), timeout=10) as connection:
        connection.sendall(request)
        answer = b''
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b'\r\n\r\n')
    status_line, *header_lines = head.decode('latin1').split('\r\n')
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(':') for line in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize('request_bytes, status', [
    (b'GET /bucketlists/?q=' + b'x' * 5000 + b' HTTP/1.1\r\nHost: x\r\n\r\n', 414),  # past the request line's limit
    (b'GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'x' * 9000 + b'\r\n\r\n', 431),
    (b'get /health HTTP/1.1\r\nHost: x\r\n\r\n', 400),  # a lower-case method
    (b'GET /health HTTP/9.9\r\nHost: x\r\n\r\n', 400),
    (b'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n', 400),
])
def test_what_gunicorn_refuses_before_the_app_is_a_problem_document_too(served, request_bytes, status):
    base, _, _ = served
    answered, headers, body = raw_answer(base, request_bytes)
    assert answered == status
    assert headers['content-type'] == 'application/problem+json'
    assert headers['x-content-type-options'] == 'nosniff' and headers['cache-control'] == 'no-store'
    assert len(headers['x-request-id']) == 32
    problem = json.loads(body)
    assert problem['status'] == status and problem['type'] == 'about:blank' and problem['detail']
    assert int(headers['content-length']) == len(body)
