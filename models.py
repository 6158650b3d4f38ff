"""Peewee models: the tables, their columns and constraints, and the queries used in more than one place.

The database handle is database.py's; the statements written by hand for the busiest paths are
sql.py's, which these models' methods run."""
import copy
import json
from datetime import timedelta

from peewee import (
    AutoField,
    BigIntegerField,
    Case,
    CharField,
    CompositeKey,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
    fn,
)
from playhouse.postgres_ext import ArrayField

import fields
import settings
import sql

# (Some names are here for the modules that import them from models: the routes, migrations.py.)
from database import (  # noqa: F401
    ON_POSTGRESQL,
    UNDER_GEVENT,
    answer_within,
    db,
    locked,
    open_database,
    run_session_check,
    utcnow,
    violated_constraint,
)
from fields import EMAIL_MAX_LENGTH, LABEL_NAME_MAX_LENGTH, MAX_ID, USER_AGENT_MAX_LENGTH
from sql import install_pooled_functions, missing_pooled_functions, pooled_function_name  # noqa: F401

IDEMPOTENCY_KEY_MAX_LENGTH = 255
THROTTLE_SUBJECT_MAX_LENGTH = 255  # an account's email or a client's address


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


def stamped_version(model, object_id):
    """The version the triggers stamped on the row ``object_id`` of ``model`` by its last write,
    which the writer shows: a model it saved holds what it was given, and on SQLite a write's
    RETURNING shows the row as it was before the triggers ran."""
    return model.select(model.version).where(model.id == object_id).scalar()


class Versioned(BaseModel):
    """A model whose rows sync and ``if_version`` follow: saved, it reads back its new version."""

    def save(self, *args, **kwargs):
        written = super().save(*args, **kwargs)
        self.version = stamped_version(type(self), self.id)
        return written


class User(BaseModel):
    id = AutoField()
    email = CharField(max_length=EMAIL_MAX_LENGTH, unique=True)  # stored lower-cased
    password_hash = TextField()
    date_created = DateTimeField(default=utcnow)
    bucketlist_count = IntegerField(default=0)  # kept by triggers (migration 9): the quota reads it
    calendar_version = IntegerField(default=0)  # of its calendar feed's secret URL: one more retires it (feeds.py)

    class Meta:
        table_name = 'users'


def like_pattern(text):
    """The LIKE pattern of names holding ``text`` (None: any name), lower-cased as the lists compare them."""
    return f'%{escape_like(text.lower())}%' if text else '%'


def item_filters(bucketlist_id, text, done, due_before, due_after, priority, label):
    """The values of the parameters that pick the items of the item lists' statements (``sql.ITEMS_MATCHING``)."""
    return {'bucketlist_id': bucketlist_id, 'pattern': like_pattern(text), 'done': done, 'due_before': due_before,
            'due_after': due_after, 'priority': priority, 'label': label}


def escape_like(text):
    """``text`` as a LIKE pattern matching itself: % and _ literal (with ESCAPE '\\'), as peewee does."""
    return text.replace('\\', '\\\\').replace('_', '\\_').replace('%', '\\%')


