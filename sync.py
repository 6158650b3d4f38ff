"""Sync for offline clients: cursors, the pages of what changed since one, and the tombstones
deletions leave (the route is GET /sync in bucketlist.py).

Every row of bucketlists and items carries the version of the write that last changed it, set
by a trigger (migration step 7). A sync reads what has a version at or above its cursor. The
cursor a sync hands on is the *low water* taken when it began: every write not visible then has
a version at or above it. On PostgreSQL, versions are transaction ids and the low water is the
oldest transaction still running (its snapshot's xmin), so a transaction that commits late is
still found by the next sync, however late it commits; on SQLite, which writes one transaction
at a time, versions come from a counter and the low water is its next value. A change seen by
one sync may be sent again by the next, whole and current; never skipped.
"""
import base64
import binascii
import json
from collections import namedtuple
from datetime import timedelta

from peewee import PostgresqlDatabase, Tuple, Value, fn

import settings
from models import MAX_ID, Bucketlist, Deletion, Item, SyncState, db, utcnow

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 500, 1000  # objects per answer
FULL_PHASES = ('bucketlists', 'items')
# Deletions first: a client applies them before the objects, and SQLite may give a deleted id
# to a new object.
INCREMENTAL_PHASES = ('deletions', 'bucketlists', 'items')


class Cursor(namedtuple('Cursor', 'since low_water phase after')):
    """Where a sync stands. ``since``: it returns versions at or above this (None: everything, a
    full sync). ``low_water``: taken when it began, handed on as the next sync's ``since``.
    ``phase`` and ``after``: the kind of rows it was paging through and the key of the last one
    sent. A finished sync's cursor has only ``since``."""


class BadCursor(ValueError):
    """Not a cursor this API gave."""


class CursorTooOld(Exception):
    """The tombstones this cursor would need have been purged: sync from scratch."""


def encode(cursor):
    return base64.urlsafe_b64encode(json.dumps(list(cursor), separators=(',', ':')).encode()).decode().rstrip('=')


def decode(text):
    """The Cursor ``text`` spells, or BadCursor: each part is checked, so a forged cursor can only
    ask for the caller's own rows in another order."""
    try:
        since, low_water, phase, after = json.loads(base64.urlsafe_b64decode(text + '=' * (-len(text) % 4)))
    except (ValueError, TypeError, binascii.Error):
        raise BadCursor(text)
    version = lambda value: type(value) is int and 0 <= value < 2**63  # noqa: E731
    row_id = lambda value: type(value) is int and 0 < value <= MAX_ID  # noqa: E731
    if phase is None:
        good = version(since) and low_water is None and after is None
    elif since is None:
        good = (version(low_water) and phase in FULL_PHASES
                and (after is None or row_id(after)))
    else:
        good = (version(since) and version(low_water) and phase in INCREMENTAL_PHASES
                and (after is None or (isinstance(after, list) and len(after) == 2
                                       and version(after[0]) and row_id(after[1]))))
    if not good:
        raise BadCursor(text)
    return Cursor(since, low_water, phase, after)


def low_water():
    """Every write not visible to this statement has a version at or above this."""
    if isinstance(db, PostgresqlDatabase):
        return db.execute_sql('SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint').fetchone()[0]
    return SyncState.get_by_id(1).next_version


def page(user_id, cursor, limit):
    """The next page of ``user_id``'s sync from ``cursor`` (None: a new full sync):
    {'bucketlists': [...], 'items': [...], 'deletions': [...]}, as rows, and the cursor that
    follows (a finished one when the sync is complete). CursorTooOld when tombstones it needs
    are gone."""
    if cursor is None:
        cursor = Cursor(None, low_water(), FULL_PHASES[0], None)
    elif cursor.phase is None:  # a finished sync's cursor: what changed since
        cursor = Cursor(cursor.since, low_water(), INCREMENTAL_PHASES[0], None)
    phases = FULL_PHASES if cursor.since is None else INCREMENTAL_PHASES
    found = {phase: [] for phase in INCREMENTAL_PHASES}
    index, after, room = phases.index(cursor.phase), cursor.after, limit
    while index < len(phases) and room:
        rows = list(_rows(phases[index], user_id, cursor.since, after, room + 1))
        found[phases[index]] += rows[:room]
        if len(rows) > room:  # more of this kind than fits
            after = _key(rows[room - 1], cursor.since)
            room = 0
        else:
            room -= len(rows)
            index, after = index + 1, None
    # Read after the rows: a purge that raced them shows here (it never skips a row unnoticed).
    if cursor.since is not None and cursor.since < SyncState.get_by_id(1).purged_below:
        raise CursorTooOld()
    if index == len(phases):
        return found, Cursor(cursor.low_water, None, None, None)
    return found, Cursor(cursor.since, cursor.low_water, phases[index], after)


def _rows(phase, user_id, since, after, limit):
    model = {'bucketlists': Bucketlist, 'items': Item, 'deletions': Deletion}[phase]
    query = model.select()
    owner = Deletion.owner if model is Deletion else Bucketlist.owner
    if model is Item:
        query = query.join(Bucketlist)
    query = query.where(owner == user_id)
    if since is None:  # everything, in id order
        if after is not None:
            query = query.where(model.id > after)
        return query.order_by(model.id).limit(limit)
    query = query.where(model.version >= since)
    if after is not None:
        query = query.where(Tuple(model.version, model.id) > Tuple(*after))
    return query.order_by(model.version, model.id).limit(limit)


def _key(row, since):
    return row.id if since is None else [row.version, row.id]


def record_deletion(owner_id, kind, object_id):
    """Leave the tombstone of a bucketlist or item about to be deleted (a bucketlist's items get
    theirs too), and purge those past SYNC_TOMBSTONE_DAYS (cursors from before the purge are then
    CursorTooOld).

    A bucketlist's items are listed one by one because a client may hold one of them under
    another bucketlist: it was moved in since the client's last sync."""
    now = utcnow()
    if kind == 'bucketlist':
        Deletion.insert_from(Item.select(Value(owner_id), Value('item'), Item.id, Value(now))
                             .where(Item.bucketlist == object_id),
                             [Deletion.owner, Deletion.kind, Deletion.object_id, Deletion.deleted_at]).execute()
    Deletion.create(owner=owner_id, kind=kind, object_id=object_id, deleted_at=now)
    cutoff = now - timedelta(days=settings.SYNC_TOMBSTONE_DAYS)
    newest = Deletion.select(fn.MAX(Deletion.version)).where(Deletion.deleted_at < cutoff).scalar()
    if newest is not None:
        Deletion.delete().where(Deletion.deleted_at < cutoff).execute()
        SyncState.update(purged_below=newest + 1).where(SyncState.purged_below < newest + 1).execute()
