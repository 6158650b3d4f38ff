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

from peewee import fn

import settings
import sql
from database import ON_POSTGRESQL, db, utcnow
from fields import MAX_ID, QUERY_VALUE_MAX_LENGTH, text_size, within_text_max
from models import Bucketlist, Deletion, Item, ItemLabel, Label, Step, SyncState, role_of, visible_to
from sql import SYNC_PARTS

DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 500, 1000  # objects per answer
FULL_PHASES = ('labels', 'bucketlists', 'items', 'steps')
# Deletions first: a client applies them before the objects, and SQLite may give a deleted id
# to a new object.
INCREMENTAL_PHASES = SYNC_PARTS


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
    if len(text) > QUERY_VALUE_MAX_LENGTH:  # (a header's may be longer than a query value: none of ours is)
        raise BadCursor(text[:QUERY_VALUE_MAX_LENGTH])
    try:
        since, low_water, phase, after = json.loads(base64.urlsafe_b64decode(text + '=' * (-len(text) % 4)))
    except (ValueError, TypeError, binascii.Error, RecursionError):
        raise BadCursor(text) from None
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
    if ON_POSTGRESQL:
        return db.execute_sql('SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint').fetchone()[0]
    return SyncState.get_by_id(1).next_version


class SessionEnded(Exception):
    """The access token's session has ended (found by the query that reads the tombstones)."""


def changes_since(user_id, session_id, since, part, after, limit):
    """(low water, purged_below, {'deletions': [...], 'bucketlists': [...], 'items': [...]}) of the
    user's rows with versions from ``since``, at most ``limit`` of each kind, from the kind
    ``part`` on (``SYNC_PARTS``) and, in that kind, after the key ``after`` ((version, id) or
    None): all of one snapshot, which the low water and the purge are of too. None when the access
    token's session ``session_id`` has ended (None: an API token, looked up already).

    The rows are ``sql.sync_changes``'s: each reads as its kind's answers show it, with its
    ``version``, which orders a sync (a tombstone's ``kind`` and ``object_id``)."""
    after_version, after_id = after or (None, None)
    rows = sql.run(sql.sync_changes(), since=since, user_id=user_id, after_version=after_version, after_id=after_id,
                   limit=limit, session_id=session_id, part=SYNC_PARTS.index(part))
    if not rows:
        return None
    state, *changed = rows
    found = {kind: [] for kind in SYNC_PARTS}
    for row in changed:  # in order of part, version, id
        found[SYNC_PARTS[row.part]].append(row)
    return state.low_water, state.purged_below, found


def page(user_id, session_id, cursor, limit):
    """The next page of ``user_id``'s sync from ``cursor`` (None: a new full sync):
    ({'bucketlists': [...], 'items': [...], 'deletions': [...]}, the cursor that follows (a
    finished one when the sync is complete)). SessionEnded when the access token's session
    ``session_id`` was found ended; CursorTooOld when tombstones the sync needs are gone.

    What changed since a cursor is one prepared statement, which also takes the low water, reads
    the purge and checks the session; a full sync is rarer and reads more, with peewee's
    queries, a kind at a time."""
    if cursor is None:
        cursor = Cursor(None, low_water(), FULL_PHASES[0], None)
    elif cursor.phase is None:  # a finished sync's cursor: what changed since (the low water comes below)
        cursor = Cursor(cursor.since, None, INCREMENTAL_PHASES[0], None)
    phases = FULL_PHASES if cursor.since is None else INCREMENTAL_PHASES
    if cursor.since is not None:
        changed = changes_since(user_id, session_id, cursor.since, cursor.phase, cursor.after, limit + 1)
        if changed is None:
            raise SessionEnded()
        water, purged_below, changed = changed
        # Of the same snapshot as the tombstones: a purge that raced them shows here.
        if cursor.phase == 'deletions' and cursor.since < purged_below:
            raise CursorTooOld()
        cursor = cursor._replace(low_water=cursor.low_water if cursor.low_water is not None else water)
    found = {phase: [] for phase in INCREMENTAL_PHASES}
    index, after, room, text = phases.index(cursor.phase), cursor.after, limit, 0
    while index < len(phases) and room:
        if cursor.since is None:
            rows = list(_everything(phases[index], user_id, after, room + 1))
        else:  # each kind read up to the limit, from the cursor's on
            rows = changed[phases[index]]
        fits, text = within_text_max([text_size(row) for row in rows[:room]], text)  # (ANSWER_TEXT_MAX)
        found[phases[index]] += rows[:fits]
        if len(rows) > fits:  # more of this kind than fits
            after = _key(rows[fits - 1], cursor.since) if fits else after
            room = 0
        else:
            room -= len(rows)
            index, after = index + 1, None
    if index == len(phases):
        return found, Cursor(cursor.low_water, None, None, None)
    return found, Cursor(cursor.since, cursor.low_water, phases[index], after)


def _everything(phase, user_id, after, limit):
    """The rows of one kind the user sees, in id order after the id ``after``: their labels,
    bucketlists (with the user's role), items of those (with the user's labels) or their steps,
    read through their indexes."""
    if phase == 'labels':
        model, query = Label, Label.select().where(Label.user == user_id)
    elif phase == 'steps':
        model, query = Step, Step.select().join(Item).join(Bucketlist).where(visible_to(user_id))
    elif phase == 'bucketlists':
        model = Bucketlist
        query = Bucketlist.select(Bucketlist, role_of(user_id).alias('role')).where(visible_to(user_id))
    else:
        model, query = Item, Item.select(Item).join(Bucketlist).where(visible_to(user_id))
    if after is not None:
        query = query.where(model.id > after)
    rows = list(query.order_by(model.id).limit(limit))
    return ItemLabel.put_on(rows, user_id) if model is Item else rows