class Bucketlist(Versioned):
    """The fields a body writes (name, description…) come from ``fields.BUCKETLIST``."""
    id = AutoField()
    owner = ForeignKeyField(User, column_name='owner_id', on_delete='CASCADE', index=False)
    date_created = DateTimeField(default=utcnow)
    date_modified = DateTimeField(default=utcnow)
    version = BigIntegerField(default=0)  # of the write that last changed it (a trigger's: migration 7)
    item_count = IntegerField(default=0)  # kept by triggers (migration 10): a new item's position
    if ON_POSTGRESQL:  # who may write its items but the owner, kept by a trigger (migration 11; sql.WRITES_B)
        editor_ids = ArrayField(IntegerField, default=list, index=False)

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
        lock = 'shared' if shared else 'locked' if for_update else ''
        row = sql.one(sql.bucketlist_seen(lock), bucketlist_id=bucketlist_id, user_id=user_id, session_id=session_id)
        if row is None:
            return None
        # __no_default__: every field is given, so skip computing defaults (two clock reads each).
        found = cls(__no_default__=True, **row._asdict())  # (with the caller's role)
        if for_update and found.role != 'owner':
            found.role = Membership.role_of(user_id, bucketlist_id)
            if found.role is None:
                return None
        return found

    @classmethod
    def page_for(cls, user_id, session_id, role, text, sort, descending, page, limit):
        """(one page of the bucketlists ``user_id`` sees, as rows with their ``role``; how many there
        are in all), optionally only those where their role is ``role`` and whose names hold
        ``text``, ignoring case; in ``sort`` order. The page is None when the session
        ``session_id`` has ended (None: an API token, looked up already).

        One prepared statement brings the page, the total and the session; only an empty page
        needs a second for the total."""
        kind = 'all' if role is None else 'owner' if role == 'owner' else 'shared'
        searched = 'searched' if text else ''
        values = {'user_id': user_id, 'session_id': session_id, 'role': role, 'pattern': like_pattern(text),
                  'limit': limit, 'offset': (page - 1) * limit}
        rows = sql.run(sql.list_bucketlists(kind, searched, sort, 'desc' if descending else 'asc'), **values)
        if not rows:
            return None, sql.value(sql.count_bucketlists(kind, searched), **values)
        return rows, rows[0].total

    def save_new(self, most_per_owner, request_id, session_id=None):
        """Insert this new bucketlist and take its id, unless its owner already has ``most_per_owner``
        or their session ``session_id`` has ended (None: an API token, looked up already); returns
        whether it did (SQL written once, like the other hot paths). Its activity entry is of the
        request ``request_id``."""
        written = {name: getattr(self, name) for name in sql.written_fields('bucketlists')}
        values = {'user_id': self.owner_id, 'date_created': self.date_created, 'date_modified': self.date_modified,
                  'most': most_per_owner, 'session_id': session_id, 'now': self.date_created,
                  'request_id': request_id, **written}
        if ON_POSTGRESQL:  # (its activity entry in the same statement)
            row = sql.one(sql.insert_bucketlist(), **values)
            self.version = row and row.version
        else:
            with db.atomic():  # (the version read in it: another writer's may follow its commit)
                row = sql.one(sql.insert_bucketlist(), **values)
                if row is not None:
                    Activity.recorded(values, 'bucketlist.created', row.id, changes={'name': [None, self.name]})
                    self.version = stamped_version(Bucketlist, row.id)
        self.id = row and row.id
        return row is not None

    @classmethod
    def edit_owned(cls, user_id, session_id, bucketlist_id, fields, now, request_id):
        """(bucketlist, items) after writing ``fields`` (name, description…; those absent stay) and
        ``now`` as date_modified to the bucketlist, if ``user_id`` owns it and their session
        ``session_id`` is open (None: an API token, looked up already); else None, which on
        PostgreSQL may also be another write's having come between (the caller writes again,
        holding the list's lock).

        One statement on PostgreSQL, the UPDATE and its activity entry in a WITH that the items
        are read with; SQLite has no UPDATE in a WITH, and reads the changes before and the items
        after."""
        if not 0 < bucketlist_id <= MAX_ID:
            return None
        values = {'bucketlist_id': bucketlist_id, 'user_id': user_id, 'session_id': session_id, 'now': now,
                  'request_id': request_id, **sql.edits('bucketlists', fields)}
        if ON_POSTGRESQL:
            rows = sql.run(sql.edit_owned_bucketlist(), **values)
            return cls._with_items(rows) if rows else None
        with db.atomic():
            change = sql.one(sql.bucketlist_change(), **values)
            if change is None or not sql.run(sql.edit_owned_bucketlist(), **values):
                return None
            Activity.recorded(values, change.kind, bucketlist_id, changes=change.changes)
        return cls.with_items(user_id, bucketlist_id, None)

    @classmethod
    def with_items(cls, user_id, bucketlist_id, session_id, for_update=False):
        """(the bucketlist with the user's ``role``, its items in position order), as rows, if
        ``user_id`` owns it or is a member and, unless ``session_id`` is None (an API token, checked
        already), that session of theirs is open, else None; one query."""
        if not 0 < bucketlist_id <= MAX_ID:
            return None
        rows = sql.run(sql.bucketlist_with_items('locked' if for_update else ''), bucketlist_id=bucketlist_id,
                       user_id=user_id, session_id=session_id)
        if not rows:
            return None
        return cls._with_items(rows)

    @staticmethod
    def _with_items(rows):
        """(bucketlist, items) of the rows of ``sql.bucketlist_with_items``: the bucketlist's columns
        are the list_… ones, and each row is an item but the one without (id NULL) of an empty list.
        Rows, not models: the callers only show them, and a model costs four times as much to build."""
        return sql.prefixed(rows[0], sql.LIST_PREFIX), [row for row in rows if row.id is not None]


