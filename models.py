"""Peewee models, the queries used in more than one place, and the statements written by hand."""
import hashlib
import re
from collections import namedtuple
from datetime import timedelta

from peewee import (
    AutoField,
    BigIntegerField,
    Case,
    CharField,
    CompositeKey,
    DatabaseError,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    OperationalError,
    PostgresqlDatabase,
    TextField,
    fn,
)

import fields
import settings

# (Some names are here for the modules that import them from models: the routes, the tests.)
from database import (  # noqa: F401
    UNDER_GEVENT,
    answer_within,
    db,
    locked,
    open_database,
    utcnow,
    violated_constraint,
)
from fields import BUCKETLIST_SORTS, EMAIL_MAX_LENGTH, ITEM_SORTS, MAX_ID, NAME_MAX_LENGTH, USER_AGENT_MAX_LENGTH

IDEMPOTENCY_KEY_MAX_LENGTH = 255
THROTTLE_SUBJECT_MAX_LENGTH = 255  # an account's email or a client's address


# Errors of a connection whose prepared statements are gone: invalid_sql_statement_name, and
# feature_not_supported ("cached plan must not change result type").
PREPARED_STATEMENT_LOST = {'26000', '0A000'}


def execute_hot(name, *params):
    """Run the HOT statement ``name`` with ``params``; returns the cursor.

    PostgreSQL runs each as a statement prepared once per connection: planning these short
    queries took it longer than running them.
    """
    if not isinstance(db, PostgresqlDatabase):
        return db.execute_sql(HOT_SQLITE[name], params)
    if settings.DATABASE_POOLER == 'transaction':  # each statement may meet another server connection
        if name in POOLED_READS:
            return call_pooled_read(name, params)
        return db.execute_sql(HOT_PYFORMAT[name], {f'p{number}': value for number, value in enumerate(params, 1)})
    connection = db.connection()
    if name not in connection.prepared:
        db.execute_sql(f'PREPARE {name} AS {HOT[name]}')
        connection.prepared.add(name)
    try:
        return db.execute_sql(HOT_EXECUTE[name], params)
    except DatabaseError as error:
        if getattr(error.__context__, 'pgcode', None) not in PREPARED_STATEMENT_LOST:
            raise
        # The server no longer has this connection's statements (a pooler in transaction mode
        # swapped the connection under us) or can no longer run them (a migration changed the
        # type of a column they return). Drop the connection, so the next request prepares
        # afresh on a new one; this one is a 503 like any other database trouble.
        connection.close()
        raise OperationalError(f'prepared statement {name} is no longer usable') from error


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class User(BaseModel):
    id = AutoField()
    email = CharField(max_length=EMAIL_MAX_LENGTH, unique=True)  # stored lower-cased
    password_hash = TextField()
    date_created = DateTimeField(default=utcnow)
    bucketlist_count = IntegerField(default=0)  # kept by triggers (migration 9): the quota reads it

    class Meta:
        table_name = 'users'


def like_pattern(text):
    """The LIKE pattern of names holding ``text`` (None: any name), lower-cased as the lists compare them."""
    return f'%{escape_like(text.lower())}%' if text else '%'


def item_filters(bucketlist_id, text, done, due_before, due_after):
    """The parameters of the item lists' statements that pick their rows (``_item_lists``)."""
    return [bucketlist_id, like_pattern(text), done, due_before, due_after]


def escape_like(text):
    """``text`` as a LIKE pattern matching itself: % and _ literal (with ESCAPE '\\'), as peewee does."""
    return text.replace('\\', '\\\\').replace('_', '\\_').replace('%', '\\%')


