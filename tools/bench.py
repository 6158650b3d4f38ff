"""Benchmark: the service under gunicorn on PostgreSQL, beside the tutorial's app and a bare WSGI hello.

    .venv/bin/python tools/bench.py --scale 1k --duration 5 --start-peer
    .venv/bin/python tools/bench.py --scale 1m --rounds 3 --start-peer --requests-for-memory 100000
    .venv/bin/python tools/bench.py --compare-scales 1k,1m

It resets and seeds a PostgreSQL database (bucketlists spread over many users, items too), starts
the service with the Procfile's gunicorn settings, drives every scenario with wrk from a second
process, interleaved with the same requests against the tutorial's Flask app (the peer, where it
has the route) and a bare WSGI hello world (the ceiling), and prints markdown tables.
"""
import argparse
import json
import os
import platform
import re
import resource
import runpy
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict, namedtuple
from contextlib import ExitStack, contextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit

import psycopg2

from resilience import PgBouncer

TOOLS = os.path.dirname(os.path.abspath(__file__))  # this script's folder, where minimal_app is
ROOT = os.path.dirname(TOOLS)  # the project: migrations.py, Procfile, gunicorn.conf.py, the app
# The servers compared with ours live outside this repository: --peers (or BENCH_PEERS) names a
# directory holding the tutorial's app (seed_flask/), the FastAPI one (fastapi_peer/) and hello_wsgi.py.
PEERS = FASTAPI_DIR = None
PEER_VENV = '/tmp/peer-venv'
FASTAPI_VENV = '/tmp/fastapi-peer-venv'
SERVERS = ('ours', 'fastapi', 'peer', 'minimal', 'hello')  # the order of every round
PORTS = {'ours': 8510, 'peer': 8511, 'hello': 8512, 'small': 8513, 'large': 8514, 'minimal': 8515,
         'fastapi': 8516, 'pooled': 8517}

# The measured user ("reader", user 1) owns the first READER_BUCKETLISTS bucketlists at every
# scale, so list pages compare across scales; the other users own PER_USER each. Bucketlist 1 has
# ITEMS_PER_BUCKETLIST items like the rest, bucketlist 2 has BIG_BUCKETLIST_ITEMS (item ids 1-100).
# POST create runs as user 2 ("writer") so the reader's list keeps its size.
READER_BUCKETLISTS = 500
PER_USER = 100
ITEMS_PER_BUCKETLIST = 3
BIG_BUCKETLIST_ITEMS = 100
PAGE_SIZE = 20
PASSWORD = 'bench-password'
# Logins are user 3's: each opens a session, and past MAX_SESSIONS_PER_USER the least recently
# used end, which must not be the reader's or the writer's.
LOGIN_BODY = f'email=user3@bench.example&password={PASSWORD}'

# path: '{id}' cycles over `ids` (first, count); body: '{unique}' is unique per request;
# token: whose Bearer token ours, the FastAPI peer and hello get; peer: the tutorial's app has the
# same route; fastapi: so has the FastAPI peer (it takes JSON bodies only: it gets the form's fields
# as JSON); via: 'pgbouncer' sends ours' requests to a second instance of ours that reaches the
# same database through PgBouncer in transaction mode.
Scenario = namedtuple('Scenario', 'name method path body token peer ids connections fastapi via',
                      defaults=(None, 'reader', False, None, 16, False, None))
SYNC_SCENARIO = 'GET sync, 3 changes since the cursor'
PUSH_SCENARIO = 'POST sync, 100 item edits (one batch)'
PUSH_EDITS = 100
# The reader ticks bucketlist 2's items in one POST /sync: each command's uuid is new
# ({request_hex}: the run, the wrk thread and its request), as an offline client's are.
PUSH_BODY = json.dumps({'cursor': '{cursor}', 'commands': [
    {'uuid': f'{{request_hex}}-8000-{n:012x}', 'type': 'item.update',
     'args': {'bucketlist_id': 2, 'item_id': n, 'done': True}} for n in range(1, PUSH_EDITS + 1)]},
    separators=(',', ':'))
SCENARIOS = [
    Scenario('GET one bucketlist (3 items)', 'GET', '/bucketlists/1', peer=True, fastapi=True),
    Scenario('GET one bucketlist (100 items)', 'GET', '/bucketlists/2'),
    Scenario('GET list, first page', 'GET', '/bucketlists/', fastapi=True),
    Scenario(f'GET list, deep page ({READER_BUCKETLISTS // PAGE_SIZE})', 'GET',
             f'/bucketlists/?page={READER_BUCKETLISTS // PAGE_SIZE}&limit={PAGE_SIZE}'),
    Scenario('GET search ?q=42', 'GET', '/bucketlists/?q=42', fastapi=True),
    Scenario('GET items, first page', 'GET', '/bucketlists/2/items/'),
    # Its cursor is the reader's, taken afresh right before it runs (sync_scenario).
    Scenario(SYNC_SCENARIO, 'GET', '/sync?cursor={cursor}'),
    Scenario('GET one bucketlist (3 items), through PgBouncer', 'GET', '/bucketlists/1', via='pgbouncer'),
    # The writes after the reads: each read is measured as GET one is, before the writes leave
    # autovacuum work to compete with it on the same CPUs.
    Scenario('POST create', 'POST', '/bucketlists/', 'name=bench-{unique}', 'writer', peer=True, fastapi=True),
    Scenario('PUT rename', 'PUT', '/bucketlists/{id}', 'name=renamed-{unique}', peer=True,
             ids=(3, 100), fastapi=True),
    Scenario('POST item', 'POST', '/bucketlists/{id}/items/', 'name=item-{unique}', ids=(103, 300)),
    Scenario('PATCH item done', 'PATCH', '/bucketlists/2/items/{id}', 'done=true',
             ids=(1, BIG_BUCKETLIST_ITEMS), fastapi=True),
    # Its cursor is the reader's, taken afresh right before it runs (push_scenario). Four batches at
    # once keep both CPUs busy (each is a hundred writes); sixteen would mostly queue on the same
    # hundred rows' locks, which is no cost of a batch but of sixteen writing the same items.
    Scenario(PUSH_SCENARIO, 'POST', '/sync', PUSH_BODY, connections=4),
    # argon2 saturates the CPUs with a few logins at once; more connections would only queue.
    Scenario('POST login (4 connections)', 'POST', '/auth/login', LOGIN_BODY, token=None,
             connections=4),
]
GET_ONE = SCENARIOS[0]
LOGIN = SCENARIOS[-1]
SCALE_SCENARIOS = SCENARIOS[2:5]