class Item(Versioned):
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
        """The item with this id in this bucketlist, with the ``labels`` of ``user_id`` on it, if they
        may see the bucketlist, else None. With ``for_update``, the caller holds the bucketlist's
        lock already (``Bucketlist.seen_by``)."""
        if not (0 < bucketlist_id <= MAX_ID and 0 < item_id <= MAX_ID):
            return None
        query = cls.select(cls).where((cls.id == item_id) & (cls.bucketlist == bucketlist_id))
        if for_update:
            found = locked(query).get_or_none()
        else:
            found = query.join(Bucketlist).where(seen(user_id)).get_or_none()
        return found and ItemLabel.put_on([found], user_id)[0]

    @classmethod
    def add(cls, bucketlist_id, fields, now, most_per_bucketlist, user_id, session_id, request_id):
        """A new item (as a row) at the end of the bucketlist if ``user_id`` may write its items,
        their session ``session_id`` is open (None: an API token, looked up already) and it holds
        fewer than ``most_per_bucketlist`` items; else None, and the caller finds out which. One
        statement on PostgreSQL, its activity entry (and, done, its completion) included: it locks
        the list's row and takes the position from the count kept on it (migration 10)."""
        if not 0 < bucketlist_id <= MAX_ID:
            return None
        written = sql.inserted('items', fields)  # (the fields' defaults for those absent)
        values = {'bucketlist_id': bucketlist_id, 'now': now, 'done_at': now if written['done'] else None,
                  'most': most_per_bucketlist, 'user_id': user_id, 'session_id': session_id,
                  'request_id': request_id, **written}
        if ON_POSTGRESQL:
            return sql.one(sql.insert_item(), **values)
        with db.atomic():
            item = sql.one(sql.insert_item(), **values)
            if item is not None:
                Activity.recorded(values, 'item.created', bucketlist_id, item.id, changes={'name': [None, item.name]},
                                  completed=item.done and item.name)
                item = item._replace(version=stamped_version(Item, item.id))  # (in the transaction, as save_new's)
        return item

    @classmethod
    def page_of(cls, user_id, session_id, bucketlist_id, text, done, due_before, due_after, priority, label, sort,
                descending, page, limit):
        """(one page of the bucketlist's items, as rows; how many match in all): those whose names
        hold ``text`` (ignoring case), done or not, due on or before or after a date, of a priority,
        with one of ``user_id``'s labels (each None: any), in ``sort`` order with nulls last.

        One prepared statement brings the page and the total, if ``user_id`` may see the
        bucketlist and their session ``session_id`` is open (None: an API token, looked up
        already). An empty page is (None, None): the caller finds out why."""
        if not 0 < bucketlist_id <= MAX_ID:
            return None, None
        rows = sql.run(sql.list_items(sort, 'desc' if descending else 'asc'),
                       **item_filters(bucketlist_id, text, done, due_before, due_after, priority, label),
                       limit=limit, offset=(page - 1) * limit, user_id=user_id, session_id=session_id)
        if not rows:
            return None, None
        return rows, rows[0].total

    @classmethod
    def page_across(cls, user_id, session_id, filters, window, sort, descending, page, limit):
        """(one page of the items of every bucketlist ``user_id`` sees, as rows; how many match in
        all), as ``page_of`` picks them (``filters``: its text, done, due_before, due_after, priority
        and label) and due in ``window`` (``sql.EVERY_ITEM_MATCHING``'s due_… values). An empty page's
        total is counted apart; its page is None if the session ``session_id`` has ended."""
        values = {**item_filters(None, *filters), **window, 'user_id': user_id}
        rows = sql.run(sql.list_every_item(sort, 'desc' if descending else 'asc'), **values, session_id=session_id,
                       limit=limit, offset=(page - 1) * limit)
        if not rows:
            return None, sql.value(sql.count_every_item(), **values)
        return rows, rows[0].total

    @classmethod
    def count_of(cls, user_id, bucketlist_id, text, done, due_before, due_after, priority, label):
        return sql.value(sql.count_items(), user_id=user_id,
                         **item_filters(bucketlist_id, text, done, due_before, due_after, priority, label))

    @classmethod
    def write(cls, bucketlist_id, item_id, fields, now, user_id, session_id, request_id, planned=False):
        """Write ``fields`` (name, done, notes, due_date…; those absent stay) to the item and return
        its new row, or None if it is not in this bucketlist (any more), ``user_id`` may not write
        its items or their session ``session_id`` has ended (None: an API token, looked up
        already), ``fields`` tick a recurring item done and were not ``planned`` from its stored
        row, or (PostgreSQL) another write came between (the caller writes again, holding the
        item's lock). ``done_at`` follows ``done``, and the activity entry and a completion are
        written, in the same statement (``sql.update_item``); SQLite reads the changes before."""
        if not (0 < bucketlist_id <= MAX_ID and 0 < item_id <= MAX_ID):
            return None
        values = {'item_id': item_id, 'bucketlist_id': bucketlist_id, 'now': now, 'user_id': user_id,
                  'session_id': session_id, 'planned': planned, 'request_id': request_id,
                  **sql.edits('items', fields)}
        if ON_POSTGRESQL:
            return sql.one(sql.update_item(), **values)
        with db.atomic():
            change = sql.one(sql.item_change(), **values)
            item = change and sql.one(sql.update_item(), **values)
            if item is not None:
                Activity.recorded(values, change.kind, bucketlist_id, item_id, changes=change.changes,
                                  completed=change.kind == 'item.completed' and item.name)
                item = item._replace(version=stamped_version(Item, item_id))  # (in the transaction, as save_new's)
        return item

    @classmethod
    def shift(cls, bucketlist_id, start, by):
        """Move the positions from ``start`` on by ``by``: opening a gap (+1) or closing one (-1)."""
        cls.update(position=cls.position + by).where((cls.bucketlist == bucketlist_id)
                                                     & (cls.position >= start)).execute()

    @classmethod
    def count_in(cls, bucketlist_id):
        return cls.select().where(cls.bucketlist == bucketlist_id).count()