class Bucketlist(BaseModel):
    """The fields a body writes (name, description…) come from ``fields.BUCKETLIST``."""
    id = AutoField()
    owner = ForeignKeyField(User, column_name='owner_id', on_delete='CASCADE', index=False)
    date_created = DateTimeField(default=utcnow)
    date_modified = DateTimeField(default=utcnow)
    version = BigIntegerField(default=0)  # of the write that last changed it (a trigger's: migration 7)
    item_count = IntegerField(default=0)  # kept by triggers (migration 10): a new item's position

    class Meta:
        table_name = 'bucketlists'
        indexes = (
            (('owner', 'name'), True),
            (('owner', 'id'), False),
            (('version', 'id'), False),
        )

    @classmethod
    def seen_by(cls, user_id, bucketlist_id, for_update=False, shared=False, session_id=None):
        """The bucketlist with this id if ``user_id`` owns it or is a member, with their ``role``
        ('owner', 'editor' or 'viewer'); else None. Visibility and role come from the query that
        reads the row, which also finds the access token's session ``session_id`` open (None: an
        API token, looked up already).

        With ``for_update`` the row stays locked until the transaction ends. Every write to a
        bucketlist's items and members takes this lock first, so they take turns: positions stay
        0..n-1, a member removed while writing is removed before or after the write, never
        during it, and no two writers wait on each other's locks in opposite orders. A member's
        role is read again once the lock is held: the first read may predate a change that the
        lock waited for. Writes that move no item take it ``shared``: they go on side by side, and
        still wait for (and hold off) a removal or a move.
        """
        if not 0 < bucketlist_id <= MAX_ID:
            return None
        statement = 'bucketlist_seen' + ('_shared' if shared else '_locked' if for_update else '')
        row = execute_hot(statement, bucketlist_id, user_id, session_id).fetchone()
        if row is None:
            return None
        found = cls.from_row(row)
        if for_update and found.role != 'owner':
            found.role = Membership.role_of(user_id, bucketlist_id)
            if found.role is None:
                return None
        return found

    @classmethod
    def from_row(cls, row):
        """The bucketlist of a row of BUCKETLIST_COLUMNS, with the caller's role after them."""
        to_datetime = cls.date_created.python_value
        # __no_default__: every field is given, so skip computing defaults (two clock reads each).
        bucketlist = cls(__no_default__=True, id=row[0], name=row[1], description=row[2], owner=row[3],
                         date_created=to_datetime(row[4]), date_modified=to_datetime(row[5]))
        bucketlist.role = row[6]
        return bucketlist

    @classmethod
    def page_for(cls, user_id, session_id, role, text, sort, descending, page, limit):
        """(one page of the bucketlists ``user_id`` sees, as BucketlistRows with their ``role``;
        how many there are in all), optionally only those where their role is ``role`` and whose
        names hold ``text``, ignoring case; in ``sort`` order. The page is None when the session
        ``session_id`` has ended (None: an API token, looked up already).

        One prepared statement (HOT) brings the page, the total and the session; only an empty page
        needs a second for the total (and leaves the session to the caller: None)."""
        kind = 'all' if role is None else 'owner' if role == 'owner' else 'shared'
        statement = f'{kind}_searched' if text else kind
        filters = ([role] if kind == 'shared' else []) + ([like_pattern(text)] if text else [])
        rows = execute_hot(f'list_bucketlists_{statement}_{sort}_{"desc" if descending else "asc"}',
                           user_id, limit, (page - 1) * limit, session_id, *filters).fetchall()
        if not rows:
            return None, execute_hot(f'count_bucketlists_{statement}', user_id, *filters).fetchone()[0]
        return [bucketlist_row(row) for row in rows], rows[0][7]

    def save_new(self, most_per_owner, session_id=None):
        """Insert this new bucketlist and take its id, unless its owner already has ``most_per_owner``
        or their session ``session_id`` has ended (None: an API token, looked up already); returns
        whether it did (SQL written once, like the other hot paths)."""
        row = execute_hot('insert_bucketlist', self.name, self.owner_id, self.date_created,
                          self.date_modified, most_per_owner, self.description, session_id).fetchone()
        self.id = row[0] if row else None
        return row is not None

    @classmethod
    def edit_owned(cls, user_id, session_id, bucketlist_id, fields, now):
        """(bucketlist, items) after writing ``fields`` (name, description; those absent stay) and
        ``now`` as date_modified to the bucketlist, if ``user_id`` owns it and their session
        ``session_id`` is open (None: an API token, looked up already); else None.

        One statement on PostgreSQL, the UPDATE in a WITH that the items are read with; SQLite
        has no UPDATE in a WITH, and reads them after."""
        if not 0 < bucketlist_id <= MAX_ID:
            return None
        rows = execute_hot('edit_owned_bucketlist', bucketlist_id, user_id, session_id, fields.get('name'),
                           fields.get('description'), now).fetchall()
        if not rows:
            return None
        if not isinstance(db, PostgresqlDatabase):
            return cls.with_items(user_id, bucketlist_id, None)
        return cls._with_items(rows, bucketlist_id)

    @classmethod
    def with_items(cls, user_id, bucketlist_id, session_id, for_update=False):
        """(BucketlistRow with the user's ``role``, its items in position order) if ``user_id`` owns it
        or is a member and, unless ``session_id`` is None (an API token, checked already), that
        session of theirs is open, else None; one query.

        The items are ItemRows.
        """
        if not 0 < bucketlist_id <= MAX_ID:
            return None
        statement = 'bucketlist_with_items_locked' if for_update else 'bucketlist_with_items'
        rows = execute_hot(statement, bucketlist_id, user_id, session_id).fetchall()
        if not rows:
            return None
        return cls._with_items(rows, bucketlist_id)

    @classmethod
    def _with_items(cls, rows, bucketlist_id):
        """(BucketlistRow, ItemRows) of rows of BUCKETLIST_COLUMNS then ITEM_COLUMNS (NULLs: no item)."""
        return bucketlist_row(rows[0]), [item_row(row[7:], bucketlist_id) for row in rows if row[7] is not None]


# A bucketlist or an item as reads return them: the fields ``bucketlist_json`` and ``item_json``
# show, under the same names. Tuples, not models: the callers only show them, and a model costs
# four times as much to build.
BucketlistRow = namedtuple('BucketlistRow', 'id name description owner_id date_created date_modified role')
ItemRow = namedtuple('ItemRow', 'id name done bucketlist_id date_created date_modified notes due_date done_at position '
                               'created_by_id')
# As a sync reads them: with the version of the write that last changed them, which orders a sync.
SyncedBucketlist = namedtuple('SyncedBucketlist', BucketlistRow._fields + ('version',))
SyncedItem = namedtuple('SyncedItem', ItemRow._fields + ('version',))
DeletionRow = namedtuple('DeletionRow', 'id kind object_id version')


# psycopg2 gives times, dates and booleans as Python's; SQLite gives text and integers, which
# the fields' python_value turn into them.
TIMES_ARRIVE_PARSED = isinstance(db, PostgresqlDatabase)


def bucketlist_row(row):
    """The BucketlistRow of a row of BUCKETLIST_COLUMNS (and any columns after them)."""
    if TIMES_ARRIVE_PARSED:
        return BucketlistRow._make(row[:7])
    to_datetime = Bucketlist.date_created.python_value
    return BucketlistRow(row[0], row[1], row[2], row[3], to_datetime(row[4]), to_datetime(row[5]), row[6])


def item_row(row, bucketlist_id):
    """The ItemRow of a row of ITEM_COLUMNS without bucketlist_id (the caller knows it)."""
    if TIMES_ARRIVE_PARSED:
        return ItemRow(row[0], row[1], row[2], bucketlist_id, *row[3:10])
    to_datetime, to_date = Item.date_created.python_value, Item.due_date.python_value
    return ItemRow(row[0], row[1], bool(row[2]), bucketlist_id, to_datetime(row[3]), to_datetime(row[4]), row[5],
                   to_date(row[6]), to_datetime(row[7]), row[8], row[9])