def parse_scale(text):
    """'1k', '100k', '1m' or a plain number of bucketlists."""
    number, unit = re.fullmatch(r'(\d+)([km]?)', text.lower()).groups()
    bucketlists = int(number) * {'': 1, 'k': 1000, 'm': 1000000}[unit]
    if bucketlists < READER_BUCKETLISTS + PER_USER:
        sys.exit(f'--scale must be at least {READER_BUCKETLISTS + PER_USER} bucketlists')
    return bucketlists


def database_url(base_url, name):
    return base_url.rsplit('/', 1)[0] + '/' + name


def minimal_app():
    """A minimal Bottle + Peewee handler on a connection pool: one bucketlist by id, no token, no
    items, no headers of its own. It shows what any database-backed endpoint costs on this
    machine, between ours and the hello world. Served as gunicorn 'bench:minimal_app()'."""
    from bottle import Bottle
    from playhouse.db_url import connect

    database = connect(os.environ['DATABASE_URL'].replace('postgresql://', 'postgresql+pool://', 1))
    app = Bottle()

    @app.get('/bucketlists/<bucketlist_id:int>')
    def show(bucketlist_id):
        with database.connection_context():
            row = database.execute_sql('SELECT id, name FROM bucketlists WHERE id = %s',
                                       (bucketlist_id,)).fetchone()
        return {'id': row[0], 'name': row[1]}
    return app


# --- Seeding -------------------------------------------------------------------------------------

CREATED = []  # the databases this run created, dropped when it ends (a million rows take a gigabyte)


def reset_database(url):
    """Drop and create the database ``url`` names; only bench_* and peer_bench, never others."""
    name = urlsplit(url).path.lstrip('/')
    if not (name.startswith('bench_') or name == 'peer_bench'):
        sys.exit(f'refusing to reset database {name!r}: only bench_* and peer_bench')
    drop_database(url)
    admin_sql(url, f'CREATE DATABASE "{name}"')
    CREATED.append(url)


def drop_database(url):
    admin_sql(url, f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')


def admin_sql(url, statement):
    admin = psycopg2.connect(database_url(url, 'postgres'))
    admin.autocommit = True  # CREATE and DROP DATABASE refuse to run in a transaction
    with admin.cursor() as cursor:
        cursor.execute(statement)
    admin.close()


def run_sql(url, statements, parameters=None):
    connection = psycopg2.connect(url)
    connection.autocommit = True  # VACUUM refuses to run in a transaction
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, parameters)
    connection.close()