class Step(Versioned):
    """One of an item's ordered steps, a checklist (its ``name`` and ``done`` come from ``fields.STEP``)."""
    id = AutoField()
    item = ForeignKeyField(Item, column_name='item_id', on_delete='CASCADE', index=False)
    position = IntegerField(default=0)  # 0..n-1 within its item
    date_created = DateTimeField(default=utcnow)
    date_modified = DateTimeField(default=utcnow)
    version = BigIntegerField(default=0)  # of the write that last changed it (a trigger's: migration 19)

    class Meta:
        table_name = 'steps'
        indexes = (
            (('item', 'position'), False),
            (('version', 'id'), False),
        )

    @classmethod
    def of(cls, item_id):
        return list(cls.select().where(cls.item == item_id).order_by(cls.position, cls.id))

    @classmethod
    def shift(cls, item_id, start, by):
        """Move the positions from ``start`` on by ``by``: opening a gap (+1) or closing one (-1)."""
        cls.update(position=cls.position + by).where((cls.item == item_id) & (cls.position >= start)).execute()


class Label(Versioned):
    """An account's label, which it puts on the items it sees (its ``name`` and ``colour`` come from
    ``fields.LABEL``)."""
    id = AutoField()
    user = ForeignKeyField(User, column_name='user_id', on_delete='CASCADE', index=False)
    # The name case-folded (Straße: strasse), unique per account; folding makes a name at most 3x longer.
    name_key = CharField(max_length=3 * LABEL_NAME_MAX_LENGTH)
    date_created = DateTimeField(default=utcnow)
    date_modified = DateTimeField(default=utcnow)
    version = BigIntegerField(default=0)  # of the write that last changed it (a trigger's: migration 17)

    class Meta:
        table_name = 'labels'
        indexes = (
            (('user', 'name_key'), True),
            (('user', 'version', 'id'), False),
        )