class Item(BaseModel):
    """The fields a body writes (name, done, notes, due_date…) come from ``fields.ITEM``."""
    id = AutoField()
    bucketlist = ForeignKeyField(Bucketlist, column_name='bucketlist_id', backref='items',
                                 on_delete='CASCADE', index=False)
    date_created = DateTimeField(default=utcnow)
    date_modified = DateTimeField(default=utcnow)
    done_at = DateTimeField(null=True)  # when done last became true; None while not done
    position = IntegerField(default=0)  # 0..n-1 within its bucketlist
    version = BigIntegerField(default=0)
    created_by = ForeignKeyField(User, column_name='created_by', null=True, on_delete='SET NULL', index=False)

    class Meta:
        table_name = 'items'
        indexes = (
            (('bucketlist', 'id'), False),
            (('bucketlist', 'position'), False),
            (('version', 'id'), False),
        )

    @classmethod
    def seen_by(cls, user_id, bucketlist_id, item_id, for_update=False):
        """The item with this id in this bucketlist if ``user_id`` may see the bucketlist, else None.
        With ``for_update``, the caller holds the bucketlist's lock already (``Bucketlist.seen_by``)."""
        if not (0 < bucketlist_id <= MAX_ID and 0 < item_id <= MAX_ID):
            return None
        query = cls.select(cls).where((cls.id == item_id) & (cls.bucketlist == bucketlist_id))
        if for_update:
            return locked(query).get_or_none()
        return query.join(Bucketlist).where(seen(user_id)).get_or_none()

    @classmethod
    def add(cls, bucketlist_id, fields, now, most_per_bucketlist, created_by):
        """A new item at the end of the bucketlist, unless it already holds ``most_per_bucketlist``
        (then None). The caller holds the bucketlist's lock (``Bucketlist.seen_by``)."""
        return cls._insert('insert_item', bucketlist_id, fields, now, most_per_bucketlist, created_by)

    @classmethod
    def add_as_owner(cls, bucketlist_id, fields, now, most_per_bucketlist, owner_id, session_id):
        """A new item at the end of the bucketlist if ``owner_id`` owns it, their session
        ``session_id`` is open (None: an API token, looked up already) and it holds fewer than
        ``most_per_bucketlist`` items; else None, and the caller finds out which. One statement:
        it locks the list's row and takes the position from the count kept on it (migration 10)."""
        if not 0 < bucketlist_id <= MAX_ID:
            return None
        return cls._insert('insert_item_as_owner', bucketlist_id, fields, now, most_per_bucketlist, owner_id,
                           session_id)

    @classmethod
    def _insert(cls, statement, bucketlist_id, fields, now, most_per_bucketlist, created_by, *more_params):
        done = fields.get('done', False)
        item = cls(__no_default__=True, name=fields['name'], done=done, bucketlist=bucketlist_id,
                   date_created=now, date_modified=now, notes=fields.get('notes', ''),
                   due_date=fields.get('due_date'), done_at=now if done else None, created_by=created_by)
        row = execute_hot(statement, item.name, done, bucketlist_id, now, most_per_bucketlist, item.notes,
                          item.due_date, item.done_at, created_by, *more_params).fetchone()
        if row is None:
            return None
        item.id, item.position = row
        return item

    @classmethod
    def page_of(cls, user_id, session_id, bucketlist_id, text, done, due_before, due_after, sort, descending,
                page, limit):
        """(one page of the bucketlist's items, as ItemRows; how many match in all): those whose
        names hold ``text`` (ignoring case), done or not, due on or before or after a date (None:
        any), in ``sort`` order with nulls last.

        One prepared statement (HOT) brings the page and the total, if ``user_id`` may see the
        bucketlist and their session ``session_id`` is open (None: an API token, looked up
        already). An empty page is (None, None): the caller finds out why."""
        if not 0 < bucketlist_id <= MAX_ID:
            return None, None
        params = item_filters(bucketlist_id, text, done, due_before, due_after)
        rows = execute_hot(f'list_items_{sort}_{"desc" if descending else "asc"}',
                           *params, limit, (page - 1) * limit, user_id, session_id).fetchall()
        if not rows:
            return None, None
        return [item_row(row, bucketlist_id) for row in rows], rows[0][10]

    @classmethod
    def count_of(cls, bucketlist_id, text, done, due_before, due_after):
        return execute_hot('count_items', *item_filters(bucketlist_id, text, done, due_before, due_after)).fetchone()[0]

    @classmethod
    def write(cls, bucketlist_id, item_id, fields, now, owner_id=None, session_id=None):
        """Write ``fields`` (name, done, notes, due_date; those absent stay) to the item and return
        its new ItemRow, or None if it is not in this bucketlist (any more) or, given
        ``owner_id``, the bucketlist is not theirs or their session ``session_id`` has ended
        (None: an API token, looked up already). ``done_at`` follows ``done`` in the same
        statement, from the row as it is when written: two writers racing cannot leave an item
        not done with a done_at, or done without one."""
        if not (0 < bucketlist_id <= MAX_ID and 0 < item_id <= MAX_ID):
            return None
        row = execute_hot('update_item', item_id, bucketlist_id, fields.get('name'), fields.get('done'),
                          fields.get('notes'), 'due_date' in fields, fields.get('due_date'), now, owner_id,
                          session_id).fetchone()
        return row and item_row(row, bucketlist_id)

    @classmethod
    def shift(cls, bucketlist_id, start, by):
        """Move the positions from ``start`` on by ``by``: opening a gap (+1) or closing one (-1)."""
        cls.update(position=cls.position + by).where((cls.bucketlist == bucketlist_id)
                                                     & (cls.position >= start)).execute()

    @classmethod
    def count_in(cls, bucketlist_id):
        return cls.select().where(cls.bucketlist == bucketlist_id).count()


def add_declared_columns(model, declared):
    """Give ``model`` the columns of the fields bodies write (``fields.columns``), in their order."""
    for name, column in fields.columns(declared).items():
        model._meta.add_field(name, column)


add_declared_columns(Bucketlist, fields.BUCKETLIST)
add_declared_columns(Item, fields.ITEM)


class Session(BaseModel):
    """A login, kept going by refresh tokens until it is ended, unused for REFRESH_TOKEN_TTL_SECONDS
    or SESSION_MAX_AGE_SECONDS old. Its access tokens name it (their ``sid``) and are refused once
    its row is gone: ending a session deletes it, on every instance at once."""
    id = AutoField()
    user = ForeignKeyField(User, column_name='user_id', on_delete='CASCADE', index=False)
    date_created = DateTimeField(default=utcnow)
    last_used = DateTimeField(default=utcnow)
    expires_at = DateTimeField()  # the absolute lifetime: no refresh goes past it
    user_agent = CharField(max_length=USER_AGENT_MAX_LENGTH, default='')

    class Meta:
        table_name = 'sessions'
        indexes = (
            (('user', 'id'), False),
        )

    @classmethod
    def is_open(cls, session_id, user_id):
        return execute_hot('session_open', session_id, user_id).fetchone() is not None

    @classmethod
    def is_alive(cls, now):
        """Not past its absolute lifetime, and its refresh token not expired unused (each is issued
        at the session's last_used and lasts REFRESH_TOKEN_TTL_SECONDS)."""
        return (cls.expires_at > now) & (cls.last_used > now - timedelta(seconds=settings.REFRESH_TOKEN_TTL_SECONDS))


