"""The database handle: PostgreSQL's pool and its connections, SQLite in WAL mode, cooperative waits."""
import heapq
import os
import socket
import sqlite3
import sys
import threading
import time
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime

import psycopg2.extensions
from peewee import PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import connect, parse, register_database
from playhouse.pool import (
    MaxConnectionsExceeded,
    PoolConnection,
    PooledDatabase,
    PooledPostgresqlDatabase,
)

import settings


class PostgresqlPool(PooledPostgresqlDatabase):
    """The playhouse pool, adapted to a database that may stop answering.

    - No round trip (SELECT 1) on every checkout: it was 13 % of a GET's time under load, spent
      holding the pool's lock. A connection that died fails its first query instead: that
      request is a 503, the pool drops the connection, and the errors plugin the idle ones.
    - It connects outside any lock. Playhouse's pool holds its lock while connecting, and
      peewee's Database holds its own, so while the database did not answer, each new connection
      of the process waited for the one before to time out. The state those locks guard is per
      thread (per greenlet) already, and the pool's own bookkeeping keeps its lock.
    - PgBouncer refuses the ``options`` startup parameter, so the statement timeout is a SET in
      front of the first statement of each connection (no extra round trip) or, behind a pooler
      in transaction mode (DATABASE_POOLER=transaction), where a session's settings do not last,
      a SET LOCAL in front of every statement, which PostgreSQL runs in the same transaction.
      The same SET has the prepared statements (sql.py) keep their general plan: PostgreSQL would
      otherwise plan them again for their values whenever that looked cheaper, which at a
      million rows was every time, and planning the sync took longer than running it.
    """
    _connecting = 0  # connections being made, outside the lock; they count toward the maximum
    waiting = 0  # requests waiting for a connection, for /metrics

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._lock = nullcontext()  # peewee's lock around connect and close: see above

    def connect(self, reuse_if_open=False):
        self.waiting += 1
        try:
            return super().connect(reuse_if_open)
        finally:
            self.waiting -= 1

    def _is_closed(self, conn):
        return bool(conn.closed) or conn.broken

    def _can_reuse(self, conn):
        return not conn.broken and super()._can_reuse(conn)

    def _connect(self):
        with self._pool_lock:
            while self._connections:  # the oldest idle connection still good, as playhouse does
                timestamp, _, conn = heapq.heappop(self._connections)
                if self._is_closed(conn):
                    continue
                if self._stale_timeout and self._is_stale(timestamp):
                    self._close_raw(conn)
                    continue
                self._in_use[self.conn_key(conn)] = PoolConnection(timestamp, conn, time.time())
                conn.begin_pending = False  # (a transaction ends with COMMIT or ROLLBACK, which clear it)
                return conn
            if self._max_connections and len(self._in_use) + self._connecting >= self._max_connections:
                raise MaxConnectionsExceeded('Exceeded maximum connections.')
            self._connecting += 1
        try:
            conn = super(PooledDatabase, self)._connect()
        finally:
            with self._pool_lock:
                self._connecting -= 1
        with self._pool_lock:
            self._in_use[self.conn_key(conn)] = PoolConnection(time.time(), conn, time.time())
        return conn

    # BEGIN waits for the transaction's first statement and goes in front of it: one round trip
    # fewer for every transaction (a quarter of POST item's). A transaction that sends nothing
    # sends no BEGIN, COMMIT or ROLLBACK either.
    def begin(self, isolation_level=None):
        self.connection().begin_pending = True

    def commit(self):
        if not self._ends_pending_begin():
            super().commit()

    def rollback(self):
        if not self._ends_pending_begin():
            super().rollback()

    def _ends_pending_begin(self):
        connection = self.connection()
        pending, connection.begin_pending = connection.begin_pending, False
        return pending

    def execute_sql(self, sql, params=None):
        if _session_check.pending is not None:
            run_session_check()
        connection = self.connection()
        transaction_pooler = settings.DATABASE_POOLER == 'transaction'
        if connection.timeout_set and not (connection.begin_pending or transaction_pooler):  # the usual case
            return super().execute_sql(sql, params)
        begin = 'BEGIN; ' if connection.begin_pending else ''
        connection.begin_pending = False
        timeout = settings.DATABASE_STATEMENT_TIMEOUT_MS
        if (connection.timeout_set and not transaction_pooler) or sql.startswith(SAVEPOINT_STATEMENTS):
            # Nothing in front of a savepoint's statement: in a transaction a failed statement
            # aborted, the SET would fail too and take ROLLBACK TO SAVEPOINT with it. (They wait
            # on nothing.)
            return super().execute_sql(begin + sql, params)
        if transaction_pooler or self.in_transaction():
            # (A SET in a transaction that rolls back would be undone: SET LOCAL says so.)
            return super().execute_sql(f'{begin}SET LOCAL statement_timeout = {timeout}; {sql}', params)
        cursor = super().execute_sql(
            f'SET statement_timeout = {timeout}; SET plan_cache_mode = force_generic_plan; {sql}', params)
        connection.timeout_set = True  # once it ran: a statement that fails takes its SET with it
        return cursor