class ItemLabel(BaseModel):
    """A label on an item, put there by the label's account, which alone sees it there."""
    item = ForeignKeyField(Item, column_name='item_id', on_delete='CASCADE', index=False)
    label = ForeignKeyField(Label, column_name='label_id', on_delete='CASCADE', index=False)
    user = ForeignKeyField(User, column_name='user_id', on_delete='CASCADE', index=False)  # the label's account

    class Meta:
        table_name = 'item_labels'
        primary_key = CompositeKey('item', 'label')
        indexes = (
            (('label', 'item'), False),
        )

    @classmethod
    def put_on(cls, items, user_id):
        """``items`` (models), each given its ``labels``: the ids of ``user_id``'s labels on it, in order."""
        on = {}
        if items:
            query = (cls.select(cls.item, cls.label).where((cls.user == user_id) & cls.item.in_([i.id for i in items]))
                     .order_by(cls.item, cls.label).tuples())
            for item_id, label_id in query:
                on.setdefault(item_id, []).append(label_id)
        for item in items:
            item.labels = on.get(item.id, [])
        return items

    @classmethod
    def put(cls, item_id, user_id, label_ids):
        """Put these labels of ``user_id`` (theirs: checked) on the item, in place of those they had on it."""
        cls.delete().where((cls.item == item_id) & (cls.user == user_id)).execute()
        if label_ids:
            cls.insert_many([(item_id, label_id, user_id) for label_id in label_ids],
                            fields=[cls.item, cls.label, cls.user]).execute()


def add_declared_columns(model, declared):
    """Give ``model`` the columns of the fields bodies write (``fields.columns``), in their order."""
    for name, column in fields.columns(declared).items():
        if getattr(column, 'model', None) is not None:  # another model's already (memberships' role):
            column = copy.deepcopy(column)  # a field belongs to one model
        model._meta.add_field(name, column)


add_declared_columns(User, fields.ACCOUNT)
add_declared_columns(Bucketlist, fields.BUCKETLIST)
add_declared_columns(Item, fields.ITEM)
add_declared_columns(Label, fields.LABEL)
add_declared_columns(Step, fields.STEP)


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
        return sql.one(sql.session_open(), session_id=session_id, user_id=user_id) is not None

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
    """A long-lived token for a script, by its SHA-256, with one of ``fields.API_TOKEN_SCOPES``
    (its ``name`` and ``scope`` come from ``fields.API_TOKEN``)."""
    id = AutoField()
    user = ForeignKeyField(User, column_name='user_id', on_delete='CASCADE', index=False)
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
        """(id, user_id, scope) of the unexpired token with this hash, or None."""
        return sql.one(sql.api_token(), token_hash=token_hash, now=now)


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


class Trash(BaseModel):
    """A deleted bucketlist or item, kept in its list owner's trash until ``purge_at`` (TRASH_DAYS):
    ``contents`` holds its rows as they were (JSON: trash.py), which a restore inserts again under
    their ids. Gone from its tables meanwhile, it is invisible to every other read and counts
    toward no quota."""
    id = AutoField()
    owner = ForeignKeyField(User, column_name='owner_id', on_delete='CASCADE', index=False)
    kind = CharField(max_length=16)  # 'bucketlist' or 'item'
    object_id = IntegerField()
    bucketlist_id = IntegerField(null=True)  # an item's list; None for a list
    name = TextField()
    deleted_by = ForeignKeyField(User, column_name='deleted_by', null=True, on_delete='SET NULL', index=True,
                                 backref='+')
    deleted_at = DateTimeField(default=utcnow)
    purge_at = DateTimeField(index=True)
    contents = TextField()

    class Meta:
        table_name = 'trash'
        indexes = (
            (('kind', 'object_id'), True),
            (('owner', 'deleted_at'), False),
            (('bucketlist_id',), False),
        )