class RefreshToken(BaseModel):
    """A refresh token of a session, by its SHA-256 (the token itself is 256 random bits, so a
    fast hash is enough). Used ones are kept until they expire: presenting one again is reuse."""
    token_hash = CharField(max_length=64, primary_key=True)
    session = ForeignKeyField(Session, column_name='session_id', on_delete='CASCADE', index=True)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)  # when it was exchanged for the next one
    parent_hash = CharField(max_length=64, null=True)  # the token it was given for (None: a login's)

    class Meta:
        table_name = 'refresh_tokens'


class ApiToken(BaseModel):
    """A long-lived token for a script, by its SHA-256; ``scope`` 'read' or 'write'."""
    id = AutoField()
    user = ForeignKeyField(User, column_name='user_id', on_delete='CASCADE', index=False)
    name = CharField(max_length=NAME_MAX_LENGTH)
    scope = CharField(max_length=5)
    token_hash = CharField(max_length=64, unique=True)
    date_created = DateTimeField(default=utcnow)
    expires_at = DateTimeField(null=True)  # None: until revoked
    last_used = DateTimeField(null=True)

    class Meta:
        table_name = 'api_tokens'
        indexes = (
            (('user', 'id'), False),
        )

    @classmethod
    def holder(cls, token_hash, now):
        """(id, user id, scope) of the unexpired token with this hash, or None."""
        return execute_hot('api_token', token_hash, now).fetchone()


class Deletion(BaseModel):
    """A tombstone: a bucketlist or an item gone from ``user``'s view (deleted, or the user left or
    was removed from its list), for their /sync; kept SYNC_TOMBSTONE_DAYS."""
    id = AutoField()
    user = ForeignKeyField(User, column_name='user_id', on_delete='CASCADE', index=False)
    kind = CharField(max_length=16)  # 'bucketlist' or 'item'
    object_id = IntegerField()
    version = BigIntegerField(default=0)
    deleted_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = 'deletions'
        indexes = (
            (('user', 'version', 'id'), False),
        )


class Membership(BaseModel):
    """A user sharing a bucketlist they do not own, as a 'viewer' or an 'editor'."""
    bucketlist = ForeignKeyField(Bucketlist, column_name='bucketlist_id', on_delete='CASCADE', index=False)
    user = ForeignKeyField(User, column_name='user_id', on_delete='CASCADE', index=False)
    role = CharField(max_length=6)
    date_added = DateTimeField(default=utcnow)

    class Meta:
        table_name = 'memberships'
        primary_key = CompositeKey('bucketlist', 'user')
        indexes = (
            (('user', 'bucketlist'), False),
        )

    @classmethod
    def role_of(cls, user_id, bucketlist_id):
        return cls.select(cls.role).where((cls.bucketlist == bucketlist_id) & (cls.user == user_id)).scalar()


def visible_ids(user_id):
    """The ids of the bucketlists ``user_id`` may see: their own and those shared with them (each
    branch read through its own index, however many bucketlists the table holds)."""
    return (Bucketlist.select(Bucketlist.id).where(Bucketlist.owner == user_id)
            + Membership.select(Membership.bucketlist).where(Membership.user == user_id))


def visible_to(user_id):
    return Bucketlist.id.in_(visible_ids(user_id))


def seen(user_id):
    """True for a bucketlist row the user owns or is a member of: for a query that has narrowed its
    rows already (by id, by version), where a check per row beats reading all the user's ids."""
    return (Bucketlist.owner == user_id) | fn.EXISTS(
        Membership.select(Membership.role).where((Membership.bucketlist == Bucketlist.id)
                                                 & (Membership.user == user_id)))


def role_of(user_id):
    """The user's role in the bucketlist of the row at hand, in SQL: 'owner', their membership's
    role, or NULL."""
    return Case(None, [(Bucketlist.owner == user_id, 'owner')],
                Membership.select(Membership.role).where((Membership.bucketlist == Bucketlist.id)
                                                         & (Membership.user == user_id)))


class SyncState(BaseModel):
    """One row: SQLite's version counter, and the versions below which tombstones were purged."""
    id = IntegerField(primary_key=True)
    next_version = BigIntegerField()
    purged_below = BigIntegerField()

    class Meta:
        table_name = 'sync_state'


# What a sync reads when something changed since its cursor: one prepared statement (HOT).
SYNC_PARTS = ('deletions', 'bucketlists', 'items')


def changes_since(user_id, session_id, since, part, after, limit):
    """(low water, purged_below, {'deletions': DeletionRows, 'bucketlists': SyncedBucketlists,
    'items': SyncedItems}) of the user's rows with versions from ``since``, at most ``limit`` of
    each kind, from the kind ``part`` on (``SYNC_PARTS``) and, in that kind, after the key
    ``after`` ((version, id) or None): all of one snapshot, which the low water and the purge
    are of too. None when the access token's session ``session_id`` has ended (None: an API
    token, looked up already)."""
    rows = execute_hot('sync_changes', since, user_id, *(after or (None, None)), limit, session_id,
                       SYNC_PARTS.index(part)).fetchall()
    if not rows:
        return None
    found = {kind: [] for kind in SYNC_PARTS}
    for row in rows[1:]:  # in order of part, version, id
        kind, version, row_id = SYNC_PARTS[row[0]], row[1], row[2]
        values = row[SYNC_COLUMNS[kind]]
        if kind == 'deletions':
            found[kind].append(DeletionRow(row_id, *values, version))
        elif kind == 'bucketlists':
            found[kind].append(SyncedBucketlist(*bucketlist_row((row_id, *values)), version))
        else:
            found[kind].append(SyncedItem(*item_row((row_id, *values[:-1]), values[-1]), version))
    state = rows[0][SYNC_COLUMNS['state']]
    return state[0], state[1], found


