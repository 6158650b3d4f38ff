"""Checks that need real processes: gunicorn from the Procfile on PostgreSQL, under races and faults.

    python resilience.py [--database-url URL] [--restart-postgres] [--only NAME ...]

Each check prints PASS or FAIL with its figures; the exit status is 1 if any failed.
  concurrency   4 workers, 8 clients x 1,000 creates/renames/deletes: exact counts, no 5xx
  races         racing registrations of one email, creates of one name, one Idempotency-Key
  outage        the database goes away under load: fast 503s, recovery within 2 s, no restart
  instances     two servers on one database: tokens, logout, throttles shared; racing releases
  sigterm       SIGTERM lets in-flight requests finish
"""
import argparse
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from urllib.parse import urlsplit, urlunsplit

import psycopg2

ROOT = os.path.dirname(os.path.abspath(__file__))
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


def fresh_database(base_url, name):
    """Drop and create database ``name`` on the server of ``base_url``; apply migrations; its URL."""
    with closing(admin_connection(base_url)) as admin:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')
        admin.cursor().execute(f'CREATE DATABASE {name}')
    url = urlunsplit(urlsplit(base_url)._replace(path='/' + name))
    subprocess.run([PYTHON, 'migrations.py'], cwd=ROOT, env=server_env(url, 0), check=True,
                   stdout=subprocess.DEVNULL)
    return url


def server_env(database_url, port, workers=4, **extra):
    return {**os.environ, 'APP_SETTINGS': 'production', 'DATABASE_URL': database_url,
            'SECRET': extra.pop('SECRET', SECRET), 'PORT': str(port), 'WEB_CONCURRENCY': str(workers),
            'PATH': os.path.dirname(PYTHON) + os.pathsep + os.environ.get('PATH', ''),
            # Races register many accounts from one address, and all at once; the limits and the
            # shedding of login bursts (PASSWORD_HASHES_WAITING) have tests of their own.
            'REGISTRATIONS_PER_ADDRESS': '100000', 'LOGIN_FAILURES_PER_ADDRESS': '100000',
            'PASSWORD_HASHES_WAITING': '4',
            **{k: str(v) for k, v in extra.items()}}


SECRET = secrets.token_urlsafe(48)


def start_server(database_url, port, workers=4, **extra):
    """gunicorn with the Procfile's web command; returns the process once /health answers 200."""
    with open(os.path.join(ROOT, 'Procfile')) as procfile:
        web = next(line for line in procfile if line.startswith('web:'))
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
    status, body, _ = call(port, 'POST', '/auth/login', {'email': email, 'password': PASSWORD})
    assert status == 200, (status, body)
    return body['access_token']


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

def check_concurrency(base_url, report, port=8601, clients=8, operations=1000):
    url = fresh_database(base_url, 'resilience_concurrency')
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


def check_races(base_url, report, port=8602, racers=16):
    url = fresh_database(base_url, 'resilience_races')
    server = start_server(url, port, workers=4)
    try:
        statuses = in_parallel(racers, lambda n: call(port, 'POST', '/auth/register',
                                                      {'email': 'race@example.com', 'password': PASSWORD})[0])
        report.check('racing registrations', sorted(statuses) == [201] + [409] * (racers - 1),
                     f'{racers} at once: {statuses.count(201)} x 201, {statuses.count(409)} x 409')

        token = register_and_login(port, 'racer@example.com')
        statuses = in_parallel(racers, lambda n: call(port, 'POST', '/bucketlists/', {'name': 'Same name'}, token)[0])
        report.check('racing creates of one name', sorted(statuses) == [201] + [409] * (racers - 1),
                     f'{racers} at once: {statuses.count(201)} x 201, {statuses.count(409)} x 409')

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


def restart_postgres(stop):
    cluster = os.listdir('/etc/postgresql')[0]
    subprocess.run(['pg_ctlcluster', '--skip-systemctl-redirect', cluster, 'main', 'stop' if stop else 'start'],
                   check=True, capture_output=True)


def check_outage(base_url, report, restart, port=8603, outage_seconds=3):
    name = 'resilience_outage'
    url = fresh_database(base_url, name)
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
        restart_postgres(stop=True) if restart else set_database_reachable(base_url, name, False)
        time.sleep(outage_seconds)
        outage_ended = time.monotonic()
        restart_postgres(stop=False) if restart else set_database_reachable(base_url, name, True)
        if restart:
            subprocess.run(['pg_isready', '-q', '-t', '30', '-h', '127.0.0.1'], check=False)
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
                     f'{slowest * 1000:.0f} ms; first 200 {recovered_in if recovered_in is None else round(recovered_in, 2)} s '
                     f'after the database came back; {len(last_second)} requests after that all 200: '
                     f'{all(status == 200 for status in last_second)}; gunicorn not restarted')
    finally:
        stop_server(server)


def check_instances(base_url, report, ports=(8604, 8605)):
    name = 'resilience_instances'
    with closing(admin_connection(base_url)) as admin:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)')
        admin.cursor().execute(f'CREATE DATABASE {name}')
    url = urlunsplit(urlsplit(base_url)._replace(path='/' + name))
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

    servers = [start_server(url, port, workers=2, LOGIN_FAILURES_PER_ACCOUNT=5) for port in ports]
    try:
        first, second = ports
        token = register_and_login(first, 'twin@example.com')
        works_on_second = call(second, 'GET', '/bucketlists/', token=token)[0] == 200
        call(first, 'POST', '/auth/logout', token=token)
        refused_on_second = call(second, 'GET', '/bucketlists/', token=token)[0] == 401
        for port in (first, second, first, second, first):
            call(port, 'POST', '/auth/login', {'email': 'twin@example.com', 'password': 'wrong password'})
        throttled = call(second, 'POST', '/auth/login', {'email': 'twin@example.com', 'password': PASSWORD})[0]
        report.check('two instances, one service', works_on_second and refused_on_second and throttled == 429,
                     f'token from one works on the other: {works_on_second}; logout on one honoured by the '
                     f'other: {refused_on_second}; 5 failures spread over both, then the 6th login: {throttled}')
    finally:
        for server in servers:
            stop_server(server)


def check_sigterm(base_url, report, port=8606, in_flight=8):
    url = fresh_database(base_url, 'resilience_sigterm')
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


CHECKS = ['concurrency', 'races', 'outage', 'instances', 'sigterm']


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--database-url', default='postgresql://postgres@127.0.0.1:5432/postgres',
                        help='any database on the PostgreSQL server to use; the checks make their own')
    parser.add_argument('--restart-postgres', action='store_true',
                        help='in the outage check, really stop and start the PostgreSQL cluster')
    parser.add_argument('--only', nargs='+', choices=CHECKS, default=CHECKS)
    args = parser.parse_args()
    report = Report()
    for name in args.only:
        if name == 'outage':
            check_outage(args.database_url, report, restart=False)
            if args.restart_postgres:
                check_outage(args.database_url, report, restart=True)
        else:
            globals()[f'check_{name}'](args.database_url, report)
    print(f'{len(report.failed)} failed' if report.failed else 'all passed')
    return 1 if report.failed else 0


if __name__ == '__main__':
    sys.exit(main())
