"""Checks that need real processes: gunicorn from the Procfile on PostgreSQL, under races and faults.

    .venv/bin/python tools/resilience.py [--database-url URL] [--restart-postgres] [--only NAME ...] [--web COMMAND]

Each check prints PASS or FAIL with its figures; the exit status is 1 if any failed.
  concurrency   4 workers, 8 clients x 1,000 creates/renames/deletes: exact counts, no 5xx
  races         racing registrations of one email, creates of one name, one Idempotency-Key
  outage        the database goes away under load: fast 503s, recovery within 2 s, no restart
                (with --restart-postgres, also a real stop and start of a throwaway cluster)
  instances     two servers on one database: tokens, logout, ended sessions, racing refreshes,
                throttles shared; racing releases
  sigterm       SIGTERM lets in-flight requests finish
  slowclients   64 idle, 16 slow-header and 16 slow-body connections: others still answered
  pgbouncer     Debian's PgBouncer in transaction and in session mode: no 5xx, timeout enforced
  blackhole     a proxy to the database stops forwarding: bounded 503s, recovery by itself
  loginflood    one address logging in on 8 connections: another address still logs in
  loginflood4   4 addresses logging in on 2 connections each: other addresses still log in
  nfkcflood     logins with a megabyte of U+FDFA as the email: a bystander's GET stays fast
  refreshfork   two holders of one refresh token: the second lineage to move on ends the session
  largest       20 lists of 500 items of 8,192-character notes: bounded answers, a bounded export
  malformed     what gunicorn refuses before the app, and a path that is not UTF-8: problem+json
  lockout       guesses from many addresses do not lock the owner out; racing guesses counted
  bodies        malformed chunked bodies and bodies shorter than their Content-Length are 400
  webhooks      private receivers refused in production; with the worker: a receiver's outage, a worker
                killed mid-delivery, a slow receiver, 1,000 events from 2 workers: each once, signed
  events        /events resumed with Last-Event-ID under writes misses nothing; 200 idle streams
                on one worker: GET one's p99 under 50 ms

Databases are made with unique names and dropped at the end; ports are free ones; the only
cluster ever stopped is a throwaway one this script starts (initdb in a temporary directory).
"""
import argparse
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the project, the parent of tools/
PYTHON = sys.executable
PASSWORD = 'correct horse battery'


# --- Plumbing ------------------------------------------------------------------------------------

def admin_connection(database_url):
    """An autocommit connection to the server's ``postgres`` database, for CREATE/ALTER DATABASE.

    Use it with ``closing``: psycopg2's own ``with connection`` opens a transaction even here.
    """
    parts = urlsplit(database_url)
    connection = psycopg2.connect(urlunsplit(parts._replace(scheme='postgresql', path='/postgres')))
    connection.autocommit = True
    return connection


RUN = f'{os.getpid()}_{secrets.token_hex(3)}'
CREATED = []  # (server URL, database name) of every database made, dropped at the end


def new_database(base_url, name):
    """Create a database of this run, unique to it, on the server of ``base_url``; its URL."""
    name = f'resilience_{RUN}_{name}'
    with closing(admin_connection(base_url)) as admin:
        admin.cursor().execute(f'CREATE DATABASE {name}')
    CREATED.append((base_url, name))
    return urlunsplit(urlsplit(base_url)._replace(path='/' + name))


def fresh_database(base_url, name):
    """A new database of this run with every migration applied; its URL."""
    url = new_database(base_url, name)
    subprocess.run([PYTHON, 'migrations.py'], cwd=ROOT, env=server_env(url, 0), check=True,
                   stdout=subprocess.DEVNULL)
    return url