class Activity(BaseModel):
    """An entry of a bucketlist's activity: who changed what in it, when, by which request; kept
    ACTIVITY_DAYS, and with its list's owner's account (activity.py)."""
    id = AutoField()
    bucketlist_id = IntegerField()  # (no foreign key: a list in the trash keeps its activity)
    moved_from = IntegerField(null=True)  # the list an item.moved left, whose activity shows it too
    item_id = IntegerField(null=True)
    step_id = IntegerField(null=True)
    member_id = IntegerField(null=True)  # the member a member.… entry is of
    # Who: no foreign key, which would cost every write a lookup and a lock of the account's row;
    # an account's id is never given to another (migration 22), so a deleted one's names nobody.
    user_id = IntegerField(null=True)
    kind = CharField(max_length=32)
    at = DateTimeField(default=utcnow)
    request_id = CharField(max_length=128)
    changes = TextField(default='{}')  # JSON: {field: [old, new]}

    class Meta:
        table_name = 'activity'
        indexes = (
            (('bucketlist_id', 'id'), False),
        )

    @classmethod
    def record(cls, user_id, now, request_id, kind, bucketlist_id, item_id=None, changes=None, step_id=None,
               member_id=None, moved_from=None):
        """An entry (activity.py) of ``user_id``'s change to the bucketlist at ``now``, in the caller's
        transaction; ``changes`` as a dict, or as JSON text already."""
        sql.run(sql.record_activity(), bucketlist_id=bucketlist_id, moved_from=moved_from, item_id=item_id,
                step_id=step_id, member_id=member_id, user_id=user_id, kind=kind, now=now, request_id=request_id,
                changes=changes if isinstance(changes, str) else json.dumps(changes or {}))

    @classmethod
    def recorded(cls, values, kind, bucketlist_id, item_id=None, changes=None, completed=None):
        """``record`` of a one-statement write's ``values`` (its user_id, now and request_id), and the
        completion of the item named ``completed`` if given: where SQLite cannot write them in the
        write's own statement."""
        cls.record(values['user_id'], values['now'], values['request_id'], kind, bucketlist_id, item_id, changes)
        if completed:
            sql.run(sql.record_completion(), **{**values, 'item_id': item_id, 'name': completed})


Activity.add_index(Activity.index(Activity.moved_from, where=Activity.moved_from.is_null(False)))


class ForgottenList(BaseModel):
    """A list gone for good whose activity and completions are still being deleted (activity.purge)."""
    bucketlist_id = IntegerField(primary_key=True)

    class Meta:
        table_name = 'forgotten_lists'


class Completion(BaseModel):
    """An item ticked done (or a recurring item's occurrence), kept through unticks and deletes
    while its bucketlist lasts."""
    id = AutoField()
    bucketlist_id = IntegerField()
    item_id = IntegerField(index=True)
    owner = ForeignKeyField(User, column_name='owner_id', on_delete='CASCADE', index=False, backref='+')
    name = CharField(max_length=255)
    completed_at = DateTimeField()
    completed_by = ForeignKeyField(User, column_name='completed_by', null=True, on_delete='SET NULL', index=True,
                                   backref='+')

    class Meta:
        table_name = 'completions'
        indexes = (
            (('bucketlist_id', 'completed_at'), False),
            (('owner', 'id'), False),
        )


class Membership(BaseModel):
    """A user sharing a bucketlist they do not own, in one of ``fields.MEMBER_ROLES`` (its ``role``
    comes from ``fields.MEMBER``)."""
    bucketlist = ForeignKeyField(Bucketlist, column_name='bucketlist_id', on_delete='CASCADE', index=False)
    user = ForeignKeyField(User, column_name='user_id', on_delete='CASCADE', index=False)
    date_added = DateTimeField(default=utcnow)
    status = 'active'  # (an Invitation is 'pending')

    class Meta:
        table_name = 'memberships'
        primary_key = CompositeKey('bucketlist', 'user')
        indexes = (
            (('user', 'bucketlist'), False),
        )

    @classmethod
    def role_of(cls, user_id, bucketlist_id):
        return cls.select(cls.role).where((cls.bucketlist == bucketlist_id) & (cls.user == user_id)).scalar()