class IdempotencyKey(BaseModel):
    """The first answer to a POST sent with an Idempotency-Key, replayed to its retries."""
    id = AutoField()
    owner = ForeignKeyField(User, column_name='owner_id', on_delete='CASCADE', index=False)
    key = CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    fingerprint = CharField(max_length=64)  # sha256 of method, path and body
    status = IntegerField(null=True)
    body = TextField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        table_name = 'idempotency_keys'
        indexes = (
            (('owner', 'key'), True),
        )

    @classmethod
    def forget_older_than(cls, owner_id, moment):
        cls.delete().where((cls.owner == owner_id) & (cls.created_at < moment)).execute()


class ThrottleEvent(BaseModel):
    """A login failure or a registration, counted per account or client address over a window."""
    id = AutoField()
    kind = CharField(max_length=32)
    subject = CharField(max_length=THROTTLE_SUBJECT_MAX_LENGTH)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = 'throttle_events'
        indexes = (
            (('kind', 'subject', 'created_at'), False),
        )

    @classmethod
    def recent(cls, kind, subject, since, limit):
        """The newest ``limit`` events of this kind and subject since ``since``, newest first."""
        return (cls.select(cls.created_at)
                .where((cls.kind == kind) & (cls.subject == subject) & (cls.created_at > since))
                .order_by(cls.created_at.desc()).limit(limit))

    @classmethod
    def record(cls, limits, now):
        """Count one event against each (kind, subject, limit, window), dropping expired ones;
        returns the new events' ids."""
        event_ids = []
        for kind, subject, _, window in limits:
            cls.delete().where((cls.kind == kind) & (cls.subject == subject)
                               & (cls.created_at <= now - window)).execute()
            event_ids.append(cls.insert(kind=kind, subject=subject, created_at=now).execute())
        return event_ids

    @classmethod
    def forget_events(cls, event_ids):
        cls.delete().where(cls.id.in_(event_ids)).execute()

    @classmethod
    def forget(cls, kind, subject):
        cls.delete().where((cls.kind == kind) & (cls.subject == subject)).execute()


# The busiest statements, written once instead of built by peewee on every request (building
# them took longer than PostgreSQL took to run them). Parameters are numbered: $1 on
# PostgreSQL, ?1 on SQLite. The bucketlist reads also check the access token's session (its
# sid, $3; NULL for an API token, which was looked up already), so that a GET is one round
# trip; on a miss, ``session_open`` tells 401 from 404.
def seen_sql(user):
    """SQL: the bucketlist row ``b`` is the user's (``user``: a parameter such as $2) or shared with them."""
    return (f'(b.owner_id = {user} OR EXISTS'
            f' (SELECT 1 FROM memberships m WHERE m.bucketlist_id = b.id AND m.user_id = {user}))')


def session_open_sql(session, user):
    """SQL: the access token's session is open, or ``session`` is NULL (an API token, looked up already)."""
    return (f'({session}::integer IS NULL OR EXISTS'
            f' (SELECT 1 FROM sessions s WHERE s.id = {session} AND s.user_id = {user}))')


# The caller's role in the bucketlist ``b`` they see, with $2 the caller.
ROLE_OF_B = ("CASE WHEN b.owner_id = $2 THEN 'owner' ELSE"
             ' (SELECT m.role FROM memberships m WHERE m.bucketlist_id = b.id AND m.user_id = $2) END')
BUCKETLIST_COLUMNS = f'b.id, b.name, b.description, b.owner_id, b.date_created, b.date_modified, {ROLE_OF_B}'
# An item's columns, in ItemRow's order without bucketlist_id; and as those of items ``i``.
ITEM_COLUMN_TYPES = [('id', 'integer'), ('name', 'varchar'), ('done', 'boolean'), ('date_created', 'timestamp'),
                     ('date_modified', 'timestamp'), ('notes', 'text'), ('due_date', 'date'),
                     ('done_at', 'timestamp'), ('position', 'integer'), ('created_by', 'integer')]
ITEM_COLUMNS = ', '.join(column for column, _ in ITEM_COLUMN_TYPES)
ITEM_COLUMNS_OF_I = ', '.join(f'i.{column}' for column, _ in ITEM_COLUMN_TYPES)

HOT = {
    # Parameters: the bucketlist, the user, the session.
    'bucketlist_seen': f'SELECT {BUCKETLIST_COLUMNS} FROM bucketlists b WHERE b.id = $1 AND {seen_sql("$2")}'
                       f' AND {session_open_sql("$3", "$2")}',
    'bucketlist_with_items': (
        f'SELECT {BUCKETLIST_COLUMNS}, {ITEM_COLUMNS_OF_I}'
        ' FROM bucketlists b LEFT JOIN items i ON i.bucketlist_id = b.id'
        f' WHERE b.id = $1 AND {seen_sql("$2")} AND {session_open_sql("$3", "$2")}'
        ' ORDER BY i.position, i.id'),
    # Parameters: the item, the bucketlist, name, done, notes (each NULL to keep), whether to set
    # due_date, due_date, now, the owner the bucketlist must have and their session (NULLs when
    # the caller checked both already).
    'update_item': ('UPDATE items SET name = COALESCE($3, name), done = COALESCE($4::boolean, done),'
                    ' notes = COALESCE($5, notes), due_date = CASE WHEN $6::boolean THEN $7::date ELSE due_date END,'
                    ' done_at = CASE WHEN $4::boolean IS NULL OR $4::boolean = done THEN done_at'
                    ' WHEN $4::boolean THEN $8::timestamp END, date_modified = $8::timestamp'
                    ' WHERE id = $1 AND bucketlist_id = $2'
                    ' AND ($9::integer IS NULL'
                    ' OR EXISTS (SELECT 1 FROM bucketlists b WHERE b.id = $2 AND b.owner_id = $9))'
                    f' AND {session_open_sql("$10", "$9")} RETURNING {ITEM_COLUMNS}'),
    # A session ends by its row's deletion: logout, reuse of a refresh token, a password change,
    # the account's deletion (ON DELETE CASCADE).
    'session_open': 'SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2',
    'api_token': ('SELECT id, user_id, scope FROM api_tokens'
                  ' WHERE token_hash = $1 AND (expires_at IS NULL OR expires_at > $2)'),
    # Each insert refuses to pass its quota in the same statement; a new item goes last. The
    # owner's row is locked before its count is read: racing creates take turns and each reads
    # the count the last one left (the statement's snapshot would not), and the lock the foreign
    # key then takes on that row is one the transaction already holds, so PostgreSQL records no
    # second locker (a multixact) for it: 40 % more creates a second for one account in pgbench.
    'insert_bucketlist': ('INSERT INTO bucketlists (name, description, owner_id, date_created, date_modified)'
                          ' SELECT $1, $6, $2, $3, $4'
                          ' WHERE (SELECT bucketlist_count FROM users WHERE id = $2'
                          f'{" FOR NO KEY UPDATE" if db.for_update else ""}) < $5'
                          f' AND {session_open_sql("$7", "$2")} RETURNING id'),
    # (The caller holds the list's lock, so this statement reads the count the last writer left.)
    'insert_item': ('INSERT INTO items (name, done, bucketlist_id, date_created, date_modified, notes, due_date,'
                    ' done_at, position, created_by)'
                    ' SELECT $1, $2, b.id, $4, $4, $6, $7, $8, b.item_count, $9 FROM bucketlists b'
                    ' WHERE b.id = $3 AND b.item_count < $5 RETURNING id, position'),
}


