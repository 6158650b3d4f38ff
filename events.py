"""Live events (GET /events): a Server-Sent Events stream of a caller's changes, which is a sync
that goes on: each page of GET /sync from the stream's cursor becomes one event a changed object
(or a deletion), and the cursor after it the event's id, so that a client reconnecting with
Last-Event-ID (or any sync cursor) misses nothing and may get a change twice, never less.

On PostgreSQL each change's activity entry notifies the ``bucketlist_events`` channel (migration
23); one connection per worker process listens to it and wakes the streams of the accounts that
see the list. On SQLite, and behind PgBouncer in transaction mode (where LISTEN does not work),
streams look every EVENT_POLL_SECONDS instead. Every stream also looks at each heartbeat.
"""
import json
import logging
import threading
import time
from collections import defaultdict
from datetime import timedelta

import metrics
import settings
from database import ON_POSTGRESQL, UNDER_GEVENT, db, listening, utcnow
from fields import timestamp
from migrations import EVENTS_CHANNEL
from problems import STREAMS_FULL, TOO_MANY_STREAMS
from web import error_of, problem_of

log = logging.getLogger('bucketlist.events')

WAKES = ON_POSTGRESQL and UNDER_GEVENT and settings.DATABASE_POOLER == 'none'
KINDS = ('bucketlists', 'items', 'steps', 'labels')  # in the order a sync's answer holds them
SINGULAR = {'bucketlists': 'bucketlist', 'items': 'item', 'steps': 'step', 'labels': 'label'}
RETRY_MS = 2000  # how soon a browser's EventSource reconnects
# A write's time is taken before it commits: one that commits this much after a stream's look
# still counts as new at the next.
COMMIT_SLACK = timedelta(seconds=5)

# {user_id: the wake-up events of their open streams in this process}
streams = defaultdict(set)
_guard = threading.Lock()


def event_type(kind, shown, since):
    """The event type of a changed object as a sync shows it: created (since ``since``, an ISO
    time, and never changed after), completed (an item ticked since), or updated. A change that
    moves others (an item deleted closes up the positions after it) changes them without a new
    ``date_modified``: the times tell those from new ones, and a stream resumed says ``updated``
    of what was created while it was away."""
    if shown.get('date_created', '') >= since and shown.get('date_created') == shown.get('date_modified'):
        return f'{SINGULAR[kind]}.created'
    if kind == 'items' and shown.get('done') and (shown.get('done_at') or '') >= since:
        return 'item.completed'
    return f'{SINGULAR[kind]}.updated'


def events_of(answer, since):
    """The SSE events of one sync answer: deletions first, as a client applies them."""
    for kind in KINDS:
        for object_id in answer['deleted'][kind]:
            yield f'{SINGULAR[kind]}.deleted', {'id': object_id}
    for kind in KINDS:
        for shown in answer[kind]:
            yield event_type(kind, shown, since), shown


def frame(event, data=None, event_id=None):
    lines = []
    if event is not None:
        lines.append(f'event: {event}\ndata: {json.dumps({"type": event, "data": data}, separators=(",", ":"))}')
    if event_id is not None:
        lines.append(f'id: {event_id}')
    return ('\n'.join(lines) + '\n\n').encode()