# peewee's savepoints (nested atomic blocks) go through execute_sql; BEGIN, COMMIT and ROLLBACK do not.
SAVEPOINT_STATEMENTS = ('SAVEPOINT ', 'RELEASE SAVEPOINT ', 'ROLLBACK TO SAVEPOINT ')

register_database(PostgresqlPool, 'postgresql+pool', 'postgres+pool')


class PreparingConnection(psycopg2.extensions.connection):
    """A psycopg2 connection that knows which statements of sql.py it has prepared, and whether it
    was cut off."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.prepared = set()
        self.broken = False  # cut off mid-statement (wait_cooperatively): never to be reused
        self.timeout_set = False  # the statement timeout (PostgresqlPool.execute_sql)
        self.begin_pending = False  # a BEGIN to send with the next statement (PostgresqlPool.begin)


# --- The request's session, proven before anything else runs -----------------------------------
# An access token is honoured only while its session is open (its row exists). A statement of
# sql.py that checks the session itself (``checks_session``) proves it with the row it returns;
# any other statement first runs the check the web layer left here, once. So a route that forgets
# still reads and writes nothing for an ended session, and a GET that is one statement stays one.
class _SessionCheck(threading.local):  # per greenlet under gevent, whose patching makes it so
    pending = None  # the check waiting to run
    session = (None, None)  # whose it is: (session_id, user_id)


_session_check = _SessionCheck()


def check_session_first(check, session_id=None, user_id=None):
    """Run ``check`` (it refuses the ended session ``session_id`` of ``user_id``) before this
    request's next statement, unless a statement proves that session open first
    (``take_session_check``); None: nothing to check."""
    _session_check.pending = check
    _session_check.session = (session_id, user_id)


def take_session_check(session_id, user_id):
    """The check waiting to run, taken off, when it is of the session ``session_id`` of ``user_id``:
    a statement that checks that session runs instead, and gives it back if it found no row.
    (None when there is none, or it is another's.)"""
    check = _session_check.pending
    if check is None or _session_check.session != (session_id, user_id):
        return None
    _session_check.pending = None
    return check


def run_session_check():
    """Run the check waiting, if any (before a statement that proves nothing; as the request ends)."""
    check = _session_check.pending
    if check is not None:
        _session_check.pending = None
        check()


_wait_limit = threading.local()  # per greenlet under gevent, whose patching makes it so


@contextmanager
def answer_within(seconds):
    """Wait at most ``seconds`` for the database in this block (under gevent; see below), for a
    question that must be answered quickly, such as /health's."""
    _wait_limit.seconds = seconds
    try:
        yield
    finally:
        _wait_limit.seconds = None


def wait_cooperatively(connection):
    """psycopg2's wait callback under gevent (gunicorn's gevent workers): other requests run while
    this one waits on PostgreSQL. Waits are bounded, since libpq's own connect timeout does not
    apply to a connection made this way: connecting by DATABASE_CONNECT_TIMEOUT_SECONDS, a
    statement by the statement timeout plus the network's (the server cancels it first)."""
    from gevent.socket import wait_read, wait_write
    connecting = connection.status == psycopg2.extensions.STATUS_SETUP
    timeout = (settings.DATABASE_CONNECT_TIMEOUT_SECONDS if connecting else
               (settings.DATABASE_STATEMENT_TIMEOUT_MS + settings.DATABASE_NETWORK_TIMEOUT_MS) / 1000)
    timeout = min(timeout, getattr(_wait_limit, 'seconds', None) or timeout)
    timed_out = psycopg2.OperationalError('no answer from the database in time')
    while True:
        state = connection.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        try:
            if state == psycopg2.extensions.POLL_READ:
                wait_read(connection.fileno(), timeout=timeout, timeout_exc=timed_out)
            elif state == psycopg2.extensions.POLL_WRITE:
                wait_write(connection.fileno(), timeout=timeout, timeout_exc=timed_out)
        except BaseException:
            # Mid-statement, it can serve nobody else: cut it at the socket and let the pool drop
            # it. Closing it here would deadlock on psycopg2's lock, which the statement holds.
            with socket.socket(fileno=os.dup(connection.fileno())) as cut:
                cut.shutdown(socket.SHUT_RDWR)
            connection.broken = True
            raise


# gunicorn's gevent workers patch the standard library before loading the app: waits must then
# be cooperative (the database, hashing on a real thread, a deadline on reading bodies).
UNDER_GEVENT = 'gevent' in sys.modules and sys.modules['gevent'].monkey.is_module_patched('socket')


class WalSqliteDatabase(SqliteDatabase):
    """SQLite in WAL mode, which lasts in the file: a connection sets it only while the file is
    not in it yet, and retries while another process holds the lock that takes (processes
    opening a new database at once: racing migrations). SQLite does not wait for that lock as
    busy_timeout waits for others."""

    def execute_sql(self, sql, params=None):
        if _session_check.pending is not None:
            run_session_check()
        return super().execute_sql(sql, params)

    def _initialize_connection(self, conn):
        for attempt in range(50):
            try:
                if conn.execute('PRAGMA journal_mode').fetchone()[0] != 'wal':
                    conn.execute('PRAGMA journal_mode = wal')
                return
            except sqlite3.OperationalError as error:
                if 'locked' not in str(error) or attempt == 49:
                    raise
                time.sleep(0.1)


def open_database(url):
    """The database handle for ``url``: pooled with bounded waits on PostgreSQL, WAL on SQLite."""
    if url.startswith('sqlite'):
        # IMMEDIATE: a transaction takes the write lock when it begins, so two writers
        # queue up instead of failing when both try to upgrade a read lock.
        database = WalSqliteDatabase(parse(url)['database'], pragmas={'busy_timeout': 5000, 'foreign_keys': 1},
                                     lock_type='IMMEDIATE')
        # SQLite's own lower() folds ASCII only; search must fold 'Ä' as PostgreSQL does.
        database.register_function(lambda text: text if text is None else text.lower(), 'lower', 1)
        return database
    if UNDER_GEVENT:
        psycopg2.extensions.set_wait_callback(wait_cooperatively)
    network_timeout = settings.DATABASE_NETWORK_TIMEOUT_MS
    return connect(url,
                   connection_factory=PreparingConnection,
                   max_connections=settings.DATABASE_POOL_SIZE,
                   timeout=settings.DATABASE_POOL_WAIT_SECONDS,
                   stale_timeout=300,
                   connect_timeout=settings.DATABASE_CONNECT_TIMEOUT_SECONDS,
                   # A network that drops packets silently (a blackhole) must fail a request, not
                   # hang it: unacknowledged data gives up after tcp_user_timeout, and a query
                   # whose answer never comes is noticed by keepalives probing the silence.
                   tcp_user_timeout=network_timeout,
                   keepalives=1, keepalives_idle=max(1, network_timeout // 2000),
                   keepalives_interval=max(1, network_timeout // 4000), keepalives_count=2)


db = open_database(settings.DATABASE_URL)


# The dialect, for what is written differently for each (sql.py's statements, sync's low water).
ON_POSTGRESQL = isinstance(db, PostgresqlDatabase)


def listening(channel):
    """A PostgreSQL connection of its own (the pool's are for requests; this one waits, idle, for
    as long as the process lives), in autocommit, listening to ``channel``."""
    params = {name: value for name, value in db.connect_params.items() if name != 'connection_factory'}
    connection = psycopg2.connect(database=db.database, **params)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'LISTEN "{channel}"')
    return connection


def violated_constraint(error):
    """Which kind of constraint an IntegrityError broke: 'unique', 'foreign_key' or None."""
    code, text = getattr(error.__context__, 'pgcode', None), str(error)
    if code == '23505' or text.startswith('UNIQUE constraint failed'):
        return 'unique'
    if code == '23503' or text.startswith('FOREIGN KEY constraint failed'):
        return 'foreign_key'
    return None


def transaction_failed():
    """Whether a statement of the open transaction failed, which PostgreSQL then refuses every other
    statement of (until it rolls back); SQLite rolls back the failed statement alone."""
    return ON_POSTGRESQL and (db.connection().info.transaction_status
                              == psycopg2.extensions.TRANSACTION_STATUS_INERROR)


def utcnow():
    """Now in UTC, naive: both databases store timestamps without a zone, always UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def locked(query, lock='FOR UPDATE'):
    """``query`` locking its rows until the transaction ends, as ``lock`` says: FOR UPDATE, FOR NO KEY
    UPDATE (foreign keys to the row may still be checked), FOR SHARE (other shared lockers go on,
    updaters wait), or FOR UPDATE SKIP LOCKED (rows another holds are left out). SQLite's IMMEDIATE
    transactions already keep other writers out, and it has none of them."""
    if not db.for_update:
        return query
    return query.for_update(lock)