def _bucketlist_lists():
    """The statements of GET /bucketlists/: a page with the total, and the total alone (for an
    empty page), for each role filter (all, the caller's own, those shared with them in a role),
    with or without a search, and for each order. A page is the caller's own UNION ALL those
    shared with them, each branch read through its own index.

    Without a search, the total of all or of their own lists is the count the triggers keep on
    the account (migration 9) plus their memberships, so a page reads only what it shows; with
    one, the rows that match are counted (``count(*) OVER ()``). Parameters of a page: the user,
    limit, offset, the access token's session, then the role (shared only) and the LIKE pattern
    of the name (searched only); of a total: the user, then the role and the pattern as well."""
    statements = {}
    for kind in ('all', 'owner', 'shared'):
        for searched in (False, True):
            suffix = '_searched' if searched else ''
            rows = _listed_bucketlists(kind, searched, first_param=2)
            counted = ' + '.join(f'(SELECT count(*) FROM ({part}) AS counted)' for part in rows.split(' UNION ALL '))
            statements[f'count_bucketlists_{kind}{suffix}'] = f'SELECT {counted}'
            rows = _listed_bucketlists(kind, searched, first_param=5)
            counts_rows = searched or kind == 'shared'  # the total counts the rows read: none may be cut
            total = 'count(*) OVER ()' if counts_rows else OWNED_COUNT + (
                ' + (SELECT count(*) FROM memberships m WHERE m.user_id = $1)' if kind == 'all' else '')
            for sort in BUCKETLIST_SORTS:
                for direction in ('ASC', 'DESC'):
                    order = 'id' if sort == 'id' else f'{sort} {direction}, id'
                    listed = (_first_of_each(rows, sort, direction) if kind == 'all' and not counts_rows
                              and sort in OWNED_IN_ORDER else rows)
                    statements[f'list_bucketlists_{kind}{suffix}_{sort}_{direction.lower()}'] = (
                        f'SELECT *, {total} FROM ({listed}) AS listed WHERE {session_open_sql("$4", "$1")}'
                        f' ORDER BY {order} {direction} LIMIT $2 OFFSET $3')
    return statements


# The orders in which an index (owner_id, id or name) gives the caller's own lists.
OWNED_IN_ORDER = ('id', 'name')


def _first_of_each(rows, sort, direction):
    """``rows``' branches, own and shared, each cut to its first limit + offset ($2 + $3) rows in
    the page's order. PostgreSQL then reads the caller's own lists through the index that has them
    in that order and stops, where its general plan for the whole read all of them and sorted them
    (a first page of 500: 0.24 ms, now 0.06). Only for totals counted without the window, and
    orders an index gives: deep pages sorted otherwise took a quarter longer cut."""
    order = f'b.id {direction}' if sort == 'id' else f'b.{sort} {direction}, b.id {direction}'
    return ' UNION ALL '.join(f'SELECT * FROM ({branch} ORDER BY {order} LIMIT $2::bigint + $3::bigint) AS {name}'
                              for name, branch in zip(('owned', 'shared'), rows.split(' UNION ALL '), strict=True))


OWNED_COUNT = '(SELECT u.bucketlist_count FROM users u WHERE u.id = $1)'


def _listed_bucketlists(kind, searched, first_param):
    """The rows of ``_bucketlist_lists``: ``$1`` is the user; the role (shared only) and the LIKE
    pattern (searched only) are the parameters from ``first_param`` on."""
    columns = 'b.id, b.name, b.description, b.owner_id, b.date_created, b.date_modified'
    role_param, pattern_param = first_param, first_param + (kind == 'shared')
    name_matches = f" AND lower(b.name) LIKE ${pattern_param} ESCAPE '\\'" if searched else ''
    owned = f"SELECT {columns}, 'owner' AS role FROM bucketlists b WHERE b.owner_id = $1{name_matches}"
    shared = (f'SELECT {columns}, m.role FROM memberships m JOIN bucketlists b ON b.id = m.bucketlist_id'
              f' WHERE m.user_id = $1{name_matches}')
    return {'all': f'{owned} UNION ALL {shared}', 'owner': owned,
            'shared': f'{shared} AND m.role = ${role_param}'}[kind]