def _key(row, since):
    return row.id if since is None else [row.version, row.id]


# Who sees a bucketlist, as (user_id, bucketlist_id) rows: its owner and its members.
AUDIENCE = ('SELECT owner_id AS user_id, id AS bucketlist_id FROM bucketlists WHERE id = {p}'
            ' UNION ALL SELECT user_id, bucketlist_id FROM memberships WHERE bucketlist_id = {p}')
# The members of every bucketlist a user owns.
MEMBERS_OF_OWNED = ('SELECT m.user_id, m.bucketlist_id FROM memberships m'
                    ' JOIN bucketlists b ON b.id = m.bucketlist_id WHERE b.owner_id = {p}')
ONE_VIEWER = 'SELECT {p} AS user_id, {p} AS bucketlist_id'
# The audience's parameters come first, then the deletion's time (and an item's id).
TOMBSTONES_OF_LISTS = ('WITH a AS ({audience}) INSERT INTO deletions (user_id, kind, object_id, deleted_at)'
                       " SELECT a.user_id, 'bucketlist', a.bucketlist_id, {p} FROM a"
                       " UNION ALL SELECT a.user_id, 'item', i.id, {p} FROM a"
                       ' JOIN items i ON i.bucketlist_id = a.bucketlist_id')
# The list alone, for one who lost access to it: their client drops it with its items (the items
# are theirs no more wherever they sit; one moved elsewhere that they see is not deleted).
TOMBSTONE_OF_LIST = ('WITH a AS ({audience}) INSERT INTO deletions (user_id, kind, object_id, deleted_at)'
                     " SELECT a.user_id, 'bucketlist', a.bucketlist_id, {p} FROM a")
TOMBSTONES_OF_ITEM = ('WITH a AS ({audience}) INSERT INTO deletions (user_id, kind, object_id, deleted_at)'
                      " SELECT a.user_id, 'item', {p}, {p} FROM a")
TOMBSTONES_OF_STEP = TOMBSTONES_OF_ITEM.replace("'item'", "'step'")


def record_deletion(bucketlist_id, item_id=None):
    """Tombstones, for everyone who sees the bucketlist, of an item about to be deleted, or of
    the bucketlist and each of its items. The items are listed one by one because a client may
    hold one of them under another bucketlist: it was moved in since the client's last sync."""
    now = utcnow()
    if item_id is None:
        _tombstones(TOMBSTONES_OF_LISTS, AUDIENCE, [bucketlist_id, bucketlist_id, now, now], now)
    else:
        _tombstones(TOMBSTONES_OF_ITEM, AUDIENCE, [bucketlist_id, bucketlist_id, item_id, now], now)


def record_step_deletion(bucketlist_id, step_id):
    """Tombstones of a step about to be deleted, for everyone who sees its item's bucketlist. (A
    deleted item takes its steps with it: a client drops them with it.)"""
    now = utcnow()
    _tombstones(TOMBSTONES_OF_STEP, AUDIENCE, [bucketlist_id, bucketlist_id, step_id, now], now)


def record_item_arrival(item_id):
    """An item moved in from another bucketlist: its steps are written again (new versions), so
    that a client which dropped them with the item's tombstone gets them back with it."""
    Step.update(position=Step.position).where(Step.item == item_id).execute()


def record_departure(bucketlist_id, user_id):
    """A member left or was removed: to their sync, the list is deleted, and its items with it
    (one tombstone, however many items: a member added and removed again and again leaves one
    each time, not the list's whole length)."""
    now = utcnow()
    _tombstones(TOMBSTONE_OF_LIST, ONE_VIEWER, [user_id, bucketlist_id, now], now)


def record_owner_leaving(user_id):
    """An account about to be deleted: to its lists' members, those lists are deleted."""
    now = utcnow()
    _tombstones(TOMBSTONES_OF_LISTS, MEMBERS_OF_OWNED, [user_id, now, now], now)


def _tombstones(statement, audience, params, now):
    """Insert the tombstones ``statement`` makes for ``audience``, then purge those past
    SYNC_TOMBSTONE_DAYS (cursors from before a purge are then CursorTooOld)."""
    db.execute_sql(statement.replace('{audience}', audience).format(p=db.param), params)
    cutoff = now - timedelta(days=settings.SYNC_TOMBSTONE_DAYS)
    newest = Deletion.select(fn.MAX(Deletion.version)).where(Deletion.deleted_at < cutoff).scalar()
    if newest is not None:
        Deletion.delete().where(Deletion.deleted_at < cutoff).execute()
        SyncState.update(purged_below=newest + 1).where(SyncState.purged_below < newest + 1).execute()


TOMBSTONE_OF_LABEL = "INSERT INTO deletions (user_id, kind, object_id, deleted_at) SELECT {p}, 'label', {p}, {p}"


def record_label_deletion(user_id, label_id):
    """A label about to be deleted: a tombstone for its account, and its items written again (their
    versions move), whose labels change."""
    now = utcnow()
    _tombstones(TOMBSTONE_OF_LABEL, '', [user_id, label_id, now], now)
    Item.update(position=Item.position).where(
        Item.id.in_(ItemLabel.select(ItemLabel.item).where(ItemLabel.label == label_id))).execute()


def record_sharing(bucketlist_id):
    """A member was added, or a role changed: the list, its items and their steps are written again
    (the triggers give them new versions), so members' next syncs bring them whole, role included."""
    Bucketlist.update(name=Bucketlist.name).where(Bucketlist.id == bucketlist_id).execute()
    Item.update(position=Item.position).where(Item.bucketlist == bucketlist_id).execute()
    Step.update(position=Step.position).where(
        Step.item.in_(Item.select(Item.id).where(Item.bucketlist == bucketlist_id))).execute()