def drop_created_databases():
    for base_url, name in reversed(CREATED):
        try:
            with closing(admin_connection(base_url)) as admin:
                admin.cursor().execute(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')
        except psycopg2.Error:
            pass  # its throwaway cluster is gone already, and the database with it


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


PG_BIN = '/usr/lib/postgresql/15/bin'


class ThrowawayCluster:
    """A PostgreSQL cluster of this run's own (initdb in a temporary directory, a free port),
    owned by the postgres user, so that a check can stop and start it without touching anybody's."""

    def __enter__(self):
        self.directory = tempfile.mkdtemp(prefix='resilience-cluster-')
        shutil.chown(self.directory, 'postgres', 'postgres')
        self.port = free_port()
        self.as_postgres([f'{PG_BIN}/initdb', '-D', f'{self.directory}/data', '-A', 'trust', '-U', 'postgres'])
        self.start()
        self.url = f'postgresql://postgres@127.0.0.1:{self.port}/postgres'
        return self

    def as_postgres(self, command):
        subprocess.run(['runuser', '-u', 'postgres', '--', *command], check=True, capture_output=True)

    def start(self):
        self.as_postgres([f'{PG_BIN}/pg_ctl', '-D', f'{self.directory}/data', '-w', '-l', f'{self.directory}/log',
                          '-o', f'-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1', 'start'])

    def stop(self):
        self.as_postgres([f'{PG_BIN}/pg_ctl', '-D', f'{self.directory}/data', '-m', 'fast', '-w', 'stop'])

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


def server_env(database_url, port, workers=4, **extra):
    return {**os.environ, 'APP_SETTINGS': 'production', 'DATABASE_URL': database_url,
            'SECRET': extra.pop('SECRET', SECRET), 'PORT': str(port), 'WEB_CONCURRENCY': str(workers),
            'PATH': os.path.dirname(PYTHON) + os.pathsep + os.environ.get('PATH', ''),
            # Races register many accounts from one address, and all at once; the limits and the
            # shedding of login bursts (PASSWORD_HASHES_WAITING) have tests of their own.
            'REGISTRATIONS_PER_ADDRESS': '100000', 'LOGIN_FAILURES_PER_ADDRESS': '100000',
            'PASSWORD_HASHES_WAITING': '4',
            # The concurrency check makes 1,600 bucketlists in one account; quotas have tests of their own.
            'MAX_BUCKETLISTS_PER_USER': '100000',
            **{k: str(v) for k, v in extra.items()}}


SECRET = secrets.token_urlsafe(48)


WEB_COMMAND = None  # --web: another command than the Procfile's, to measure a change before and after


def start_server(database_url, port, workers=4, **extra):
    """gunicorn with the Procfile's web command; returns the process once /health answers 200."""
    with open(os.path.join(ROOT, 'Procfile')) as procfile:
        web = WEB_COMMAND or next(line for line in procfile if line.startswith('web:'))
    log = tempfile.NamedTemporaryFile(prefix=f'resilience-{port}-', suffix='.log', delete=False)
    process = subprocess.Popen(['bash', '-c', 'exec ' + web[4:].strip()],
                               cwd=ROOT, env=server_env(database_url, port, workers, **extra),
                               stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    process.log_path = log.name
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if call(port, 'GET', '/health')[0] == 200:
                return process
        except OSError:
            pass
        time.sleep(0.1)
    stop_server(process)
    with open(log.name) as output:
        raise RuntimeError(f'gunicorn on port {port} did not start: {output.read()[-2000:]}')


def stop_server(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def call(port, method, path, body=None, token=None, headers=None, connection=None, timeout=30):
    """One request; returns (status, parsed JSON body or None, headers)."""
    own = connection is None
    connection = connection or http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    all_headers = {'Content-Type': 'application/json', **(headers or {})}
    if token:
        all_headers['Authorization'] = f'Bearer {token}'
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None, all_headers)
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None, dict(response.getheaders())
    finally:
        if own:
            connection.close()


def register_and_login(port, email):
    call(port, 'POST', '/auth/register', {'email': email, 'password': PASSWORD})
    return log_in(port, email)['access_token']


def log_in(port, email):
    """A new session's tokens: the login's answer."""
    status, body, _ = call(port, 'POST', '/auth/login', {'email': email, 'password': PASSWORD})
    assert status == 200, (status, body)
    return body


def in_parallel(count, work):
    """Run ``work(n)`` for n in range(count) on as many threads, started together."""
    barrier = threading.Barrier(count)

    def run(n):
        barrier.wait()
        return work(n)
    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


class Report:
    def __init__(self):
        self.failed = []

    def check(self, name, ok, figures):
        print(f'{"PASS" if ok else "FAIL"}  {name}: {figures}', flush=True)
        if not ok:
            self.failed.append(name)


# --- The checks ----------------------------------------------------------------------------------

def check_concurrency(base_url, report, port=None, clients=8, operations=1000):
    port = port or free_port()
    url = fresh_database(base_url, 'concurrency')
    server = start_server(url, port, workers=4)
    try:
        token = register_and_login(port, 'load@example.com')

        def client(n):
            # Per 5 operations: create 2, rename 2, delete 1, so each client ends with 200 bucketlists.
            connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
            statuses, mine = {}, []
            for step in range(operations // 5):
                for op in ('create', 'create', 'rename', 'rename', 'delete'):
                    if op == 'create':
                        status, body, _ = call(port, 'POST', '/bucketlists/', {'name': f'c{n}-{step}-{len(mine)}'},
                                               token, connection=connection)
                        if status == 201:
                            mine.append(body['id'])
                    elif op == 'rename':
                        status, _, _ = call(port, 'PATCH', f'/bucketlists/{mine[-1]}',
                                            {'name': f'c{n}-{step}-renamed-{len(mine)}-{op}{time.monotonic_ns()}'},
                                            token, connection=connection)
                    else:
                        status, _, _ = call(port, 'DELETE', f'/bucketlists/{mine.pop(0)}', token=token,
                                            connection=connection)
                    statuses[status] = statuses.get(status, 0) + 1
            connection.close()
            return statuses

        started = time.monotonic()
        results = in_parallel(clients, client)
        elapsed = time.monotonic() - started
        totals = {}
        for statuses in results:
            for status, count in statuses.items():
                totals[status] = totals.get(status, 0) + count
        _, _, headers = call(port, 'GET', '/bucketlists/', token=token)
        expected = clients * operations // 5
        with psycopg2.connect(url.replace('postgresql+pool', 'postgresql')) as connection:
            cursor = connection.cursor()
            cursor.execute('SELECT count(*) FROM bucketlists')
            stored = cursor.fetchone()[0]
        ok = (set(totals) <= {200, 201} and int(headers['X-Total-Count']) == expected == stored)
        report.check('concurrency', ok, f'{clients} clients x {operations} ops in {elapsed:.1f} s '
                     f'({clients * operations / elapsed:.0f} req/s), statuses {totals}, '
                     f'expected {expected} bucketlists, API says {headers["X-Total-Count"]}, table holds {stored}')
    finally:
        stop_server(server)


def check_races(base_url, report, port=None, racers=16):
    port = port or free_port()
    url = fresh_database(base_url, 'races')
    server = start_server(url, port, workers=4)
    try:
        statuses = in_parallel(racers, lambda n: call(port, 'POST', '/auth/register',
                                                      {'email': 'race@example.com', 'password': PASSWORD})[0])
        report.check('racing registrations', sorted(statuses) == [201] + [409] * (racers - 1),
                     f'{racers} at once: ' + ', '.join(f'{statuses.count(s)} x {s}' for s in sorted(set(statuses))))

        token = register_and_login(port, 'racer@example.com')
        statuses = in_parallel(racers, lambda n: call(port, 'POST', '/bucketlists/', {'name': 'Same name'}, token)[0])
        report.check('racing creates of one name', sorted(statuses) == [201] + [409] * (racers - 1),
                     f'{racers} at once: ' + ', '.join(f'{statuses.count(s)} x {s}' for s in sorted(set(statuses))))

        answers = in_parallel(racers, lambda n: call(port, 'POST', '/bucketlists/', {'name': 'Idempotent'}, token,
                                                     headers={'Idempotency-Key': 'race-key'}))
        ids = {body['id'] for status, body, _ in answers if status == 201}
        report.check('racing retries with one Idempotency-Key',
                     all(status == 201 for status, _, _ in answers) and len(ids) == 1,
                     f'{racers} at once: statuses {sorted({s for s, _, _ in answers})}, distinct ids {len(ids)}')
    finally:
        stop_server(server)


def set_database_reachable(base_url, name, reachable):
    """Open or close database ``name`` to new connections; closing also ends the existing ones."""
    with closing(admin_connection(base_url)) as admin:
        cursor = admin.cursor()
        cursor.execute(f'ALTER DATABASE {name} ALLOW_CONNECTIONS {"true" if reachable else "false"}')
        if not reachable:
            cursor.execute('SELECT pg_terminate_backend(pid) FROM pg_stat_activity '
                           'WHERE datname = %s AND pid <> pg_backend_pid()', (name,))


def check_outage(base_url, report, cluster=None, port=None, outage_seconds=3):
    """The database goes away under load: connections refused and terminated, or, given a
    ThrowawayCluster, the whole server stopped and started again."""
    port = port or free_port()
    restart = cluster is not None
    url = fresh_database(cluster.url if restart else base_url, 'outage')
    name = urlsplit(url).path[1:]
    server = start_server(url, port, workers=2)
    how = 'PostgreSQL stopped and restarted' if restart else 'connections refused and terminated'
    try:
        token = register_and_login(port, 'outage@example.com')
        _, created, _ = call(port, 'POST', '/bucketlists/', {'name': 'Survives'}, token)
        samples, stop = [], threading.Event()

        def load():
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status = call(port, 'GET', f'/bucketlists/{created["id"]}', token=token, timeout=15)[0]
                except OSError:
                    status = 'connection error'
                samples.append((started, time.monotonic() - started, status))
        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        outage_started = time.monotonic()
        cluster.stop() if restart else set_database_reachable(base_url, name, False)
        time.sleep(outage_seconds)
        outage_ended = time.monotonic()
        cluster.start() if restart else set_database_reachable(base_url, name, True)
        if restart:
            subprocess.run(['pg_isready', '-q', '-t', '30', '-h', '127.0.0.1', '-p', str(cluster.port)], check=False)
        back = time.monotonic()
        time.sleep(4)
        stop.set()
        for thread in threads:
            thread.join()
        # Requests wholly inside the outage (a margin for the terminations to land).
        during = [(latency, status) for started, latency, status in samples
                  if outage_started + 0.2 < started and started + latency < outage_ended]
        after = [(started, status) for started, _, status in samples if started >= back]
        first_ok_after = next((started for started, status in after if status == 200), None)
        recovered_in = first_ok_after - back if first_ok_after else None
        statuses_during = sorted({str(status) for _, status in during})
        slowest = max((latency for latency, _ in during), default=0)
        last_second = [status for started, status in after if started > back + 2.5]
        ok = (statuses_during == ['503'] and slowest < 5 and recovered_in is not None and recovered_in <= 2
              and last_second and all(status == 200 for status in last_second))
        report.check(f'database outage ({how})', ok,
                     f'{len(during)} requests during the outage answered {statuses_during}, slowest '
                     f'{slowest * 1000:.0f} ms; first 200 '
                     f'{recovered_in if recovered_in is None else round(recovered_in, 2)} s '
                     f'after the database came back; {len(last_second)} requests after that all 200: '
                     f'{all(status == 200 for status in last_second)}; gunicorn not restarted')
    finally:
        stop_server(server)


def check_instances(base_url, report, ports=None):
    ports = ports or (free_port(), free_port())
    url = new_database(base_url, 'instances')
    releases = [subprocess.Popen([PYTHON, 'migrations.py'], cwd=ROOT, env=server_env(url, 0),
                                 stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [release.communicate()[0] for release in releases]
    applied = sum(line.startswith('applied') for out in outputs for line in out.splitlines())
    with psycopg2.connect(url) as connection:
        cursor = connection.cursor()
        cursor.execute('SELECT count(*), count(DISTINCT version) FROM schema_migrations')
        rows, distinct = cursor.fetchone()
    report.check('racing release phases', all(r.returncode == 0 for r in releases) and applied == rows == distinct,
                 f'two `python migrations.py` at once: {applied} steps applied in all, {rows} recorded')

    servers = [start_server(url, port, workers=2, LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS=5) for port in ports]
    try:
        first, second = ports
        token = register_and_login(first, 'twin@example.com')
        works_on_second = call(second, 'GET', '/bucketlists/', token=token)[0] == 200
        call(first, 'POST', '/auth/logout', token=token)
        refused_on_second = call(second, 'GET', '/bucketlists/', token=token)[0] == 401
        check_sessions_across(first, second, report)
        for port in (first, second, first, second, first):
            call(port, 'POST', '/auth/login', {'email': 'twin@example.com', 'password': 'wrong password'})
        throttled = call(second, 'POST', '/auth/login', {'email': 'twin@example.com', 'password': PASSWORD})[0]
        report.check('two instances, one service', works_on_second and refused_on_second and throttled == 429,
                     f'token from one works on the other: {works_on_second}; logout on one honoured by the '
                     f'other: {refused_on_second}; 5 failures spread over both, then the 6th login: {throttled}')
    finally:
        for server in servers:
            stop_server(server)


def check_sessions_across(first, second, report):
    """A session ended on one instance is refused by the other at once; two refreshes racing with
    one refresh token, one on each instance, both succeed: the client keeps either answer and
    goes on with it, and the other answer's refresh token, presented after, is the other holder's
    (reuse)."""
    laptop, phone = log_in(first, 'twin@example.com'), log_in(first, 'twin@example.com')
    phone_session = call(second, 'GET', '/auth/sessions', token=laptop['access_token'])[1][-1]['id']
    ended = call(second, 'DELETE', f'/auth/sessions/{phone_session}', token=laptop['access_token'])[0]
    refused = [call(first, 'GET', '/bucketlists/', token=phone['access_token'])[0],
               call(first, 'POST', '/auth/refresh', {'refresh_token': phone['refresh_token']})[0]]
    report.check('a session ended on one instance', ended == 200 and refused == [401, 401],
                 f'ended on the second: {ended}; its access and refresh tokens on the first: {refused}')

    racer = log_in(first, 'twin@example.com')
    answers = in_parallel(2, lambda n: call((first, second)[n], 'POST', '/auth/refresh',
                                            {'refresh_token': racer['refresh_token']}))
    still_in = []
    for status, body, _ in answers:  # each answer's access token works; the first refresh token used goes on
        if status == 200:
            still_in.append((call(second, 'GET', '/bucketlists/', token=body['access_token'])[0],
                             call(first, 'POST', '/auth/refresh', {'refresh_token': body['refresh_token']})[0]))
    report.check('two instances racing a refresh', [a[0] for a in answers] == [200, 200]
                 and still_in == [(200, 200), (200, 401)],
                 f'one refresh token sent to both at once: {[a[0] for a in answers]}; each answer\'s access '
                 f'token, then its refresh token: {still_in}')


def check_sigterm(base_url, report, port=None, in_flight=8):
    port = port or free_port()
    url = fresh_database(base_url, 'sigterm')
    # Production password cost makes a login slow enough to be in flight when SIGTERM lands.
    server = start_server(url, port, workers=2, PASSWORD_TIME_COST=3, PASSWORD_MEMORY_KIB=65536)
    register_and_login(port, 'term@example.com')
    results = []

    def login(n):
        try:
            results.append(call(port, 'POST', '/auth/login', {'email': 'term@example.com', 'password': PASSWORD})[0])
        except OSError as error:
            results.append(repr(error))
    threads = [threading.Thread(target=login, args=(n,)) for n in range(in_flight)]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    server.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join()
    exit_code = server.wait(timeout=30)
    report.check('SIGTERM lets in-flight requests finish', results == [200] * in_flight and exit_code == 0,
                 f'{in_flight} logins in flight at SIGTERM answered {sorted(map(str, results))}; '
                 f'gunicorn exited with {exit_code}')


def timed_call(port, method, path, **kwargs):
    """(status or the error's name, seconds taken) of one request."""
    started = time.monotonic()
    try:
        status = call(port, method, path, **kwargs)[0]
    except OSError as error:
        status = type(error).__name__
    return status, time.monotonic() - started


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0


def check_slowclients(base_url, report, port=None, seconds=15):
    """64 idle, 16 slow-header and 16 slow-body connections held open against the Procfile's
    server; everybody else's /health and GET one bucketlist must keep answering within 1 s."""
    port = port or free_port()
    url = fresh_database(base_url, 'slowclients')
    server = start_server(url, port, workers=2)
    held, stop = [], threading.Event()
    try:
        token = register_and_login(port, 'patient@example.com')
        _, created, _ = call(port, 'POST', '/bucketlists/', {'name': 'Still here'}, token)
        for _ in range(64):
            held.append(socket.create_connection(('127.0.0.1', port)))
        slow_headers = [socket.create_connection(('127.0.0.1', port)) for _ in range(16)]
        for connection in slow_headers:
            connection.sendall(b'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ')
        slow_bodies = [socket.create_connection(('127.0.0.1', port)) for _ in range(16)]
        for connection in slow_bodies:
            connection.sendall(b'POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
                               b'Content-Length: 1000\r\n\r\n{')
        held.extend(slow_bodies)
        held.extend(slow_headers)

        def drip():  # one more header byte every 2 s
            while not stop.wait(2):
                for connection in slow_headers:
                    try:
                        connection.send(b'a')
                    except OSError:
                        pass
        dripper = threading.Thread(target=drip)
        dripper.start()
        time.sleep(1)
        samples, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            samples.append(timed_call(port, 'GET', '/health', timeout=5))
            samples.append(timed_call(port, 'GET', f'/bucketlists/{created["id"]}', token=token, timeout=5))
            time.sleep(0.1)
        stop.set()
        dripper.join()
        answered = [seconds for status, seconds in samples if status == 200]
        p99 = percentile([seconds for _, seconds in samples], 0.99)
        # Their bodies never came: each was answered 408 after the body deadline (10 s).
        cut_off = []
        for connection in slow_bodies:
            connection.settimeout(5)
            try:
                cut_off.append(connection.recv(12) == b'HTTP/1.1 408')
            except OSError:
                cut_off.append(False)
        report.check('slow and idle clients', len(answered) == len(samples) and p99 < 1 and all(cut_off),
                     f'with 64 idle, 16 slow-header and 16 slow-body connections open: {len(answered)} of '
                     f'{len(samples)} probes answered 200, p50 {percentile(answered, 0.5) * 1000:.0f} ms, '
                     f'p99 {p99 * 1000:.0f} ms; slow bodies answered 408: {sum(cut_off)} of {len(cut_off)}')
    finally:
        stop.set()
        for connection in held:
            connection.close()
        stop_server(server)


class PgBouncer:
    """Debian's pgbouncer, default settings but the pool mode, on a free port in front of the server
    of ``base_url``; run as the postgres user, since it refuses root."""

    def __init__(self, base_url, pool_mode, pool_size=20):
        self.upstream, self.pool_mode, self.pool_size = urlsplit(base_url), pool_mode, pool_size

    def __enter__(self):
        self.directory = tempfile.mkdtemp(prefix='resilience-pgbouncer-')
        self.port = free_port()
        with open(f'{self.directory}/pgbouncer.ini', 'w') as ini:
            ini.write(f'[databases]\n* = host={self.upstream.hostname} port={self.upstream.port or 5432} '
                      f'user={self.upstream.username or "postgres"}\n'
                      f'[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {self.port}\nauth_type = any\n'
                      f'pool_mode = {self.pool_mode}\nmax_client_conn = 500\ndefault_pool_size = {self.pool_size}\n'
                      f'unix_socket_dir =\nlogfile = {self.directory}/pgbouncer.log\n')
        shutil.chown(self.directory, 'postgres', 'postgres')
        shutil.chown(f'{self.directory}/pgbouncer.ini', 'postgres', 'postgres')
        self.process = subprocess.Popen(['runuser', '-u', 'postgres', '--', 'pgbouncer',
                                         f'{self.directory}/pgbouncer.ini'], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        for _ in range(50):
            with socket.socket() as probe:
                if probe.connect_ex(('127.0.0.1', self.port)) == 0:
                    break
            time.sleep(0.1)
        return self

    def url(self, database_url):
        return urlunsplit(urlsplit(database_url)._replace(netloc=f'postgres@127.0.0.1:{self.port}'))

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


def every_route_under_load(port, token, clients=16, rounds=20):
    """Every bucketlist and item route from ``clients`` clients at once; the statuses seen."""
    def client(n):
        statuses = []
        for step in range(rounds):
            status, body, _ = call(port, 'POST', '/bucketlists/', {'name': f'{n}-{step}'}, token)
            statuses.append(status)
            if status != 201:
                continue
            path = f'/bucketlists/{body["id"]}'
            status, item, _ = call(port, 'POST', path + '/items/', {'name': 'Item'}, token)
            statuses.append(status)
            for method, where, payload in [('GET', path, None), ('PUT', path, {'name': f'{n}-{step}-r'}),
                                           ('PATCH', path, {'name': f'{n}-{step}-p'}),
                                           ('GET', path + '/items/', None), ('GET', '/bucketlists/?q=r', None),
                                           ('PATCH', f'{path}/items/{item["id"]}' if item else path, {'done': True}),
                                           ('DELETE', path, None)]:
                statuses.append(call(port, method, where, payload, token)[0])
        return statuses
    return [status for statuses in in_parallel(clients, client) for status in statuses]


def check_pgbouncer(base_url, report):
    """PgBouncer in transaction and in session mode: every route works under 16 clients with no
    5xx, and the statement timeout still holds: a DELETE waiting on a row lock is cut short."""
    for mode in ('transaction', 'session'):
        with PgBouncer(base_url, mode) as bouncer:
            direct = fresh_database(base_url, f'pgbouncer_{mode}')
            port = free_port()
            # In session mode every connection of the service holds one of PgBouncer's 20 to the
            # server: 2 workers x 8 fit. In transaction mode they share them.
            server = start_server(bouncer.url(direct), port, workers=2, DATABASE_STATEMENT_TIMEOUT_MS=1000,
                                  DATABASE_POOL_SIZE=8 if mode == 'session' else 20,
                                  DATABASE_POOLER='transaction' if mode == 'transaction' else 'none')
            try:
                token = register_and_login(port, 'bouncer@example.com')
                statuses = every_route_under_load(port, token)
                errors = sum(1 for status in statuses if status >= 500)
                _, created, _ = call(port, 'POST', '/bucketlists/', {'name': 'Locked'}, token)
                with closing(psycopg2.connect(direct)) as locker:  # holds the row, so the DELETE waits
                    locker.cursor().execute('SELECT 1 FROM bucketlists WHERE id = %s FOR UPDATE', (created['id'],))
                    status, seconds = timed_call(port, 'DELETE', f'/bucketlists/{created["id"]}', token=token,
                                                 timeout=30)
                    locker.rollback()
                after = call(port, 'GET', f'/bucketlists/{created["id"]}', token=token)[0]
                report.check(f'PgBouncer, {mode} mode', errors == 0 and status == 503 and seconds < 3 and after == 200,
                             f'{len(statuses)} requests from 16 clients over every route: {errors} 5xx; a DELETE '
                             f'waiting on a locked row: {status} after {seconds:.1f} s (statement timeout 1 s); '
                             f'then GET {after}')
            finally:
                stop_server(server)


class BlackholeProxy:
    """A TCP proxy to the database that can stop forwarding without closing anything: what a
    network that silently drops packets looks like to the service."""

    def __init__(self, upstream):
        self.upstream = (upstream.hostname, upstream.port or 5432)
        self.forwarding, self.listener = threading.Event(), socket.create_server(('127.0.0.1', 0))
        self.forwarding.set()
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
                server = socket.create_connection(self.upstream)
            except OSError:
                return
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self.pump, args=(source, target), daemon=True).start()

    def pump(self, source, target):
        try:
            while data := source.recv(65536):
                if self.forwarding.is_set():
                    target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            end.close()

    def url(self, database_url):
        return urlunsplit(urlsplit(database_url)._replace(netloc=f'postgres@127.0.0.1:{self.port}'))


def check_blackhole(base_url, report, port=None, seconds=10, statement_timeout_ms=2000):
    """The network to the database drops everything for ``seconds``: every request is answered
    (503) within statement timeout + network timeout + 1 s, /health within 3 s, and the
    service recovers by itself once the network is back."""
    port = port or free_port()
    direct = fresh_database(base_url, 'blackhole')
    proxy = BlackholeProxy(urlsplit(direct))
    server = start_server(proxy.url(direct), port, workers=2, DATABASE_STATEMENT_TIMEOUT_MS=statement_timeout_ms)
    bound = (statement_timeout_ms + 2000) / 1000 + 1
    try:
        token = register_and_login(port, 'hole@example.com')
        _, created, _ = call(port, 'POST', '/bucketlists/', {'name': 'Across the hole'}, token)
        samples, health, stop = [], [], threading.Event()

        def load():
            while not stop.is_set():
                started = time.monotonic()
                samples.append((started, *timed_call(port, 'GET', f'/bucketlists/{created["id"]}', token=token,
                                                     timeout=30)))

        def probe():
            while not stop.wait(0.5):
                started = time.monotonic()
                health.append((started, *timed_call(port, 'GET', '/health', timeout=30)))
        threads = [threading.Thread(target=load) for _ in range(4)] + [threading.Thread(target=probe)]
        for thread in threads:
            thread.start()
        time.sleep(1)
        proxy.forwarding.clear()
        cut = time.monotonic()
        time.sleep(seconds)
        proxy.forwarding.set()
        back = time.monotonic()
        time.sleep(bound + 4)
        stop.set()
        for thread in threads:
            thread.join()
        during = [(status, taken) for started, status, taken in samples if cut < started < back - bound]
        health_during = [(status, taken) for started, status, taken in health if cut < started < back - 3]
        last = [status for started, status, _ in samples if started > back + bound + 2]
        slowest = max((taken for _, taken in during), default=0)
        slowest_health = max((taken for _, taken in health_during), default=0)
        ok = (during and {status for status, _ in during} == {503} and slowest <= bound
              and health_during and {status for status, _ in health_during} == {503} and slowest_health < 3
              and last and set(last) == {200})
        report.check('database network blackhole', ok,
                     f'{len(during)} GETs during a {seconds} s blackhole answered '
                     f'{sorted({str(status) for status, _ in during})}, slowest {slowest:.1f} s (bound {bound:.0f} s); '
                     f'/health {sorted({str(status) for status, _ in health_during})}, slowest {slowest_health:.1f} s; '
                     f'afterwards {len(last)} GETs {sorted({str(status) for status in last})}')
    finally:
        stop_server(server)


def check_loginflood(base_url, report, port=None, seconds=20, addresses=1, connections=8, name='loginflood'):
    """``addresses`` log in with a correct password on ``connections`` connections each for
    ``seconds``, at the production password cost; logins from other addresses meanwhile must get
    in within 2 s (90 % of them)."""
    port = port or free_port()
    url = fresh_database(base_url, name)
    server = start_server(url, port, workers=2, PASSWORD_TIME_COST=3, PASSWORD_MEMORY_KIB=65536,
                          TRUSTED_PROXY_COUNT=1, PASSWORD_HASHES_WAITING=2)
    stop = threading.Event()
    try:
        for email in ('flood@example.com', 'legit@example.com'):
            call(port, 'POST', '/auth/register', {'email': email, 'password': PASSWORD})
        flood_statuses = []

        def flood(n):
            while not stop.is_set():
                flood_statuses.append(call(port, 'POST', '/auth/login',
                                           {'email': 'flood@example.com', 'password': PASSWORD},
                                           headers={'X-Forwarded-For': f'198.51.100.{n % addresses + 1}'})[0])
        flooders = [threading.Thread(target=flood, args=(n,)) for n in range(addresses * connections)]
        for thread in flooders:
            thread.start()
        time.sleep(1)
        legit, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            legit.append(timed_call(port, 'POST', '/auth/login',
                                    body={'email': 'legit@example.com', 'password': PASSWORD},
                                    headers={'X-Forwarded-For': f'203.0.113.{len(legit) % 250 + 1}'}, timeout=10))
            time.sleep(0.5)
        stop.set()
        for thread in flooders:
            thread.join()
        quick = sum(1 for status, taken in legit if status == 200 and taken < 2)
        report.check(f'login flood from {addresses} address(es) x {connections} connections', quick >= 0.9 * len(legit),
                     f'{len(legit)} logins from other addresses during the flood: {quick} got 200 within 2 s '
                     f'({100 * quick / max(1, len(legit)):.0f} %), statuses {sorted({str(s) for s, _ in legit})}; '
                     f'the flood got {sorted({str(s) for s in flood_statuses})}')
    finally:
        stop.set()
        stop_server(server)


def check_loginflood4(base_url, report, port=None):
    """The flood from 4 addresses on 2 connections each: it used to fail 12 of 12 bystanders."""
    check_loginflood(base_url, report, port, addresses=4, connections=2, name='loginflood4')


def check_nfkcflood(base_url, report, port=None, seconds=10, clients=4):
    """``clients`` send logins whose email is 300,000 U+FDFA characters (under a megabyte as JSON),
    each one NFKC would turn into 18 characters; another client's GET must stay fast (p99 < 50 ms)."""
    port = port or free_port()
    url = fresh_database(base_url, 'nfkcflood')
    server = start_server(url, port, workers=2, TRUSTED_PROXY_COUNT=1)
    stop = threading.Event()
    try:
        token = register_and_login(port, 'bystander@example.com')
        status, created, _ = call(port, 'POST', '/bucketlists/', {'name': 'Mine'}, token=token)
        body = json.dumps({'email': '\ufdfa' * 300_000, 'password': PASSWORD}, ensure_ascii=False).encode()
        flood_statuses = []

        def flood(n):
            while not stop.is_set():
                connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
                try:
                    connection.request('POST', '/auth/login', body, {'Content-Type': 'application/json',
                                                                     'X-Forwarded-For': f'198.51.100.{n + 1}'})
                    flood_statuses.append(connection.getresponse().status)
                except OSError as error:
                    flood_statuses.append(type(error).__name__)
                finally:
                    connection.close()
        flooders = [threading.Thread(target=flood, args=(n,)) for n in range(clients)]
        for thread in flooders:
            thread.start()
        time.sleep(1)
        taken, deadline = [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            status, seconds_taken = timed_call(port, 'GET', f'/bucketlists/{created["id"]}', token=token)
            taken.append(seconds_taken if status == 200 else float('inf'))
            time.sleep(0.02)
        stop.set()
        for thread in flooders:
            thread.join()
        p99 = percentile(taken, 0.99)
        report.check('U+FDFA emails at login', p99 < 0.05,
                     f'{len(taken)} GETs of a bystander during the flood: p50 {1000 * percentile(taken, 0.5):.1f} ms, '
                     f'p99 {1000 * p99:.1f} ms; {len(flood_statuses)} flood logins answered '
                     f'{sorted({str(s) for s in flood_statuses})}')
    finally:
        stop.set()
        stop_server(server)


def check_lockout(base_url, report, port=None):
    """Guesses from 30 addresses must not lock the owner, logging in from another, out; 16 guesses
    racing from one address must be checked no more than the limit of 5."""
    port = port or free_port()
    url = fresh_database(base_url, 'lockout')
    server = start_server(url, port, workers=2, TRUSTED_PROXY_COUNT=1, LOGIN_FAILURES_PER_ACCOUNT=5,
                          LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS=5)
    try:
        for email in ('owner@example.com', 'target@example.com'):
            call(port, 'POST', '/auth/register', {'email': email, 'password': PASSWORD})

        def login(email, password, address):
            while True:  # a 503 (this address's hashing place taken) is an answer to retry
                status = call(port, 'POST', '/auth/login', {'email': email, 'password': password},
                              headers={'X-Forwarded-For': address})[0]
                if status != 503:
                    return status
        for n in range(1, 31):
            for _ in range(5):
                login('owner@example.com', 'wrong password', f'198.51.100.{n}')
        owner = [login('owner@example.com', PASSWORD, '203.0.113.5') for _ in range(3)]
        racing = in_parallel(16, lambda n: login('target@example.com', 'wrong password', '192.0.2.77'))
        checked = racing.count(401)
        report.check('account lockout', owner == [200] * 3 and checked <= 5,
                     f'after 150 wrong passwords from 30 addresses the owner elsewhere got {owner}; 16 racing wrong '
                     f'passwords from one address: {checked} checked (401), {racing.count(429)} refused (429)')
    finally:
        stop_server(server)


def raw_exchange(port, request, half_close=False):
    """Send ``request`` bytes as they are; the status line's code (or the error's name)."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as connection:
        connection.sendall(request)
        if half_close:
            connection.shutdown(socket.SHUT_WR)
        try:
            reply = connection.recv(200)
        except OSError as error:
            return type(error).__name__
    return int(reply.split(b' ')[1]) if reply.startswith(b'HTTP/') else repr(reply[:40])


def check_malformed(base_url, report, port=None):
    """What gunicorn refuses before the app (a request line or a header too long, a lower-case
    method, a bad version or header name, invalid UTF-8 in the path) is a problem document too,
    with the headers of every answer: never gunicorn's HTML page."""
    port = port or free_port()
    url = fresh_database(base_url, 'malformed')
    server = start_server(url, port, workers=1)
    requests = {
        'a 5,000-byte q=': b'GET /bucketlists/?q=' + b'x' * 5000 + b' HTTP/1.1\r\nHost: x\r\n\r\n',
        'a 9 KB header': b'GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'x' * 9000 + b'\r\n\r\n',
        'a lower-case method': b'get /health HTTP/1.1\r\nHost: x\r\n\r\n',
        'HTTP/9.9': b'GET /health HTTP/9.9\r\nHost: x\r\n\r\n',
        'a header name with a space': b'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n',
        '/metr%ffics': b'GET /metr%ffics HTTP/1.1\r\nHost: x\r\n\r\n',
    }
    answers = {}
    try:
        for name, request in requests.items():
            with socket.create_connection(('127.0.0.1', port), timeout=10) as connection:
                connection.sendall(request)
                reply = b''
                while chunk := connection.recv(65536):
                    reply += chunk
                    if b'\r\n\r\n' in reply:  # (the head is all this looks at)
                        break
            head = reply.split(b'\r\n\r\n')[0].decode('latin1').lower()
            status = int(head.split()[1]) if head.startswith('http/') else None
            typed = 'content-type: application/problem+json' in head and 'x-request-id:' in head
            answers[name] = (status, typed)
        report.check('malformed requests', all(status is not None and status >= 400 and typed
                                                for status, typed in answers.values()),
                     ', '.join(f'{name}: {status}{" problem+json" if typed else " NOT problem+json"}'
                               for name, (status, typed) in answers.items()))
    finally:
        stop_server(server)


def check_refreshfork(base_url, report, port=None):
    """A refresh fork: the owner and a thief each refresh one token within the
    grace window, then each their own answer. The second lineage to move on must end the
    session; both used to rotate for ever."""
    port = port or free_port()
    url = fresh_database(base_url, 'refreshfork')
    server = start_server(url, port, workers=2)
    try:
        call(port, 'POST', '/auth/register', {'email': 'fork@example.com', 'password': PASSWORD})
        stolen = log_in(port, 'fork@example.com')['refresh_token']
        owner = call(port, 'POST', '/auth/refresh', {'refresh_token': stolen})[1]
        thief = call(port, 'POST', '/auth/refresh', {'refresh_token': stolen})[1]
        owner = call(port, 'POST', '/auth/refresh', {'refresh_token': owner['refresh_token']})[1]
        thiefs_next = call(port, 'POST', '/auth/refresh', {'refresh_token': thief['refresh_token']})[0]
        afterwards = [call(port, 'POST', '/auth/refresh', {'refresh_token': owner['refresh_token']})[0],
                      call(port, 'GET', '/bucketlists/', token=owner['access_token'])[0]]
        report.check('refresh fork', thiefs_next == 401 and afterwards == [401, 401],
                     f"the thief's lineage moving on: {thiefs_next}; then the owner's refresh and access "
                     f'tokens: {afterwards} (the session ended: both log in again)')
    finally:
        stop_server(server)


def rss_kib(pid):
    """The resident memory of process ``pid``, in KiB."""
    with open(f'/proc/{pid}/status') as status:
        return next(int(line.split()[1]) for line in status if line.startswith('VmRSS:'))


def check_largest(base_url, report, port=None, lists=20):
    """An account at the item quota's ceiling in ``lists`` lists (500 items each, every note
    8,192 characters): every answer stays within the README's bounds (6 MiB), and an export of
    it all grows the worker's memory by less than 100 MiB. (The bucketlist quota's ceiling, 1,000
    such lists, is 50 times the data; the export's memory does not depend on how many lists.)"""
    port = port or free_port()
    url = fresh_database(base_url, 'largest')
    server = start_server(url, port, workers=1)
    try:
        token = register_and_login(port, 'largest@example.com')
        note = 'n' * 8192
        with closing(psycopg2.connect(url)) as connection, connection, connection.cursor() as cursor:
            cursor.execute("SELECT id FROM users WHERE email = 'largest@example.com'")
            (user_id,) = cursor.fetchone()
            cursor.execute('INSERT INTO bucketlists (name, description, owner_id, date_created, date_modified)'
                           " SELECT 'List ' || n, %s, %s, now(), now() FROM generate_series(1, %s) AS n",
                           (note, user_id, lists))
            cursor.execute("INSERT INTO items (name, done, bucketlist_id, date_created, date_modified, notes,"
                           ' position, created_by) SELECT repeat(%s, 255), false, b.id, now(), now(), %s, n - 1, %s'
                           ' FROM bucketlists b, generate_series(1, 500) AS n', ('i', note, user_id))
        first = call(port, 'GET', '/bucketlists/?limit=1', token=token)[1][0]['id']
        sizes = {}
        for name, path in [('GET one', f'/bucketlists/{first}'),
                           ('items page', f'/bucketlists/{first}/items/?limit=100'),
                           ('lists page', '/bucketlists/?limit=100'), ('sync page', '/sync?limit=1000')]:
            connection = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
            connection.request('GET', path, headers={'Authorization': f'Bearer {token}'})
            answer = connection.getresponse()
            sizes[name] = (answer.status, len(answer.read()))
            connection.close()
        worker = int(subprocess.run(['pgrep', '-P', str(server.pid)], capture_output=True, text=True).stdout.split()[0])
        before = rss_kib(worker)
        peaks, done = [before], threading.Event()

        def sample():  # the worker's memory while it writes the export, then sends it
            while not done.wait(0.02):
                peaks.append(rss_kib(worker))
        sampler = threading.Thread(target=sample)
        sampler.start()
        connection = http.client.HTTPConnection('127.0.0.1', port, timeout=300)
        try:
            connection.request('GET', '/users/me/export', headers={'Authorization': f'Bearer {token}'})
            answer = connection.getresponse()
            exported = 0
            while chunk := answer.read(1 << 20):
                exported += len(chunk)
        finally:
            connection.close()
            done.set()
            sampler.join()
        peak = max(peaks)
        bound = 6 * 1024 * 1024
        report.check('the largest account', all(status == 200 and size < bound for status, size in sizes.values())
                     and answer.status == 200 and peak - before < 100 * 1024,
                     ', '.join(f'{name} {status} {size / 2**20:.2f} MiB' for name, (status, size) in sizes.items())
                     + f'; export {answer.status} {exported / 2**20:.0f} MiB, worker memory {before // 1024} MiB, '
                     f'at most {peak // 1024} MiB while writing and sending it')
    finally:
        stop_server(server)


def check_bodies(base_url, report, port=None):
    """Malformed chunked bodies and a body shorter than its Content-Length are 400, never 500 or 201."""
    port = port or free_port()
    url = fresh_database(base_url, 'bodies')
    server = start_server(url, port, workers=1)
    try:
        token = register_and_login(port, 'chunks@example.com')
        head = (f'POST /bucketlists/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n'
                'Content-Type: application/json\r\n').encode()
        chunked = head + b'Transfer-Encoding: chunked\r\n\r\n'
        cases = {'chunk size zz': chunked + b'zz\r\n{}\r\n0\r\n\r\n',
                 'chunk size 0x10': chunked + b'0x10\r\n{"name": "a"}\r\n0\r\n\r\n',
                 'chunk size -10': chunked + b'-10\r\n{"name": "a"}\r\n0\r\n\r\n',
                 'bad chunk terminator': chunked + b'd\r\n{"name": "a"}XX0\r\n\r\n'}
        statuses = {name: raw_exchange(port, request) for name, request in cases.items()}
        statuses['chunked, closed early'] = raw_exchange(port, chunked + b'40\r\n{"name": ', half_close=True)
        statuses['shorter than Content-Length'] = raw_exchange(
            port, head + b'Content-Length: 100\r\n\r\n{"name": "short"}', half_close=True)
        created = call(port, 'GET', '/bucketlists/', token=token)[1]
        ok = all(status == 400 for status in statuses.values()) and created == []
        report.check('malformed and short bodies', ok, f'{statuses}; bucketlists created: {len(created)}')
    finally:
        stop_server(server)


# --- Webhooks and live events --------------------------------------------------------------------

# What the delivery checks run web and worker with: development (WEBHOOK_ALLOW_PRIVATE, which the
# receivers on 127.0.0.1 need, stops production and staging from starting), a short retry schedule.
WEBHOOK_SETTINGS = {'APP_SETTINGS': 'development', 'WEBHOOK_ALLOW_PRIVATE': 1, 'WEBHOOK_ALLOW_HTTP': 1,
                    'WEBHOOK_TIMEOUT_SECONDS': 2, 'WEBHOOK_RETRY_SECONDS': '0.5,0.5,1,1,2,2,2',
                    'WEBHOOK_POLL_SECONDS': 0.2}


def procfile_command(name):
    """The Procfile's command of process type ``name``, as bash runs it."""
    with open(os.path.join(ROOT, 'Procfile')) as procfile:
        line = next(line for line in procfile if line.startswith(f'{name}:'))
    return ['bash', '-c', 'exec ' + line[len(name) + 1:].strip()]


def start_worker(database_url, **extra):
    """The Procfile's worker command; returns the process once it says it started."""
    log = tempfile.NamedTemporaryFile(prefix='resilience-worker-', suffix='.log', delete=False)
    process = subprocess.Popen(procfile_command('worker'), cwd=ROOT, env=server_env(database_url, 0, **extra),
                               stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
    process.log_path = log.name
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        with open(log.name) as output:
            if 'worker started' in output.read():
                return process
        time.sleep(0.1)
    stop_server(process)
    with open(log.name) as output:
        raise RuntimeError(f'the worker did not start: {output.read()[-2000:]}')


def refuses_to_start(name, database_url, **extra):
    """(whether the Procfile's ``name`` command exited by itself, non-zero, within 20 s; its last line)."""
    process = subprocess.Popen(procfile_command(name), cwd=ROOT, env=server_env(database_url, free_port(), 1, **extra),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, errors = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        stop_server(process)
        return False, 'still running after 20 s'
    return process.returncode != 0, (errors.strip().splitlines() or [''])[-1][:160]


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1, in a thread of its own: it keeps every request (when it came,
    its path, headers, body and the status it answers) and answers as ``answer(path)`` says:
    (status, seconds to wait first). ``most``: the most requests to one path it answered at once."""

    def __init__(self, answer=lambda path: (200, 0)):
        self.answer, self.requests, self.in_flight, self.lock = answer, [], 0, threading.Lock()
        self.busy, self.most = {}, {}  # {path: requests being answered now, and at most at once}
        super().__init__(('127.0.0.1', 0), ReceiverHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path):
        return f'http://127.0.0.1:{self.server_address[1]}{path}'

    def close(self):
        self.shutdown()
        self.server_close()

    def received(self):
        with self.lock:
            return list(self.requests)

    def events(self, status=200):
        """{webhook-id: the event} of the requests answered ``status``."""
        return {headers['webhook-id']: json.loads(body)
                for _, _, headers, body, answered in self.received() if answered == status}

    def forged(self, secrets_of):
        """How many requests do not verify with the secret of their path in ``secrets_of``."""
        forged = 0
        for _, path, headers, body, _ in self.received():
            try:
                Webhook(secrets_of[path]).verify(body, headers)
            except WebhookVerificationError:
                forged += 1
        return forged


class ReceiverHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        arrived = time.monotonic()
        body = self.rfile.read(int(self.headers['Content-Length']))
        status, delay = self.server.answer(self.path)
        with self.server.lock:
            self.server.requests.append((arrived, self.path, {k.lower(): v for k, v in self.headers.items()},
                                         body, status))
            self.server.in_flight += 1
            busy = self.server.busy[self.path] = self.server.busy.get(self.path, 0) + 1
            self.server.most[self.path] = max(self.server.most.get(self.path, 0), busy)
        try:
            time.sleep(delay)
            self.send_response(status)
            self.send_header('Content-Length', '2')
            self.end_headers()
            self.wfile.write(b'ok')
        except OSError:
            pass  # (the worker gave up on it, or died)
        finally:
            with self.server.lock:
                self.server.in_flight -= 1
                self.server.busy[self.path] -= 1

    def log_message(self, *args):
        pass


def wait_for(condition, seconds, step=0.1):
    """Whether ``condition()`` came true within ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def new_webhook(port, token, url, events=('item.created',)):
    status, body, _ = call(port, 'POST', '/webhooks', {'url': url, 'events': list(events)}, token)
    assert status == 201, (status, body)
    return body


def deliveries(port, token, webhook_id):
    """Every delivery of an endpoint, as GET /webhooks/<id>/deliveries pages them."""
    found, page = [], 1
    while True:
        status, body, _ = call(port, 'GET', f'/webhooks/{webhook_id}/deliveries?page={page}&limit=100', token=token)
        assert status == 200, (status, body)
        found += body
        if len(body) < 100:
            return found
        page += 1


def new_items(port, token, bucketlist_id, count, prefix, pause=0.0):
    """``count`` items created one after another: {item id: when its request was sent}."""
    sent = {}
    connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    for n in range(count):
        started = time.monotonic()
        status, body, _ = call(port, 'POST', f'/bucketlists/{bucketlist_id}/items/', {'name': f'{prefix} {n}'},
                               token, connection=connection)
        assert status == 201, (status, body)
        sent[body['id']] = started
        time.sleep(pause)
    connection.close()
    return sent


def by_item(events):
    """{item id: the webhook-ids that carried its creation} of ``events`` ({webhook-id: event})."""
    found = {}
    for webhook_id, event in events.items():
        found.setdefault(event['data']['item_id'], set()).add(webhook_id)
    return found


def states(port, token, endpoints):
    """{delivery state: how many} over ``endpoints``' deliveries."""
    counted = {}
    for endpoint in endpoints:
        for delivery in deliveries(port, token, endpoint['id']):
            counted[delivery['state']] = counted.get(delivery['state'], 0) + 1
    return counted


def check_webhooks(base_url, report, port=None):
    """Receivers on this machine refused in production, which does not even start with them
    allowed; then, in development, deliveries through a receiver's outage, a worker killed
    mid-delivery, a slow receiver beside a fast one, and 1,000 events from 2 workers: every event
    arrives, signed, and once but for retries."""
    port = port or free_port()
    url = fresh_database(base_url, 'webhooks')
    server = start_server(url, port, workers=1)
    try:
        token = register_and_login(port, 'refused@example.com')
        answers = {}
        for receiver in ('https://127.0.0.1/x', 'https://169.254.169.254/latest/meta-data', 'https://localhost/x',
                         'https://[::ffff:127.0.0.1]/x', 'http://hooks.example.com/x'):
            status, body, _ = call(port, 'POST', '/webhooks', {'url': receiver, 'events': ['item.created']}, token)
            answers[receiver] = (status, (body or {}).get('type', '').rsplit('/', 1)[-1])
    finally:
        stop_server(server)
    starts = {f'{name} ({settings})': refuses_to_start(name, url, APP_SETTINGS=settings, WEBHOOK_ALLOW_PRIVATE=1)
              for name, settings in (('web', 'production'), ('worker', 'production'), ('web', 'staging'))}
    report.check('webhooks: private receivers refused in production',
                 all(answer == (422, 'webhook-url-refused') for answer in answers.values())
                 and all(refused and 'WEBHOOK_ALLOW_PRIVATE' in line for refused, line in starts.values()),
                 ', '.join(f'{receiver} {status} {kind}' for receiver, (status, kind) in answers.items())
                 + '; with WEBHOOK_ALLOW_PRIVATE=1: ' + ', '.join(
                     f'{name} {"refused to start" if refused else "STARTED"}' for name, (refused, _) in starts.items())
                 + f' ({next(iter(starts.values()))[1]!r})')

    server = start_server(url, port, workers=2, **WEBHOOK_SETTINGS)
    try:
        webhooks_through_an_outage(url, port, report)
        webhooks_worker_killed(url, port, report)
        webhooks_slow_receiver(url, port, report)
        webhooks_thousand(url, port, report)
    finally:
        stop_server(server)


def webhooks_through_an_outage(url, port, report, events=50, failing=2.0):
    """A receiver that answers 500 for its first ``failing`` seconds, then 200, gets every event once."""
    token = register_and_login(port, 'outage-hook@example.com')
    bucketlist = call(port, 'POST', '/bucketlists/', {'name': 'Flaky'}, token)[1]
    recovers = [float('inf')]
    receiver = Receiver(lambda path: (500 if time.monotonic() < recovers[0] else 200, 0))
    worker = None
    try:
        endpoint = new_webhook(port, token, receiver.url('/flaky'))
        worker = start_worker(url, **WEBHOOK_SETTINGS)
        started = time.monotonic()
        recovers[0] = started + failing
        created = new_items(port, token, bucketlist['id'], events, 'Flaky')
        arrived = wait_for(lambda: set(by_item(receiver.events())) >= set(created), 30)
        took = time.monotonic() - started
        wait_for(lambda: states(port, token, [endpoint]).get('pending', 0) == 0, 10)
        counted = states(port, token, [endpoint])
        received = receiver.received()
        events_by_item = by_item(receiver.events())
        forged = receiver.forged({'/flaky': endpoint['secret']})
        failed = sum(1 for *_, status in received if status == 500)
        ok = (arrived and set(events_by_item) == set(created) and all(len(ids) == 1 for ids in events_by_item.values())
              and len(received) - failed == events and forged == 0 and counted == {'delivered': events} and failed > 0)
        report.check('webhooks through a receiver outage', ok,
                     f'{events} item creates while the receiver answered 500 for {failing:.0f} s: {len(received)} '
                     f'requests ({failed} answered 500, {len(received) - failed} 200), {len(events_by_item)} of '
                     f'{events} events received with 200 '
                     f'within {took:.1f} s, each by {sorted({len(ids) for ids in events_by_item.values()})} '
                     f'webhook-id(s); signatures not verifying: {forged}; deliveries {counted}')
    finally:
        if worker:
            stop_server(worker)
        receiver.close()


def webhooks_worker_killed(url, port, report, endpoints=4, events=4, delay=1.5):
    """The worker SIGKILLed while its deliveries hang in a receiver that takes ``delay`` seconds:
    another worker sends them again (after the lease), and nothing is lost."""
    token = register_and_login(port, 'killed-hook@example.com')
    bucketlist = call(port, 'POST', '/bucketlists/', {'name': 'Killed'}, token)[1]
    receiver = Receiver(lambda path: (200, delay))
    workers = []
    try:
        paths = [f'/killed/{n}' for n in range(endpoints)]
        hooks = [new_webhook(port, token, receiver.url(path)) for path in paths]
        workers.append(start_worker(url, **WEBHOOK_SETTINGS))
        created = new_items(port, token, bucketlist['id'], events, 'Killed')
        wait_for(lambda: receiver.in_flight >= min(endpoints, 2), 10, step=0.02)
        in_flight = receiver.in_flight
        workers[0].kill()
        workers[0].wait()
        killed = time.monotonic()
        workers.append(start_worker(url, **WEBHOOK_SETTINGS))
        done = wait_for(lambda: states(port, token, hooks) == {'delivered': endpoints * events}, 60, step=0.5)
        took = time.monotonic() - killed
        counted = states(port, token, hooks)
        received = receiver.received()
        ids = {headers['webhook-id'] for _, _, headers, _, _ in received}
        every = {(path, json.loads(body)['data']['item_id']) for _, path, headers, body, _ in received}
        wanted = {(path, item) for path in paths for item in created}
        forged = receiver.forged({path: hook['secret'] for path, hook in zip(paths, hooks, strict=True)})
        ok = (done and every == wanted and len(ids) == endpoints * events and forged == 0
              and max(receiver.most.values()) == 1)
        report.check('webhooks: a worker killed mid-delivery', ok,
                     f'{endpoints} endpoints x {events} events, SIGKILL with {in_flight} deliveries in flight: '
                     f'{len(every)} of {len(wanted)} events received, {len(received) - len(ids)} sent twice '
                     f'(those in flight), signatures not verifying: {forged}; deliveries {counted} {took:.1f} s after '
                     f'the kill (the lease: {2 * WEBHOOK_SETTINGS["WEBHOOK_TIMEOUT_SECONDS"] + 5} s); at most '
                     f'{max(receiver.most.values())} at once to one endpoint')
    finally:
        for worker in workers:
            stop_server(worker)
        receiver.close()


def webhooks_slow_receiver(url, port, report, events=20):
    """A receiver that hangs past the timeout holds up no other endpoint's deliveries."""
    token = register_and_login(port, 'slow-hook@example.com')
    bucketlist = call(port, 'POST', '/bucketlists/', {'name': 'Slow'}, token)[1]
    hang = WEBHOOK_SETTINGS['WEBHOOK_TIMEOUT_SECONDS'] + 1
    slow, fast = Receiver(lambda path: (200, hang)), Receiver()
    worker = None
    try:
        new_webhook(port, token, slow.url('/slow'))
        endpoint = new_webhook(port, token, fast.url('/fast'))
        worker = start_worker(url, **WEBHOOK_SETTINGS)
        sent = new_items(port, token, bucketlist['id'], events, 'Slow', pause=0.1)
        arrived = wait_for(lambda: set(by_item(fast.events())) >= set(sent), 20)
        first = {}
        for when, _, _, body, _ in fast.received():
            item = json.loads(body)['data']['item_id']
            first[item] = min(first.get(item, when), when)
        latencies = [first[item] - sent[item] for item in sent if item in first]
        hung = [when for when, *_ in slow.received() if when <= max(first.values(), default=0)]
        forged = fast.forged({'/fast': endpoint['secret']})
        ok = arrived and len(latencies) == events and max(latencies) < 2 and hung and forged == 0
        report.check('webhooks: a slow receiver beside a fast one', ok,
                     f'{events} events, 0.1 s apart, to a receiver hanging {hang} s (timeout '
                     f'{WEBHOOK_SETTINGS["WEBHOOK_TIMEOUT_SECONDS"]} s; {len(hung)} of its requests meanwhile) and a '
                     f'fast one: {len(latencies)} received by the fast one, from the request that made each: p50 '
                     f'{1000 * percentile(latencies, 0.5):.0f} ms, max {1000 * max(latencies, default=0):.0f} ms')
    finally:
        if worker:
            stop_server(worker)
        slow.close()
        fast.close()


def webhooks_thousand(url, port, report, events=1000, clients=8, lists=4):
    """2 workers deliver ``events`` item creates made by ``clients`` at once to one receiver."""
    token = register_and_login(port, 'thousand-hook@example.com')
    bucketlists = [call(port, 'POST', '/bucketlists/', {'name': f'Thousand {n}'}, token)[1]['id']
                   for n in range(lists)]
    receiver = Receiver()
    workers = []
    try:
        endpoint = new_webhook(port, token, receiver.url('/thousand'))
        workers = [start_worker(url, **WEBHOOK_SETTINGS) for _ in range(2)]
        started = time.monotonic()
        created = {}
        for made in in_parallel(clients, lambda n: new_items(port, token, bucketlists[n % lists], events // clients,
                                                             f'Client {n}')):
            created.update(made)
        made_in = time.monotonic() - started
        arrived = wait_for(lambda: len(receiver.received()) >= events, 120, step=0.2)
        took = time.monotonic() - started
        wait_for(lambda: states(port, token, [endpoint]).get('pending', 0) == 0, 10, step=0.5)
        counted = states(port, token, [endpoint])
        received = receiver.received()
        events_by_item = by_item(receiver.events())
        duplicates = len(received) - len({headers['webhook-id'] for _, _, headers, _, _ in received})
        forged = receiver.forged({'/thousand': endpoint['secret']})
        shares = []
        for worker in workers:
            with open(worker.log_path) as log:
                shares.append(sum(1 for line in log if ': delivered,' in line))
        ok = (arrived and set(events_by_item) == set(created) and len(created) == events and duplicates == 0
              and forged == 0 and counted == {'delivered': events} and max(receiver.most.values()) == 1)
        report.check('webhooks: 1,000 events from 2 workers', ok,
                     f'{len(created)} item creates by {clients} clients in {made_in:.1f} s; {len(events_by_item)} '
                     f'events received {took:.1f} s after the first create ({len(received) / took:.0f}/s), '
                     f'duplicate webhook-ids {duplicates}, signatures not verifying {forged}; deliveries {counted}, '
                     f'by worker (their logs) {shares}; at most {max(receiver.most.values())} at once')
    finally:
        for worker in workers:
            stop_server(worker)
        receiver.close()


SYNC_KINDS = ('bucketlists', 'items', 'steps', 'labels')  # what GET /sync answers hold
KIND_OF_EVENT = {'bucketlist': 'bucketlists', 'item': 'items', 'step': 'steps', 'label': 'labels'}


def forget(copy, kind, object_id):
    """A deletion applied to ``copy``: a bucketlist takes its items with it."""
    copy[kind].pop(object_id, None)
    if kind == 'bucketlists':
        for item_id in [i for i, item in copy['items'].items() if item['bucketlist_id'] == object_id]:
            del copy['items'][item_id]


def full_sync(port, token):
    """A full GET /sync, its pages followed: ({kind: {id: object}}, the cursor after it)."""
    copy, cursor = {kind: {} for kind in SYNC_KINDS}, None
    while True:
        status, answer, _ = call(port, 'GET', '/sync' + (f'?cursor={cursor}' if cursor else ''), token=token)
        assert status == 200, (status, answer)
        for kind in SYNC_KINDS:
            for object_id in answer['deleted'][kind]:
                forget(copy, kind, object_id)
        for kind in SYNC_KINDS:
            copy[kind].update((shown['id'], shown) for shown in answer[kind])
        cursor = answer['cursor']
        if not answer['has_more']:
            return copy, cursor


class EventReader:
    """A client of GET /events that keeps a copy of the account's objects (as a full sync gave
    them, with ``cursor``) up to date from its events, and reconnects with the last event's id."""

    def __init__(self, port, token, copy, cursor):
        self.port, self.token, self.copy, self.cursor, self.last_id = port, token, copy, cursor, None
        self.connections, self.events, self.refused, self.problems, self.seen = 0, 0, {}, [], set()
        self.last_change = time.monotonic()

    def read(self, seconds):
        """One connection, read for about ``seconds`` (whole events or not), then closed."""
        headers = {'Authorization': f'Bearer {self.token}', 'Accept': 'text/event-stream'}
        if self.last_id:
            headers['Last-Event-ID'] = self.last_id
        connection = http.client.HTTPConnection('127.0.0.1', self.port, timeout=10)
        try:
            self.stream(connection, headers, seconds)
        except (OSError, http.client.HTTPException) as error:  # (counted; the next read reconnects)
            self.refused[type(error).__name__] = self.refused.get(type(error).__name__, 0) + 1
        finally:
            connection.close()

    def stream(self, connection, headers, seconds):
        connection.request('GET', '/events' if self.last_id else f'/events?cursor={self.cursor}', headers=headers)
        response = connection.getresponse()
        self.connections += 1
        if response.status != 200:
            self.refused[response.status] = self.refused.get(response.status, 0) + 1
            response.read()
            time.sleep(float(response.getheader('Retry-After') or 1))
            return
        deadline, fields = time.monotonic() + seconds, {}
        while time.monotonic() < deadline:
            line = response.readline()
            if not line:
                return
            line = line.decode().rstrip('\r\n')
            if not line:
                self.dispatch(fields)
                fields = {}
            elif not line.startswith(':'):
                name, _, value = line.partition(':')
                fields[name] = value[1:] if value.startswith(' ') else value

    def dispatch(self, fields):
        if 'data' in fields:
            event = json.loads(fields['data'])
            noun, _, verb = event['type'].partition('.')
            if noun not in KIND_OF_EVENT:
                self.problems.append(event)
            elif verb == 'deleted':
                forget(self.copy, KIND_OF_EVENT[noun], event['data']['id'])
            else:
                self.copy[KIND_OF_EVENT[noun]][event['data']['id']] = event['data']
            self.events += 1
            self.seen.add(fields['data'])
            self.last_change = time.monotonic()
        if 'id' in fields:
            self.last_id = fields['id']


def check_events(base_url, report, port=None):
    """GET /events: a client reconnecting with Last-Event-ID while another writes ends with every
    change; 200 idle streams on one worker leave everybody else's requests fast."""
    port = port or free_port()
    url = fresh_database(base_url, 'events')
    server = start_server(url, port, workers=2, EVENT_HEARTBEAT_SECONDS=1)
    try:
        events_resumed(port, report)
    finally:
        stop_server(server)
    port = free_port()
    server = start_server(url, port, workers=1, EVENT_STREAMS_PER_ACCOUNT=1000)
    try:
        events_idle_streams(port, report)
    finally:
        stop_server(server)


def events_resumed(port, report, seconds=5, quiet=2):
    """A writer creates, renames, ticks and deletes items for ``seconds``; a reader of /events
    drops its connection every second or so and resumes with Last-Event-ID; once the writer
    stops and the stream is quiet for ``quiet`` seconds, the reader's copy is a full sync's."""
    token = register_and_login(port, 'events@example.com')
    bucketlist = call(port, 'POST', '/bucketlists/', {'name': 'Live'}, token)[1]
    copy, cursor = full_sync(port, token)
    reader, stop, statuses = EventReader(port, token, copy, cursor), threading.Event(), {}

    def write():
        chance, live = random.Random(31), []
        connection = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
        path = f'/bucketlists/{bucketlist["id"]}'
        while not stop.is_set():
            op = chance.choice(('create', 'create', 'rename', 'tick', 'delete', 'list')) if live else 'create'
            if op == 'create':
                status, body, _ = call(port, 'POST', path + '/items/', {'name': f'Item {len(statuses)}'}, token,
                                       connection=connection)
                if status == 201:
                    live.append(body['id'])
            elif op == 'rename':
                status = call(port, 'PATCH', f'{path}/items/{chance.choice(live)}',
                              {'name': f'Renamed {time.monotonic_ns()}'}, token, connection=connection)[0]
            elif op == 'tick':
                status = call(port, 'PATCH', f'{path}/items/{chance.choice(live)}', {'done': chance.random() < 0.7},
                              token, connection=connection)[0]
            elif op == 'delete':
                status = call(port, 'DELETE', f'{path}/items/{live.pop(chance.randrange(len(live)))}', token=token,
                              connection=connection)[0]
            else:
                status = call(port, 'PATCH', path, {'name': f'Live {time.monotonic_ns()}'}, token,
                              connection=connection)[0]
            statuses[status] = statuses.get(status, 0) + 1
        connection.close()
    writer = threading.Thread(target=write)
    writer.start()
    try:
        chance, writes_end = random.Random(17), time.monotonic() + seconds
        while time.monotonic() < writes_end:
            reader.read(chance.uniform(0.5, 1.5))
    finally:
        stop.set()
        writer.join()
    deadline = time.monotonic() + 30
    while time.monotonic() - reader.last_change < quiet and time.monotonic() < deadline:
        reader.read(1)
    server_copy, _ = full_sync(port, token)
    mine = {item_id: (item['name'], item['done']) for item_id, item in reader.copy['items'].items()}
    theirs = {item_id: (item['name'], item['done']) for item_id, item in server_copy['items'].items()}
    lists_equal = ({i: b['name'] for i, b in reader.copy['bucketlists'].items()}
                   == {i: b['name'] for i, b in server_copy['bucketlists'].items()})
    differing = sum(1 for item_id in theirs.keys() & mine.keys() if theirs[item_id] != mine[item_id])
    report.check('events resumed with Last-Event-ID', mine == theirs and lists_equal and not reader.problems
                 and set(statuses) <= {200, 201},
                 f'{sum(statuses.values())} writes in {seconds} s ({statuses}), read over {reader.connections} '
                 f'connections ({reader.refused or "none"} refused): {reader.events} events ({len(reader.seen)} '
                 f'distinct), problems '
                 f'{reader.problems or "none"}; {len(theirs)} items on the server, {len(mine)} in the copy: '
                 f'{len(theirs.keys() - mine.keys())} missing, {len(mine.keys() - theirs.keys())} extra, '
                 f'{differing} differing; the lists equal: {lists_equal}')


def events_idle_streams(port, report, streams=200, gets=300):
    """``streams`` idle event streams open on the one worker: GET one's p99 stays under 50 ms."""
    token = register_and_login(port, 'streams@example.com')
    bucketlist = call(port, 'POST', '/bucketlists/', {'name': 'Watched'}, token)[1]

    def timings():
        taken = []
        for _ in range(gets):
            status, seconds = timed_call(port, 'GET', f'/bucketlists/{bucketlist["id"]}', token=token)
            taken.append(seconds if status == 200 else float('inf'))
        return taken
    before = timings()
    held = []
    try:
        request = (f'GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n'
                   'Accept: text/event-stream\r\n\r\n').encode()
        for _ in range(streams):
            held.append(socket.create_connection(('127.0.0.1', port), timeout=10))
            held[-1].sendall(request)
        opened = 0
        for connection in held:
            head = b''
            while b'\r\n\r\n' not in head and (chunk := connection.recv(4096)):
                head += chunk
            opened += head.startswith(b'HTTP/1.1 200')
        taken = timings()
    finally:
        for connection in held:
            connection.close()
    p99 = percentile(taken, 0.99)
    report.check(f'{streams} idle event streams on one worker', opened == streams and p99 < 0.05,
                 f'{opened} of {streams} streams opened (200); then {gets} GETs of one list: p50 '
                 f'{1000 * percentile(taken, 0.5):.1f} ms, p99 {1000 * p99:.1f} ms (before the streams: p50 '
                 f'{1000 * percentile(before, 0.5):.1f} ms, p99 {1000 * percentile(before, 0.99):.1f} ms)')


CHECKS = ['concurrency', 'races', 'outage', 'instances', 'sigterm', 'slowclients', 'pgbouncer', 'blackhole',
          'loginflood', 'loginflood4', 'nfkcflood', 'lockout', 'bodies', 'refreshfork', 'largest', 'malformed',
          'webhooks', 'events']


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--database-url', default='postgresql://postgres@127.0.0.1:5432/postgres',
                        help='any database on the PostgreSQL server to use; the checks make their own')
    parser.add_argument('--restart-postgres', action='store_true',
                        help='in the outage check, also stop and start a throwaway cluster of its own')
    parser.add_argument('--only', nargs='+', choices=CHECKS, default=CHECKS)
    parser.add_argument('--web', help="serve with this command instead of the Procfile's web: (to measure "
                                      "before and after a change)")
    args = parser.parse_args()
    global WEB_COMMAND
    WEB_COMMAND = args.web
    report = Report()
    try:
        for name in args.only:
            if name == 'outage':
                check_outage(args.database_url, report)
                if args.restart_postgres:
                    with ThrowawayCluster() as cluster:
                        check_outage(args.database_url, report, cluster=cluster)
            else:
                globals()[f'check_{name}'](args.database_url, report)
    finally:
        drop_created_databases()
    print(f'{len(report.failed)} failed' if report.failed else 'all passed')
    return 1 if report.failed else 0


if __name__ == '__main__':
    sys.exit(main())