def _item_lists():
    """The statements of GET /bucketlists/<id>/items/: a page with the total, for each order, and
    the count alone (for an empty page). Parameters: the bucketlist, the LIKE pattern of the name,
    done, due before, due after (each NULL for no filter), then limit and offset, the user (who
    must see the bucketlist) and the access token's session."""
    where = ("FROM items i WHERE i.bucketlist_id = $1 AND lower(i.name) LIKE $2 ESCAPE '\\'"
             ' AND ($3::boolean IS NULL OR i.done = $3) AND ($4::date IS NULL OR i.due_date <= $4)'
             ' AND ($5::date IS NULL OR i.due_date >= $5)')
    statements = {'count_items': f'SELECT count(*) {where}'}
    for sort in ITEM_SORTS:
        for direction in ('ASC', 'DESC'):
            statements[f'list_items_{sort}_{direction.lower()}'] = (
                f'SELECT {ITEM_COLUMNS_OF_I}, count(*) OVER () {where}'
                f' AND EXISTS (SELECT 1 FROM bucketlists b WHERE b.id = $1 AND {seen_sql("$8")})'
                f' AND {session_open_sql("$9", "$8")}'
                f' ORDER BY i.{sort} {direction} NULLS LAST, i.id {direction} LIMIT $6 OFFSET $7')
    return statements


HOT.update(_bucketlist_lists())
HOT.update(_item_lists())
# Parameters: the bucketlist, the owner, the session, name and description (NULL: as they are), now.
EDITED_BUCKETLIST = ('UPDATE bucketlists SET name = COALESCE($4, name), description = COALESCE($5, description),'
                     ' date_modified = $6::timestamp'
                     f' WHERE id = $1 AND owner_id = $2 AND {session_open_sql("$3", "$2")}')
HOT['edit_owned_bucketlist'] = (
    f'WITH b AS ({EDITED_BUCKETLIST} RETURNING *) SELECT {BUCKETLIST_COLUMNS}, {ITEM_COLUMNS_OF_I}'
    ' FROM b LEFT JOIN items i ON i.bucketlist_id = b.id ORDER BY i.position, i.id')
LOW_WATER = ('pg_snapshot_xmin(pg_current_snapshot())::text::bigint' if isinstance(db, PostgresqlDatabase)
             else 's.next_version')  # what sync.low_water reads, in SQL


def _sync_changes():
    """The statement of ``changes_since``. Its rows: the sync state's (the low water and the
    purge), then the tombstones, bucketlists and items, at most $5 of each, in order. Every row
    starts with its part (-1 for the state, else the index in SYNC_PARTS), version and id, then
    has a column for each value of every part (SYNC_COLUMNS), NULL but for its own part's; each
    NULL has its column's type, which PostgreSQL needs to join the parts.
    Parameters: since, the user, after (version and id, or NULLs), the limit, the session, the
    part the cursor is in (the parts before it are done; ``after`` is a key in it)."""
    parts = {  # each part's values after part, version and id: their SQL and type
        'state': [(LOW_WATER, 'bigint'), ('s.purged_below', 'bigint')],
        'deletions': [('d.kind', 'varchar'), ('d.object_id', 'integer')],
        'bucketlists': [('b.name', 'varchar'), ('b.description', 'text'), ('b.owner_id', 'integer'),
                        ('b.date_created', 'timestamp'), ('b.date_modified', 'timestamp'), (ROLE_OF_B, 'varchar')],
        'items': [(f'i.{column}', kind) for column, kind in ITEM_COLUMN_TYPES[1:]] + [('i.bucketlist_id', 'integer')],
    }

    def values(own):
        return ', '.join(sql if kind == own else f'CAST(NULL AS {sql_type})'
                         for kind, columns in parts.items() for sql, sql_type in columns)

    def after(part, table):
        return (f'($3::bigint IS NULL OR $7::integer <> {part}'
                f' OR ({table}.version, {table}.id) > ($3, $4::integer))')
    branches = [
        f"SELECT -1 AS part, CAST(NULL AS bigint) AS version, CAST(NULL AS integer) AS id, {values('state')}"
        ' FROM sync_state s WHERE s.id = 1',
        f"SELECT 0, d.version, d.id, {values('deletions')} FROM deletions d"
        f" WHERE $7::integer <= 0 AND d.user_id = $2 AND d.version >= $1 AND {after(0, 'd')}"
        ' ORDER BY d.version, d.id LIMIT $5',
        f"SELECT 1, b.version, b.id, {values('bucketlists')} FROM bucketlists b"
        f" WHERE $7::integer <= 1 AND b.version >= $1 AND {after(1, 'b')} AND {seen_sql('$2')}"
        ' ORDER BY b.version, b.id LIMIT $5',
        f"SELECT 2, i.version, i.id, {values('items')} FROM items i JOIN bucketlists b ON b.id = i.bucketlist_id"
        f" WHERE $7::integer <= 2 AND i.version >= $1 AND {after(2, 'i')} AND {seen_sql('$2')}"
        ' ORDER BY i.version, i.id LIMIT $5',
    ]
    # Each part in a subquery of its own, for its ORDER BY and LIMIT (SQLite wants it so too).
    joined = ' UNION ALL '.join(f'SELECT * FROM ({branch}) AS part_{n}' for n, branch in enumerate(branches))
    columns, start = {}, 3
    for kind, part_columns in parts.items():
        columns[kind] = slice(start, start + len(part_columns))
        start += len(part_columns)
    return (f'SELECT * FROM ({joined}) AS changed WHERE {session_open_sql("$6", "$2")}'
            ' ORDER BY part, version, id'), columns


HOT['sync_changes'], SYNC_COLUMNS = _sync_changes()
HOT['bucketlist_with_items_locked'] = HOT['bucketlist_with_items'] + (' FOR UPDATE OF b' if db.for_update else '')
HOT['bucketlist_seen_locked'] = HOT['bucketlist_seen'] + (' FOR UPDATE OF b' if db.for_update else '')
HOT['bucketlist_seen_shared'] = HOT['bucketlist_seen'] + (' FOR SHARE OF b' if db.for_update else '')
# Parameters: those of insert_item, the owner as its creator, then the session. Locked, the list's
# row is read as the last writer left it, count included, whatever the statement's snapshot.
HOT['insert_item_as_owner'] = (
    'WITH b AS (SELECT b.id, b.item_count FROM bucketlists b WHERE b.id = $3 AND b.owner_id = $9'
    f' AND {session_open_sql("$10", "$9")}{" FOR UPDATE OF b" if db.for_update else ""})'
    ' INSERT INTO items (name, done, bucketlist_id, date_created, date_modified, notes, due_date, done_at,'
    ' position, created_by) SELECT $1, $2, b.id, $4, $4, $6, $7, $8, b.item_count, $9 FROM b'
    ' WHERE b.item_count < $5 RETURNING id, position')