def seed(url, bucketlists, service_env):
    """A fresh database at ``url``, migrated, holding ``bucketlists`` bucketlists and their items."""
    started = time.monotonic()
    reset_database(url)
    env = dict(service_env, DATABASE_URL=url)
    subprocess.run([sys.executable, 'migrations.py'], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    # Hashed once, by the service's own hasher and settings, so logins verify and never rehash.
    password_hash = subprocess.run(
        [sys.executable, '-c', 'import auth, sys; print(auth.hash_password(sys.argv[1]))', PASSWORD],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.strip()
    users = 1 + -(-(bucketlists - READER_BUCKETLISTS) // PER_USER)
    now = "(now() AT TIME ZONE 'UTC')"
    run_sql(url, [
        f'''INSERT INTO users (id, email, password_hash, date_created)
            SELECT u, 'user' || u || '@bench.example', %(hash)s, {now}
            FROM generate_series(1, %(users)s) u''',
        # Counted once at the end, not by the triggers one bucketlist or item at a time.
        'ALTER TABLE bucketlists DISABLE TRIGGER bucketlists_count',
        f'''INSERT INTO bucketlists (id, name, owner_id, date_created, date_modified)
            SELECT b, 'bucketlist ' || b,
                   CASE WHEN b <= %(reader)s THEN 1 ELSE 2 + (b - %(reader)s - 1) / %(per_user)s END,
                   {now}, {now}
            FROM generate_series(1, %(bucketlists)s) b''',
        'UPDATE users SET bucketlist_count = (SELECT count(*) FROM bucketlists WHERE owner_id = users.id)',
        'ALTER TABLE bucketlists ENABLE TRIGGER bucketlists_count',
        'ALTER TABLE items DISABLE TRIGGER items_count',
        f'''INSERT INTO items (id, name, done, bucketlist_id, date_created, date_modified)
            SELECT i, 'item ' || i, false, 2, {now}, {now}
            FROM generate_series(1, %(big)s) i''',
        f'''INSERT INTO items (id, name, done, bucketlist_id, date_created, date_modified)
            SELECT %(big)s + (b - 1) * %(items)s + i, 'item ' || i, i = 1, b, {now}, {now}
            FROM generate_series(1, %(bucketlists)s) b, generate_series(1, %(items)s) i
            WHERE b <> 2''',
        'UPDATE bucketlists SET item_count = (SELECT count(*) FROM items WHERE bucketlist_id = bucketlists.id)',
        'ALTER TABLE items ENABLE TRIGGER items_count',
        *(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
          for table in ('users', 'bucketlists', 'items')),
        # Vacuumed and analysed now rather than by autovacuum in the middle of a measurement.
        'VACUUM ANALYZE',
    ], {'hash': password_hash, 'users': users, 'reader': READER_BUCKETLISTS, 'per_user': PER_USER,
        'bucketlists': bucketlists, 'big': BIG_BUCKETLIST_ITEMS, 'items': ITEMS_PER_BUCKETLIST})
    log(f'seeded {url}: {users} users, {bucketlists} bucketlists in {time.monotonic() - started:.1f}s')


def seed_peer(url, bucketlists):
    """The tutorial's app on a fresh database of its own, with ``bucketlists`` bucketlists."""
    if not os.path.exists(f'{PEER_VENV}/bin/gunicorn'):
        log(f'creating {PEER_VENV}')
        subprocess.run(['python3', '-m', 'venv', PEER_VENV], check=True)
        subprocess.run([f'{PEER_VENV}/bin/pip', 'install', '-q', '-r',
                        f'{PEERS}/seed_flask/requirements.txt'], check=True)
    # It runs under the Procfile's worker class, as every server here does.
    if subprocess.run([f'{PEER_VENV}/bin/python', '-c', 'import gevent'], capture_output=True).returncode:
        subprocess.run([f'{PEER_VENV}/bin/pip', 'install', '-q', 'gevent>=24.10.1', 'packaging'], check=True)
    reset_database(url)
    # Its schema is its own: run.py creates the tables on import.
    subprocess.run([f'{PEER_VENV}/bin/python', '-c', 'import run'], cwd=f'{PEERS}/seed_flask',
                   env=peer_env(url), check=True)
    run_sql(url, [
        '''INSERT INTO bucketlists (id, name, date_created, date_modified)
           SELECT b, 'bucketlist ' || b, now(), now() FROM generate_series(1, %(bucketlists)s) b''',
        "SELECT setval(pg_get_serial_sequence('bucketlists', 'id'), %(bucketlists)s)",
        'VACUUM ANALYZE',
    ], {'bucketlists': bucketlists})


def seed_fastapi(url, bucketlists, service_env):
    """The FastAPI peer on a fresh database of its own, holding the same users, bucketlists and items
    as ours (its schema, its own `python -m app init`)."""
    if not os.path.exists(f'{FASTAPI_VENV}/bin/gunicorn'):
        log(f'creating {FASTAPI_VENV}')
        subprocess.run(['python3', '-m', 'venv', FASTAPI_VENV], check=True)
        subprocess.run([f'{FASTAPI_VENV}/bin/pip', 'install', '-q', '-r', f'{FASTAPI_DIR}/requirements.txt'],
                       check=True)
    reset_database(url)
    subprocess.run([f'{FASTAPI_VENV}/bin/python', '-m', 'app', 'init'], cwd=FASTAPI_DIR,
                   env=fastapi_env(url, service_env), check=True, stdout=subprocess.DEVNULL)
    password_hash = subprocess.run(
        [sys.executable, '-c', 'import auth, sys; print(auth.hash_password(sys.argv[1]))', PASSWORD],
        cwd=ROOT, env=dict(service_env, DATABASE_URL=url), check=True, capture_output=True, text=True).stdout.strip()
    users = 1 + -(-(bucketlists - READER_BUCKETLISTS) // PER_USER)
    run_sql(url, [
        """INSERT INTO users (id, email, password_hash)
           SELECT u, 'user' || u || '@bench.example', %(hash)s FROM generate_series(1, %(users)s) u""",
        """INSERT INTO bucketlists (id, name, created_by)
           SELECT b, 'bucketlist ' || b,
                  CASE WHEN b <= %(reader)s THEN 1 ELSE 2 + (b - %(reader)s - 1) / %(per_user)s END
           FROM generate_series(1, %(bucketlists)s) b""",
        """INSERT INTO items (id, name, done, bucketlist_id)
           SELECT i, 'item ' || i, false, 2 FROM generate_series(1, %(big)s) i""",
        """INSERT INTO items (id, name, done, bucketlist_id)
           SELECT %(big)s + (b - 1) * %(items)s + i, 'item ' || i, i = 1, b
           FROM generate_series(1, %(bucketlists)s) b, generate_series(1, %(items)s) i WHERE b <> 2""",
        *(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
          for table in ('users', 'bucketlists', 'items')),
        'VACUUM ANALYZE',
    ], {'hash': password_hash, 'users': users, 'reader': READER_BUCKETLISTS, 'per_user': PER_USER,
        'bucketlists': bucketlists, 'big': BIG_BUCKETLIST_ITEMS, 'items': ITEMS_PER_BUCKETLIST})


def fastapi_env(url, service_env):
    return dict(os.environ, DATABASE_URL=url, SECRET=service_env['SECRET'])


def peer_env(url):
    return dict(os.environ, APP_SETTINGS='production',
                DATABASE_URL=url.replace('postgresql://', 'postgresql+psycopg2://', 1))


# --- Serving -------------------------------------------------------------------------------------

def fastapi_command(gunicorn, workers, port):
    """The FastAPI peer as its README serves it: gunicorn with uvicorn workers."""
    conf = runpy.run_path(os.path.join(ROOT, 'gunicorn.conf.py'))
    return [gunicorn, 'app.main:app', '--worker-class', 'uvicorn_worker.UvicornWorker', '--workers', str(workers),
            '--bind', f'127.0.0.1:{port}', '--keep-alive', str(conf['keepalive']), '--timeout', str(conf['timeout']),
            '--graceful-timeout', str(conf['graceful_timeout']), '--no-control-socket']


def procfile_command(workers, port):
    """The Procfile's web command with gunicorn.conf.py's settings spelled out, so that every server
    (ours, the minimal handler, hello) runs under them, for ``workers`` workers on ``port``."""
    with open(os.path.join(ROOT, 'Procfile')) as procfile:
        line = next(line for line in procfile if line.startswith('web:'))
    conf = runpy.run_path(os.path.join(ROOT, 'gunicorn.conf.py'))
    return shlex.split(line[4:]) + [
        '--bind', f'127.0.0.1:{port}', '--workers', str(workers), '--worker-class', conf['worker_class'],
        '--worker-connections', str(conf['worker_connections']), '--timeout', str(conf['timeout']),
        '--graceful-timeout', str(conf['graceful_timeout']), '--keep-alive', str(conf['keepalive'])]


@contextmanager
def serve(name, gunicorn, app, cwd, env, workers, ready_path, workdir):
    """Runs ``app`` under the Procfile's gunicorn settings until the block ends; yields the master."""
    port = PORTS[name]
    url = f'http://127.0.0.1:{port}'
    with socket.socket() as probe:
        if probe.connect_ex(('127.0.0.1', port)) == 0:
            sys.exit(f'port {port} is in use: stop whatever listens there first')
    if name == 'fastapi':
        command = fastapi_command(gunicorn, workers, port)
    else:
        command = procfile_command(workers, port)
        command[0:2] = [gunicorn, app]
    log_path = os.path.join(workdir, f'{name}.log')
    with open(log_path, 'w') as log_file:
        master = subprocess.Popen(command, cwd=cwd, env=env, stdout=log_file, stderr=log_file)
    try:
        wait_until_answering(url + ready_path, master, log_path)
        log(f'{name}: gunicorn {shlex.join(command[1:])} (pid {master.pid})')
        yield master
    finally:
        master.send_signal(signal.SIGTERM)
        try:
            master.wait(30)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait()


def wait_until_answering(url, process, log_path, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    with open(log_path) as server_log:
        sys.exit(f'{url} did not answer; server log:\n' + server_log.read()[-3000:])


def push_scenario(url, token):
    """The push of 100 edits from the reader's current cursor: its answer holds them."""
    scenario = next(s for s in SCENARIOS if s.name == PUSH_SCENARIO)
    return scenario._replace(body=scenario.body.replace('{cursor}', current_cursor(url, token)))


def current_cursor(url, token):
    """The cursor of a full sync of the reader's."""
    cursor = None
    while True:
        query = urlencode({'limit': 1000, **({'cursor': cursor} if cursor else {})})
        request = urllib.request.Request(f'{url}/sync?{query}', headers={'Authorization': f'Bearer {token}'})
        with urllib.request.urlopen(request) as answer:
            page = json.load(answer)
        cursor = page['cursor']
        if not page['has_more']:
            return cursor


def sync_scenario(url, token):
    """The reader syncs everything, then three of their items change: a GET /sync with that cursor
    finds those three, however many rows the database holds."""
    cursor = current_cursor(url, token)
    first_item = BIG_BUCKETLIST_ITEMS + 1  # bucketlist 1's items follow bucketlist 2's
    for item_id in range(first_item, first_item + ITEMS_PER_BUCKETLIST):
        request = urllib.request.Request(f'{url}/bucketlists/1/items/{item_id}', data=b'done=true', method='PATCH',
                                         headers={'Authorization': f'Bearer {token}'})
        urllib.request.urlopen(request).close()
    return next(s for s in SCENARIOS if s.name == SYNC_SCENARIO)._replace(path=f'/sync?cursor={cursor}')


def login(url, user, as_json=False):
    """A token for bench user ``user``; retried while the service sheds a login burst (503)."""
    fields = {'email': f'user{user}@bench.example', 'password': PASSWORD}
    body = json.dumps(fields).encode() if as_json else urlencode(fields).encode()
    content_type = 'application/json' if as_json else 'application/x-www-form-urlencoded'
    for _ in range(60):
        try:
            request = urllib.request.Request(url + '/auth/login', data=body, headers={'Content-Type': content_type})
            with urllib.request.urlopen(request) as answer:
                return json.load(answer)['access_token']
        except urllib.error.HTTPError as error:
            if error.code != 503:
                raise
            time.sleep(float(error.headers.get('Retry-After', '1')))
    sys.exit(f'{url} kept answering 503 to a login')


def processes():
    """(pid, command, parent pid, CPU seconds so far) of every process, from /proc."""
    ticks = os.sysconf('SC_CLK_TCK')
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/stat') as stat:
                command, fields = stat.read().split(' (', 1)[1].rsplit(') ', 1)
        except OSError:
            continue  # a process that ended meanwhile
        fields = fields.split()
        yield int(pid), command, int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks


def cpu_seconds(masters):
    """CPU seconds used so far by each server's gunicorn workers ({name: master pid}), by all
    PostgreSQL processes ('postgres') and by finished child processes such as wrk ('wrk')."""
    servers = {master: name for name, master in masters.items()}
    totals, totals['postgres'] = defaultdict(float), {}
    for pid, command, parent, seconds in processes():
        if parent in servers:
            totals[servers[parent]] += seconds
        elif command == 'postgres':
            totals['postgres'][pid] = seconds
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    totals['wrk'] = children.ru_utime + children.ru_stime
    return totals


def cpu_spent(before, after, part):
    """CPU seconds ``part`` used between two cpu_seconds() readings. PostgreSQL's are counted per
    process: one that ended meanwhile (a backend, an autovacuum worker) would take its seconds
    with it, and the sum would drop."""
    if part != 'postgres':
        return after[part] - before[part]
    return sum(seconds - before['postgres'].get(pid, 0) for pid, seconds in after['postgres'].items())


def worker_rss(master_pid):
    """{worker pid: resident memory in MiB} for the children of a gunicorn master."""
    rss = {}
    for pid, _, parent, _ in processes():
        if parent != master_pid:
            continue
        try:
            with open(f'/proc/{pid}/status') as status:
                kib = next(line for line in status if line.startswith('VmRSS:')).split()[1]
            rss[pid] = int(kib) / 1024
        except (OSError, StopIteration):
            pass  # a process that ended meanwhile
    return rss


# --- Load ----------------------------------------------------------------------------------------

LUA_DONE = r'''
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "duration_us": %d, "non2xx": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p99_us": %d}\n', summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
'''

# Only for scenarios that vary per request: wrk sends a fixed request cheaper without request().
LUA_REQUEST = r'''
local counter = 0
local threads = 0
thread_id = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function request()
  counter = counter + 1
  local path = wrk.path:gsub("{id}", tostring(FIRST_ID + counter % ID_COUNT))
  local body = wrk.body and wrk.body:gsub("{unique}", RUN .. "-" .. thread_id .. "-" .. counter)
    :gsub("{request_hex}", string.format("%s-%04x-%04x", RUN, thread_id % 65536, counter % 65536))
  return wrk.format(nil, path, nil, body)
end
'''


def lua_script(scenario, token, workdir, as_json=False):
    """Writes the wrk script for one scenario and returns its path; ``as_json`` sends the form's
    fields as a JSON object instead."""
    lines = [f'wrk.method = {json.dumps(scenario.method)}',
             f'wrk.path = {json.dumps(scenario.path)}']
    if token:
        lines.append(f'wrk.headers["Authorization"] = {json.dumps("Bearer " + token)}')
    if scenario.body and scenario.body.startswith('{'):  # JSON already
        lines.append(f'wrk.body = {json.dumps(scenario.body)}')
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    elif scenario.body and as_json:
        fields = {name: {'true': True, 'false': False}.get(value, value) for name, value in parse_qsl(scenario.body)}
        lines.append(f'wrk.body = {json.dumps(json.dumps(fields))}')
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    elif scenario.body:
        lines.append(f'wrk.body = {json.dumps(scenario.body)}')
        lines.append('wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"')
    if '{' in scenario.path + (scenario.body or ''):
        first, count = scenario.ids or (1, 1)
        lines += [f'FIRST_ID, ID_COUNT = {first}, {count}',
                  f'RUN = {json.dumps(secrets.token_hex(4))}', LUA_REQUEST]
    path = tempfile.mkstemp(suffix='.lua', dir=workdir)[1]
    with open(path, 'w') as script:
        script.write('\n'.join(lines) + LUA_DONE)
    return path


def wrk_command(url, scenario, token, seconds, workdir, threads=2, connections=16, as_json=False):
    script = lua_script(scenario, token, workdir, as_json)
    return ['wrk', f'-t{threads}', f'-c{connections}', f'-d{seconds}s', '--timeout', '10s',
            '-s', script, url]


def wrk_result(output):
    """req/s, p50 and p99 in ms, and failures (HTTP status >= 400 or socket errors)."""
    line = next(line for line in output.splitlines() if line.startswith('BENCH '))
    figures = json.loads(line[len('BENCH '):])
    return {'rps': figures['requests'] / (figures['duration_us'] / 1e6),
            'p50': figures['p50_us'] / 1000, 'p99': figures['p99_us'] / 1000,
            'errors': figures['non2xx'] + figures['socket_errors'], 'requests': figures['requests']}


def wrk(url, scenario, token, seconds, workdir, **options):
    command = wrk_command(url, scenario, token, seconds, workdir, **options)
    return wrk_result(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def drive(url, scenario, token, requests, workdir):
    """At least ``requests`` requests, in 10-second wrk runs (wrk cannot stop after a count)."""
    runs = []
    while sum(run['requests'] for run in runs) < requests:
        runs.append(wrk(url, scenario, token, 10, workdir))
    total = sum(run['requests'] for run in runs)
    return {'requests': total, 'rps': total / (10 * len(runs)),
            'errors': sum(run['errors'] for run in runs)}


def login_burst(url, token, seconds, workdir):
    """GET one alone, then while 8 connections log in: does slow argon2 starve other routes?"""
    alone = wrk(url, GET_ONE, token, seconds, workdir, threads=1, connections=4)
    logins = subprocess.Popen(wrk_command(url, LOGIN, None, seconds, workdir, threads=1,
                                          connections=8), stdout=subprocess.PIPE, text=True)
    during = wrk(url, GET_ONE, token, seconds, workdir, threads=1, connections=4)
    return alone, during, wrk_result(logins.communicate()[0])


# --- Reports -------------------------------------------------------------------------------------

def log(message):
    print(message, file=sys.stderr, flush=True)


def median(results, key):
    return statistics.median(result[key] for result in results)


def table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(row) + ' |' for row in rows]
    return '\n'.join(lines)


def machine_notes(args, db_url):
    with open('/proc/cpuinfo') as cpuinfo:
        cpu = next((line.split(':', 1)[1].strip() for line in cpuinfo
                    if line.startswith('model name')), platform.machine())
    connection = psycopg2.connect(db_url)
    with connection.cursor() as cursor:
        cursor.execute('SHOW server_version')
        postgres = cursor.fetchone()[0]
    connection.close()
    commit = subprocess.run(['git', 'describe', '--always', '--dirty'], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    gunicorn = shlex.join(procfile_command(args.workers, 'PORT')[2:])
    return (f'{time.strftime("%Y-%m-%d %H:%M")}, commit {commit}; {os.cpu_count()} CPUs ({cpu}); '
            f'PostgreSQL {postgres} on loopback; Python {platform.python_version()}; '
            f'gunicorn APP {gunicorn}; wrk -t2 -c16 -d{args.duration}s on the same machine; '
            f'median of {args.rounds} interleaved round(s); load average at the end '
            f'{os.getloadavg()[0]:.1f}.')


def ms(value):
    return f'{value:.2f} ms'


def ratio_cell(ours, peer):
    """ours/peer of the medians, and the range of the per-round ratios when there are several."""
    cell = f'{median(ours, "rps") / median(peer, "rps"):.2f}×'
    if len(ours) > 1:
        ratios = [o['rps'] / p['rps'] for o, p in zip(ours, peer, strict=True)]
        cell += f' ({min(ratios):.2f}–{max(ratios):.2f})'
    return cell


def print_main_tables(args, bucketlists, results, bursts, rss, memory):
    print(f'\n### {bucketlists:,} bucketlists, {args.workers} workers\n')
    header = ['scenario', 'ours req/s', 'p50', 'p99', 'non-2xx', 'FastAPI req/s', 'ours/FastAPI (rounds)',
              'peer req/s', 'ours/peer (rounds)', 'hello req/s', 'ours % of hello', 'ours % of GET one']
    rows = []
    get_one = median(results[GET_ONE.name, 'ours'], 'rps') if (GET_ONE.name, 'ours') in results else None
    for scenario in SCENARIOS:
        if (scenario.name, 'ours') not in results:
            continue
        ours, fastapi, peer, hello = (results.get((scenario.name, server))
                                      for server in ('ours', 'fastapi', 'peer', 'hello'))
        ours_rps, hello_rps = median(ours, 'rps'), median(hello, 'rps')
        rows.append([scenario.name, f'{ours_rps:,.0f}', ms(median(ours, 'p50')),
                     ms(median(ours, 'p99')), str(sum(r['errors'] for r in ours))]
                    + [cell for other in (fastapi, peer) for cell in (
                        (f'{median(other, "rps"):,.0f}', ratio_cell(ours, other)) if other else ('–', '–'))]
                    + [f'{hello_rps:,.0f}', f'{100 * ours_rps / hello_rps:.0f} %',
                       f'{100 * ours_rps / get_one:.0f} %' if get_one else '–'])
    print(table(header, rows))
    failures = [f'{server} {name}: {sum(r["errors"] for r in runs)}'
                for (name, server), runs in results.items()
                if server != 'ours' and any(r['errors'] for r in runs)]
    if failures:
        print('\nNon-2xx or socket errors elsewhere: ' + '; '.join(failures))
    print(f'\n{machine_notes(args, args.database_url)}')
    patch, push = results.get(('PATCH item done', 'ours')), results.get((PUSH_SCENARIO, 'ours'))
    if patch and push:
        cpu = {name: statistics.median(run['cpu']['ours'] + run['cpu']['postgres'] for run in runs)
               for name, runs in (('patch', patch), ('push', push))}
        print(f'\n{PUSH_SCENARIO}: an edit in a batch takes {1e6 / (median(push, "rps") * PUSH_EDITS):,.0f} µs of '
              f'wall time against {1e6 / median(patch, "rps"):,.0f} µs a PATCH request '
              f'({median(patch, "rps") / (median(push, "rps") * PUSH_EDITS):.2f}×), and '
              f'{cpu["push"] / PUSH_EDITS:,.0f} µs of CPU (workers and PostgreSQL) against {cpu["patch"]:,.0f} µs '
              f'({cpu["push"] / PUSH_EDITS / cpu["patch"]:.2f}×; the goal: under 0.25×).')

    if (GET_ONE.name, 'ours') in results:
        print(f'\n### {GET_ONE.name}: every server, and its CPU per request (µs) on the workers, '
              'PostgreSQL and wrk\n')
        hello_rps = median(results[GET_ONE.name, 'hello'], 'rps')
        rows = []
        for server in SERVERS:
            runs = results.get((GET_ONE.name, server))
            if runs:
                parts = [statistics.median(run['cpu'][part] for run in runs)
                         for part in (server, 'postgres', 'wrk')]
                rows.append([server, f'{median(runs, "rps"):,.0f}',
                             f'{100 * median(runs, "rps") / hello_rps:.0f} %']
                            + [f'{part:,.0f}' for part in parts] + [f'{sum(parts):,.0f}'])
        print(table(['server', 'req/s', '% of hello', 'workers', 'PostgreSQL', 'wrk', 'total'], rows))
        print('\nminimal: a Bottle + Peewee handler on a pool that reads one row by id, with no token, '
              'no items and no headers of its own (`bench.minimal_app`).')

    print('\n### CPU per request of ours, every scenario (µs, medians of the rounds)\n')
    rows = []
    for scenario in SCENARIOS:
        runs = results.get((scenario.name, 'ours'))
        if runs:
            parts = [statistics.median(run['cpu'][part] for run in runs) for part in ('ours', 'postgres', 'wrk')]
            rows.append([scenario.name] + [f'{part:,.0f}' for part in parts] + [f'{sum(parts):,.0f}'])
    print(table(['scenario', 'workers', 'PostgreSQL', 'wrk', 'total'], rows))
    print('\nThrough PgBouncer, "workers" are those of the second instance of ours; PgBouncer\'s own CPU is '
          'not counted.')

    if bursts:
        print('\n### Login burst: GET one bucketlist (wrk -t1 -c4) alone and while 8 connections log in\n')
        alone, during, logins = (list(runs) for runs in zip(*bursts, strict=True))
        print(table(['GET one bucketlist', 'req/s', 'p50', 'p99', 'non-2xx'], [
            [label, f'{median(runs, "rps"):,.0f}', ms(median(runs, 'p50')), ms(median(runs, 'p99')),
             str(sum(r['errors'] for r in runs))]
            for label, runs in (('alone', alone), ('during the login burst', during))]))
        print(f'\nLogins during the burst: {median(logins, "rps"):,.1f} req/s, '
              f'p50 {ms(median(logins, "p50"))}, p99 {ms(median(logins, "p99"))}, '
              f'non-2xx {sum(r["errors"] for r in logins)}. '
              f'During / alone: GET req/s {median(during, "rps") / median(alone, "rps"):.2f}×, '
              f'p50 {median(during, "p50") / median(alone, "p50"):.1f}×, '
              f'p99 {median(during, "p99") / median(alone, "p99"):.1f}×.')

    print('\n### Worker memory (VmRSS, MiB)\n')
    columns = list(rss)
    print(table(['worker pid'] + columns, [
        [str(pid)] + [f'{rss[column].get(pid, float("nan")):.1f}' for column in columns]
        for pid in rss[columns[0]]]))
    if memory:
        print(f'\n{memory["requests"]:,} GET one requests for memory at {memory["rps"]:,.0f} req/s, '
              f'non-2xx {memory["errors"]}.')


def benchmark(args, workdir):
    bucketlists = parse_scale(args.scale)
    env = service_env()
    seed(args.database_url, bucketlists, env)
    with ExitStack() as stack:
        ours = stack.enter_context(serve('ours', gunicorn_path(), 'bucketlist:app', ROOT,
                                         dict(env, DATABASE_URL=args.database_url),
                                         args.workers, '/health', workdir))
        hello = stack.enter_context(serve('hello', gunicorn_path(), 'hello_wsgi:app', PEERS, env,
                                          args.workers, '/', workdir))
        # Run from the project like the others; gunicorn finds this module through PYTHONPATH.
        minimal_env = dict(env, DATABASE_URL=args.database_url,
                           PYTHONPATH=os.pathsep.join(filter(None, [TOOLS, env.get('PYTHONPATH')])))
        minimal = stack.enter_context(serve('minimal', gunicorn_path(), 'bench:minimal_app()', ROOT, minimal_env,
                                            args.workers, '/bucketlists/1', workdir))
        # 8 server connections, enough for 16 clients' one-statement transactions: the cluster's
        # 100 connections must also hold every other server's pool.
        bouncer = stack.enter_context(PgBouncer(args.database_url, 'transaction', pool_size=8))
        pooled = stack.enter_context(serve('pooled', gunicorn_path(), 'bucketlist:app', ROOT,
                                           dict(env, DATABASE_URL=bouncer.url(args.database_url),
                                                DATABASE_POOLER='transaction'),
                                           args.workers, '/health', workdir))
        masters = {'ours': ours.pid, 'hello': hello.pid, 'minimal': minimal.pid, 'pooled': pooled.pid}
        databases = {'ours': args.database_url}  # where each server's POST create writes
        targets = {server: f'http://127.0.0.1:{PORTS[server]}' for server in masters}
        # The peers: (name, gunicorn, app, directory, environment, ready path, database) of each to start.
        peers = []
        if args.start_peer:
            peer_url = database_url(args.database_url, 'peer_bench')
            seed_peer(peer_url, bucketlists)
            peers.append(('peer', f'{PEER_VENV}/bin/gunicorn', 'run:app', f'{PEERS}/seed_flask', peer_env(peer_url),
                          '/bucketlists/1', peer_url))
        elif args.peer_url:
            targets['peer'] = args.peer_url.rstrip('/')
        if args.start_fastapi:
            fastapi_url = database_url(args.database_url, 'bench_fastapi')
            seed_fastapi(fastapi_url, bucketlists, env)
            peers.append(('fastapi', f'{FASTAPI_VENV}/bin/gunicorn', 'app.main:app', FASTAPI_DIR,
                          fastapi_env(fastapi_url, env), '/health', fastapi_url))
        elif args.fastapi_url:
            targets['fastapi'] = args.fastapi_url.rstrip('/')
        for name, gunicorn, app, directory, environment, ready_path, peer_database in peers:
            master = stack.enter_context(serve(name, gunicorn, app, directory, environment, args.workers, ready_path,
                                               workdir))
            masters[name], databases[name] = master.pid, peer_database
            targets[name] = f'http://127.0.0.1:{PORTS[name]}'
        if 'peer' in targets:
            # PUT rename cycles over ids 3-102; the peer must hold them.
            urllib.request.urlopen(targets['peer'] + '/bucketlists/102', timeout=5).close()
        targets = {server: targets[server] for server in SERVERS if server in targets}

        rss = {'at start': worker_rss(ours.pid)}
        pooled_url = f'http://127.0.0.1:{PORTS["pooled"]}'
        for server, url in list(targets.items()) + [('pooled', pooled_url)]:  # pools filled, code paths warm
            wrk(url, GET_ONE, login(url, 1) if server in ('ours', 'pooled') else None, 2, workdir)

        results, bursts = defaultdict(list), []
        scenarios = [s for s in SCENARIOS if args.only is None or any(part in s.name for part in args.only.split(','))]
        for round_number in range(1, args.rounds + 1):
            tokens = {'reader': login(targets['ours'], 1), 'writer': login(targets['ours'], 2)}
            if 'fastapi' in targets:
                fastapi_tokens = {'reader': login(targets['fastapi'], 1, as_json=True),
                                  'writer': login(targets['fastapi'], 2, as_json=True)}
            for scenario in scenarios:
                # The sync's cursor is taken now, after the writes of the rounds before it;
                # through PgBouncer, ours is the pooled instance.
                run = (sync_scenario(targets['ours'], tokens['reader']) if scenario.name == SYNC_SCENARIO
                       else push_scenario(targets['ours'], tokens['reader']) if scenario.name == PUSH_SCENARIO
                       else scenario)
                for server, url in targets.items():
                    if ((server == 'peer' and not scenario.peer) or (server == 'fastapi' and not scenario.fastapi)
                            or (server == 'minimal' and scenario != GET_ONE)
                            or (scenario.via or scenario.name in (SYNC_SCENARIO, PUSH_SCENARIO))
                            and server not in ('ours', 'hello')):
                        continue
                    served_by = 'pooled' if scenario.via and server == 'ours' else server
                    url = pooled_url if served_by == 'pooled' else url
                    # The tutorial's app checks no token; hello gets the same request bytes as ours.
                    token = (fastapi_tokens.get(scenario.token) if server == 'fastapi'
                             else tokens.get(scenario.token) if server in ('ours', 'hello') else None)
                    if scenario.name == 'POST create' and server in databases:
                        # Every run from the seeded rows: the writer's count (its quota) stays the same.
                        run_sql(databases[server], ["DELETE FROM bucketlists WHERE name LIKE 'bench-%'"])
                    before = cpu_seconds(masters)
                    result = wrk(url, run, token, args.duration, workdir,
                                 connections=scenario.connections, as_json=server == 'fastapi')
                    after = cpu_seconds(masters)
                    # CPU per request, where the two CPUs' time went (only this server's workers)
                    result['cpu'] = {part: 1e6 * cpu_spent(before, after, key) / max(result['requests'], 1)
                                     for part, key in ((server, served_by), ('postgres', 'postgres'), ('wrk', 'wrk'))}
                    results[scenario.name, server].append(result)
                    log(f'round {round_number} {scenario.name} {server}: {result["rps"]:,.0f} '
                        f'req/s p50 {ms(result["p50"])} p99 {ms(result["p99"])} '
                        f'errors {result["errors"]}')
            if args.only is None:
                bursts.append(login_burst(targets['ours'], tokens['reader'], args.duration, workdir))
        time.sleep(5)  # logins still queued when wrk stops finish hashing (64 MiB each) first
        rss['after the benchmark'] = worker_rss(ours.pid)

        memory = None
        if args.requests_for_memory:
            memory = drive(targets['ours'], GET_ONE, login(targets['ours'], 1),
                           args.requests_for_memory, workdir)
            rss[f'after {memory["requests"]:,} more GETs'] = worker_rss(ours.pid)
    print_main_tables(args, bucketlists, results, bursts, rss, memory)


def compare_scales(args, workdir):
    """The list scenarios and an incremental sync on two databases that differ only in how many other
    users they hold."""
    scales = args.compare_scales.split(',')
    env = service_env()
    urls = {scale: f'{args.database_url}_{scale}' for scale in scales}
    for scale, url in urls.items():
        seed(url, parse_scale(scale), env)
    with ExitStack() as stack:
        targets = {}
        for scale, name in zip(scales, ('small', 'large'), strict=True):
            stack.enter_context(serve(name, gunicorn_path(), 'bucketlist:app', ROOT,
                                      dict(env, DATABASE_URL=urls[scale]), args.workers,
                                      '/health', workdir))
            targets[scale] = f'http://127.0.0.1:{PORTS[name]}'
        tokens = {scale: login(url, 1) for scale, url in targets.items()}
        syncs = {scale: sync_scenario(url, tokens[scale]) for scale, url in targets.items()}
        for scale, url in targets.items():
            wrk(url, GET_ONE, tokens[scale], 2, workdir)
        results = defaultdict(list)
        for _ in range(args.rounds):
            for name in [scenario.name for scenario in SCALE_SCENARIOS] + [SYNC_SCENARIO]:
                for scale, url in targets.items():
                    scenario = next((s for s in SCALE_SCENARIOS if s.name == name), syncs[scale])
                    result = wrk(url, scenario, tokens[scale], args.duration, workdir)
                    results[scenario.name, scale].append(result)
                    log(f'{scale} {scenario.name}: {result["rps"]:,.0f} req/s '
                        f'p50 {ms(result["p50"])} p99 {ms(result["p99"])}')
    small, large = scales
    print(f'\n### List latency at {small} and {large} bucketlists '
          f'(the reader owns {READER_BUCKETLISTS} at both), {args.workers} workers\n')
    header = ['scenario']
    for scale in scales:
        header += [f'{scale} req/s', f'{scale} p50', f'{scale} p99']
    header += [f'p50 {large}/{small}', f'p99 {large}/{small}']
    rows = []
    for name in [scenario.name for scenario in SCALE_SCENARIOS] + [SYNC_SCENARIO]:
        row = [name]
        for scale in scales:
            runs = results[name, scale]
            row += [f'{median(runs, "rps"):,.0f}', ms(median(runs, 'p50')), ms(median(runs, 'p99'))]
        for key in ('p50', 'p99'):
            row.append(f'{median(results[name, large], key) / median(results[name, small], key):.2f}×')
        rows.append(row)
    print(table(header, rows))
    print(f'\n{machine_notes(args, urls[small])}')


def service_env():
    # Quotas and the per-address login limit out of the way: POST create and POST item measure the
    # write, not the 409 past a quota; every login here comes from 127.0.0.1, and the next round
    # must still log in.
    # 8 connections a worker (16 requests at a time are spread over 4): idle ones stay in the pool,
    # and every server's must fit in the cluster's 100 connections.
    return dict(os.environ, APP_SETTINGS='production', SECRET=secrets.token_urlsafe(48),
                MAX_BUCKETLISTS_PER_USER='1000000', MAX_ITEMS_PER_BUCKETLIST='100000',
                LOGINS_PER_ADDRESS='1000000', DATABASE_POOL_SIZE='8')


def gunicorn_path():
    return os.path.join(os.path.dirname(sys.executable), 'gunicorn')


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--scale', default='1k', help='bucketlists to seed: 1k, 100k, 1m or a number')
    parser.add_argument('--workers', type=int, default=4, help='gunicorn workers of every server')
    parser.add_argument('--duration', type=int, default=5, help='seconds per wrk run')
    parser.add_argument('--rounds', type=int, default=1, help='interleaved rounds; tables show medians')
    parser.add_argument('--database-url', default='postgresql://postgres@127.0.0.1/bench_bucketlist',
                        help='reset and seeded; its name must start with bench_')
    parser.add_argument('--peer-url', help="a running server with the tutorial's API and "
                        'bucketlists 1-102, e.g. http://127.0.0.1:5931')
    parser.add_argument('--start-fastapi', action='store_true',
                        help='start the FastAPI peer from PEERS/fastapi_peer on database bench_fastapi')
    parser.add_argument('--fastapi-url', help='a running FastAPI peer holding the same data, e.g. '
                                              'http://127.0.0.1:8700')
    parser.add_argument('--start-peer', action='store_true',
                        help="start the tutorial's app from PEERS/seed_flask on database peer_bench")
    parser.add_argument('--peers', metavar='PEERS', default=os.environ.get('BENCH_PEERS'),
                        help='the directory of the servers compared with ours: seed_flask/, fastapi_peer/ and '
                             'hello_wsgi.py (default: $BENCH_PEERS)')
    parser.add_argument('--requests-for-memory', type=int, default=0, metavar='N',
                        help='after the tables, drive N GETs and report worker RSS before and after')
    parser.add_argument('--only', metavar='TEXT',
                        help='only the scenarios whose name contains TEXT (or one of several, comma-separated), '
                             'and no login burst')
    parser.add_argument('--compare-scales', metavar='SMALL,LARGE',
                        help='only the list scenarios, on two databases, e.g. 1k,1m')
    parser.add_argument('--keep-databases', action='store_true',
                        help='keep the seeded databases when the run ends (by default they are dropped)')
    args = parser.parse_args()
    global PEERS, FASTAPI_DIR
    if not args.peers or not os.path.isfile(os.path.join(args.peers, 'hello_wsgi.py')):
        parser.error('--peers (or BENCH_PEERS) must name the directory of seed_flask/, fastapi_peer/ and hello_wsgi.py')
    PEERS, FASTAPI_DIR = args.peers, os.path.join(args.peers, 'fastapi_peer')
    workdir = tempfile.mkdtemp(prefix='bench-')
    try:
        if args.compare_scales:
            compare_scales(args, workdir)
        else:
            benchmark(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep_databases:  # (the servers on them stopped when the run's block ended)
            for url in CREATED:
                try:
                    drop_database(url)
                except psycopg2.Error as error:  # the others still go; the run's own error is the one to see
                    log(f'could not drop {urlsplit(url).path.lstrip("/")}: {str(error).strip()}')


if __name__ == '__main__':
    main()