class Stream:
    """One client's stream, counted against the bounds from its start until it is closed (the
    server closes the iterable whatever happened; a generator's ``finally`` runs only once started)."""

    def __init__(self, user_id, cursor, next_page, ends_at):
        with _guard:
            if sum(map(len, streams.values())) >= settings.EVENT_STREAMS_PER_WORKER:
                raise STREAMS_FULL(headers={'Retry-After': '5'})
            if len(streams[user_id]) >= settings.EVENT_STREAMS_PER_ACCOUNT:
                raise TOO_MANY_STREAMS(headers={'Retry-After': '5'}, most=settings.EVENT_STREAMS_PER_ACCOUNT)
            self.wake = threading.Event()
            streams[user_id].add(self.wake)
        self.user_id, self.cursor, self.next_page, self.ends_at = user_id, cursor, next_page, ends_at
        if WAKES:
            listener.start()
        if metrics.ENABLED:
            metrics.OPEN_STREAMS.inc()

    def __iter__(self):
        yield f'retry: {RETRY_MS}\n\n'.encode()
        wait = settings.EVENT_HEARTBEAT_SECONDS if WAKES else min(settings.EVENT_POLL_SECONDS,
                                                                  settings.EVENT_HEARTBEAT_SECONDS)
        last_sent = time.monotonic()
        looked_at = utcnow()
        while time.monotonic() < self.ends_at:
            self.wake.clear()
            since, looked_at = timestamp(looked_at - COMMIT_SLACK), utcnow()
            try:
                with db.connection_context():
                    answer = self.next_page(self.cursor)
            except Exception as error:  # an ended session, a cursor too old, the database away
                yield frame('problem', problem_of(error_of(error)))
                return
            found = list(events_of(answer, since))
            self.cursor = answer['cursor']
            for number, (event, data) in enumerate(found, 1):
                yield frame(event, data, self.cursor if number == len(found) else None)
            if found:
                last_sent = time.monotonic()
            if answer['has_more']:
                continue
            if time.monotonic() - last_sent >= settings.EVENT_HEARTBEAT_SECONDS:
                yield b': heartbeat\n' + frame(None, event_id=self.cursor)
                last_sent = time.monotonic()
            self.wake.wait(max(0.0, min(wait, self.ends_at - time.monotonic())))

    def close(self):
        with _guard:
            if self.wake in streams.get(self.user_id, ()):
                streams[self.user_id].discard(self.wake)
                if not streams[self.user_id]:
                    del streams[self.user_id]
                if metrics.ENABLED:
                    metrics.OPEN_STREAMS.dec()


def wake(user_ids):
    with _guard:
        for user_id in user_ids:
            for event in streams.get(user_id, ()):
                event.set()


def wake_all():
    with _guard:
        for events in streams.values():
            for event in events:
                event.set()


# Who sees the lists a notification names: their owner (a list in the trash: its owner still) and members.
AUDIENCE = '''SELECT "owner_id" FROM "bucketlists" WHERE "id" = ANY(%(ids)s)
    UNION SELECT "user_id" FROM "memberships" WHERE "bucketlist_id" = ANY(%(ids)s)
    UNION SELECT "owner_id" FROM "trash" WHERE "kind" = 'bucketlist' AND "object_id" = ANY(%(ids)s)'''


class Listener:
    """The process's one LISTEN connection (started with its first stream), in a greenlet of its own."""

    def __init__(self):
        self.started = False

    def start(self):
        if not self.started:
            import gevent
            self.started = True
            gevent.spawn(self.run)

    def run(self):
        from gevent.socket import wait_read
        while True:
            connection = None
            try:
                connection = self.connect()
                wake_all()  # what changed while nobody listened
                while True:
                    try:
                        wait_read(connection.fileno(), timeout=settings.EVENT_HEARTBEAT_SECONDS,
                                  timeout_exc=TimeoutError)
                    except TimeoutError:
                        with _guard:  # (idle: with no stream left, listening costs every commit)
                            if not streams:
                                self.started = False
                                return
                        continue
                    self.woken(connection)
            except Exception:
                log.exception('event listener: reconnecting in 1 s')
                wake_all()
                time.sleep(1)
            finally:
                if connection is not None:
                    self.disconnect(connection)

    def connect(self):
        connection = listening(EVENTS_CHANNEL)
        with connection.cursor() as cursor:
            # Changes notify while a listener is registered; those of processes gone are forgotten.
            cursor.execute('DELETE FROM "event_listeners" WHERE "pid" NOT IN (SELECT "pid" FROM pg_stat_activity)')
            cursor.execute('INSERT INTO "event_listeners" ("pid") VALUES (pg_backend_pid()) ON CONFLICT DO NOTHING')
        return connection

    @staticmethod
    def disconnect(connection):
        try:
            with connection.cursor() as cursor:
                cursor.execute('DELETE FROM "event_listeners" WHERE "pid" = pg_backend_pid()')
        except Exception:  # (a connection lost: the next listener forgets its row)
            pass
        connection.close()

    def woken(self, connection):
        connection.poll()
        list_ids, member_ids = set(), set()
        while connection.notifies:
            bucketlist_id, moved_from, member_id = connection.notifies.pop().payload.split(',')
            list_ids.update(int(part) for part in (bucketlist_id, moved_from) if part)
            member_ids.update(int(part) for part in (member_id,) if part)
        if not list_ids or not streams:
            return
        with connection.cursor() as cursor:
            cursor.execute(AUDIENCE, {'ids': sorted(list_ids)})
            wake({user_id for (user_id,) in cursor.fetchall()} | member_ids)


listener = Listener()