class Invitation(BaseModel):
    """An owner's invitation to share a bucketlist, until its invitee accepts it (then it is a
    Membership) or declines it; its ``role`` comes from ``fields.MEMBER``."""
    id = AutoField()
    bucketlist = ForeignKeyField(Bucketlist, column_name='bucketlist_id', on_delete='CASCADE', index=False)
    user = ForeignKeyField(User, column_name='user_id', on_delete='CASCADE', index=False, backref='+')
    invited_by = ForeignKeyField(User, column_name='invited_by', on_delete='CASCADE', index=False, backref='+')
    date_added = DateTimeField(default=utcnow)
    status = 'pending'  # (as the owner's list of members shows it; a Membership is 'active')

    class Meta:
        table_name = 'invitations'
        indexes = (
            (('bucketlist', 'user'), True),
            (('user', 'id'), False),
        )


def own_row(model, row_id, user_id, for_update=False):
    """``user_id``'s row ``row_id`` of ``model`` (its ``user`` is theirs), locked if ``for_update``;
    None for another's, a missing one, or an id no row can have."""
    if not 0 < row_id <= MAX_ID:
        return None
    query = model.select().where((model.id == row_id) & (model.user == user_id))
    return (locked(query) if for_update else query).get_or_none()


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


class Webhook(BaseModel):
    """An account's webhook endpoint (webhooks.py): its ``url``, ``events`` and ``bucketlist_id`` come
    from ``fields.WEBHOOK``. ``kinds`` holds the activity kinds of its events, as the trigger that
    fills the outbox matches them (",item.created,item.completed,")."""
    id = AutoField()
    user = ForeignKeyField(User, column_name='user_id', on_delete='CASCADE', index=True, backref='+')
    kinds = TextField()
    secret = CharField(max_length=64)
    previous_secret = CharField(max_length=64, null=True)  # still signing for a day after a rotation
    secret_rotated_at = DateTimeField(null=True)
    date_created = DateTimeField(default=utcnow)
    disabled_at = DateTimeField(null=True)
    disabled_reason = CharField(max_length=255, null=True)

    class Meta:
        table_name = 'webhooks'

    @property
    def enabled(self):
        return self.disabled_at is None


class WebhookMessage(BaseModel):
    """One event for one endpoint: the outbox's row, written with the change (a trigger on
    ``activity``, migration 23), then the worker's delivery log of it. ``body`` is made at the
    first attempt and sent the same at every one after."""
    id = AutoField()
    webhook = ForeignKeyField(Webhook, column_name='webhook_id', on_delete='CASCADE', index=False, backref='+')
    activity_id = IntegerField(null=True)  # (None: a ping)
    event_type = CharField(max_length=32, null=True)
    body = TextField(null=True)
    created_at = DateTimeField(index=True)
    state = CharField(max_length=16, default='pending')  # pending, delivered or failed
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(null=True)
    leased_until = DateTimeField(null=True)  # a worker is delivering it until then
    last_status = IntegerField(null=True)
    last_error = CharField(max_length=255, null=True)
    last_latency_ms = IntegerField(null=True)
    last_response = TextField(null=True)

    class Meta:
        table_name = 'webhook_messages'
        indexes = (
            (('webhook', 'id'), False),
        )

    @property
    def message_id(self):
        return f'msg_{self.id}'


WebhookMessage.add_index(WebhookMessage.index(WebhookMessage.next_attempt_at,
                                              where=WebhookMessage.state == 'pending'))


class WebhookCounter(BaseModel):
    """Deliveries by outcome since the database began, for /metrics (whichever worker made them)."""
    outcome = CharField(max_length=16, primary_key=True)
    count = BigIntegerField(default=0)

    class Meta:
        table_name = 'webhook_counters'


class EventListener(BaseModel):
    """A PostgreSQL connection listening for changes for event streams (events.Listener): while
    none is, the trigger that fills the webhook outbox notifies nobody."""
    pid = IntegerField(primary_key=True)

    class Meta:
        table_name = 'event_listeners'


add_declared_columns(ApiToken, fields.API_TOKEN)
add_declared_columns(Membership, fields.MEMBER)
add_declared_columns(Invitation, fields.MEMBER)
add_declared_columns(Webhook, fields.WEBHOOK)

MODELS = [User, Bucketlist, Item, Membership, Session, RefreshToken, ApiToken, Deletion, SyncState, IdempotencyKey,
          ThrottleEvent, Invitation, Label, ItemLabel, Step, Trash, Activity,
          Completion, ForgottenList, Webhook, WebhookMessage, WebhookCounter, EventListener]