HOT_SQLITE = {name: re.sub(r'\$(\d+)(::[a-z]+)?', r'?\1', sql)
              for name, sql in dict(HOT, edit_owned_bucketlist=EDITED_BUCKETLIST + ' RETURNING id').items()}
HOT_PYFORMAT = {name: re.sub(r'\$(\d+)', r'%(p\1)s', sql) for name, sql in HOT.items()}
HOT_EXECUTE = {name: f'EXECUTE {name}(' + ', '.join(['%s'] * max(map(int, re.findall(r'\$(\d+)', sql)))) + ')'
               for name, sql in HOT.items()}


# --- Reads behind a pooler in transaction mode ---------------------------------------------------
# There PostgreSQL keeps no prepared statement for us (the next transaction may meet another server
# connection) and plans each statement again: GET one's took 0.11 ms to plan against 0.03 to run,
# and GET one through PgBouncer served 0.68x as many requests as direct. A plpgsql function keeps
# its plans for its server connection, whichever client the pooler deals it to, so `python
# migrations.py` installs each read as one, and the pooled path calls it (0.90-0.94x). Writes stay
# statements: their columns cannot be learnt without running them.

POOLED_READS = {name for name, sql in HOT.items() if sql.startswith('SELECT ')}
# A read's function, but for its parameters and columns. Locking reads must be VOLATILE.
POOLED_FUNCTION = ('LANGUAGE plpgsql {volatility} SET plan_cache_mode = force_generic_plan'  # as PostgresqlPool's
                   ' AS $hot$\n#variable_conflict use_column\nBEGIN RETURN QUERY {sql}; END $hot$')
LOCKING_READ = re.compile(r'\sFOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b', re.IGNORECASE)


def pooled_function_body(name):
    sql = HOT[name]
    return POOLED_FUNCTION.format(volatility='VOLATILE' if LOCKING_READ.search(sql) else 'STABLE', sql=sql)


def pooled_function_name(name):
    """The function of the read ``name``, named for what it runs: a release whose statement
    changed installs its own beside the one the release still running calls."""
    return f'hot_{name[:40].lower()}_{hashlib.sha1(pooled_function_body(name).encode()).hexdigest()[:10]}'


POOLED_FUNCTIONS = {name: pooled_function_name(name) for name in POOLED_READS}  # named once per process


def install_pooled_functions(database):
    """Create the function of every read that has none, or whose function no longer fits it (a
    column's type changed under the same text); returns how many (PostgreSQL only)."""
    installed = _installed_pooled_reads(database)
    replaced = 0
    for name in sorted(POOLED_READS):
        # The prepared statement tells its parameters' types, and run on NULLs with LIMIT 0, its
        # columns', reading no row.
        database.execute_sql(f'PREPARE pooled_probe AS SELECT * FROM ({HOT[name]}) AS probed LIMIT 0')
        (parameters,) = database.execute_sql(
            "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = 'pooled_probe'").fetchone()
        probed = database.execute_sql(f'EXECUTE pooled_probe({", ".join(["NULL"] * len(parameters))})')
        column_oids = [column.type_code for column in probed.description]
        database.execute_sql('DEALLOCATE pooled_probe')
        (columns,) = database.execute_sql(
            "SELECT string_agg('c' || n || ' ' || format_type(oid, NULL), ', ' ORDER BY n)"
            ' FROM unnest(%s::oid[]) WITH ORDINALITY AS c(oid, n)', (column_oids,)).fetchone()
        function, *signature = installed.get(name, (None,))
        if signature == [', '.join(parameters), f'TABLE({columns})']:
            continue
        if function:  # (a function's columns cannot be replaced, only the function)
            database.execute_sql(f'DROP FUNCTION {function}')
        database.execute_sql(f'CREATE FUNCTION {POOLED_FUNCTIONS[name]}({", ".join(parameters)})'
                             f' RETURNS TABLE ({columns}) {pooled_function_body(name)}')
        replaced += 1
    return replaced


def missing_pooled_functions():
    """The reads whose function is not installed, for /readyz (PostgreSQL only)."""
    if not isinstance(db, PostgresqlDatabase):
        return []
    return sorted(POOLED_READS - set(_installed_pooled_reads()))


def _installed_pooled_reads(database=None):
    """{read: (its function as DROP FUNCTION names it, its parameters' types comma-separated, its
    result)} of the reads whose function the database holds."""
    functions = {function: name for name, function in POOLED_FUNCTIONS.items()}
    cursor = (database or db).execute_sql(
        'SELECT proname, oid::regprocedure::text, pg_get_function_identity_arguments(oid),'
        ' pg_get_function_result(oid) FROM pg_proc WHERE proname = ANY(%s) AND pg_function_is_visible(oid)',
        (list(functions),))
    return {functions[function]: signature for function, *signature in cursor}


_pooled_calls = {}  # read → the call of its function, as this process found them installed


def call_pooled_read(name, params):
    """Run the read ``name`` behind a pooler in transaction mode, by its function."""
    if name not in _pooled_calls:  # the process's first pooled read, or one whose function went missing
        for read, (_, types, _) in _installed_pooled_reads().items():
            casts = ', '.join(f'%s::{type_}' for type_ in types.split(', '))
            _pooled_calls[read] = f'SELECT * FROM {POOLED_FUNCTIONS[read]}({casts})'
        if name not in _pooled_calls:
            raise OperationalError(f'no function for the read {name}: run "python migrations.py"')
    try:
        return db.execute_sql(_pooled_calls[name], params)
    except DatabaseError as error:
        # undefined_function: dropped since; datatype_mismatch: a column's type changed under it.
        if getattr(error.__context__, 'pgcode', None) not in ('42883', '42804'):
            raise
        _pooled_calls.clear()
        raise OperationalError(f'the function of the read {name} is gone or no longer fits: '
                               'run "python migrations.py"') from error


MODELS = [User, Bucketlist, Item, Membership, Session, RefreshToken, ApiToken, Deletion, SyncState, IdempotencyKey,
          ThrottleEvent]
