"""Peewee models, the database handle they share, and the queries used in more than one place."""
from datetime import datetime, timezone

from peewee import (AutoField, BooleanField, CharField, DateTimeField, ForeignKeyField, Model,
                    TextField, fn)
from playhouse.db_url import connect

import settings

# PostgreSQL int4: an id past this can name no row, so it is a 404 and never reaches the database.
MAX_ID = 2**31 - 1


def open_database(url):
    """The database handle for ``url``: pooled with bounded waits on PostgreSQL, WAL on SQLite."""
    if url.startswith('sqlite'):
        database = connect(url, pragmas={'journal_mode': 'wal', 'foreign_keys': 1,
                                         'busy_timeout': 5000})
        # SQLite's own lower() folds ASCII only; search must fold 'Ä' as PostgreSQL does.
        database.register_function(lambda text: text if text is None else text.lower(), 'lower', 1)
        return database
    return connect(url,
                   max_connections=settings.DATABASE_POOL_SIZE,
                   timeout=settings.DATABASE_POOL_WAIT_SECONDS,
                   stale_timeout=300,
                   connect_timeout=settings.DATABASE_CONNECT_TIMEOUT_SECONDS,
                   options=f'-c statement_timeout={settings.DATABASE_STATEMENT_TIMEOUT_MS}')


db = open_database(settings.DATABASE_URL)


def utcnow():
    """Now in UTC, naive: both databases store timestamps without a zone, always UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = db
        legacy_table_names = False


class User(BaseModel):
    id = AutoField()
    email = CharField(max_length=254, unique=True)  # stored lower-cased
    password_hash = TextField()
    date_created = DateTimeField(default=utcnow)

    class Meta:
        table_name = 'users'


def _contains_folded(field, text):
    """Case-insensitive substring match; % and _ in ``text`` are literal (peewee escapes them)."""
    return fn.lower(field).contains(text.lower())


class Bucketlist(BaseModel):
    id = AutoField()
    name = CharField(max_length=255)
    owner = ForeignKeyField(User, column_name='owner_id', on_delete='CASCADE', index=False)
    date_created = DateTimeField(default=utcnow)
    date_modified = DateTimeField(default=utcnow)

    class Meta:
        table_name = 'bucketlists'
        indexes = (
            (('owner', 'name'), True),
            (('owner', 'id'), False),
        )

    @classmethod
    def owned_by(cls, owner_id, bucketlist_id):
        """The bucketlist with this id if ``owner_id`` owns it, else None."""
        if not 0 < bucketlist_id <= MAX_ID:
            return None
        return cls.get_or_none((cls.id == bucketlist_id) & (cls.owner == owner_id))

    @classmethod
    def name_contains(cls, text):
        return _contains_folded(cls.name, text)


class Item(BaseModel):
    id = AutoField()
    name = CharField(max_length=255)
    done = BooleanField(default=False)
    bucketlist = ForeignKeyField(Bucketlist, column_name='bucketlist_id', backref='items',
                                 on_delete='CASCADE', index=False)
    date_created = DateTimeField(default=utcnow)
    date_modified = DateTimeField(default=utcnow)

    class Meta:
        table_name = 'items'
        indexes = (
            (('bucketlist', 'id'), False),
        )

    @classmethod
    def owned_by(cls, owner_id, bucketlist_id, item_id):
        """The item with this id in this bucketlist if ``owner_id`` owns it, else None."""
        if not (0 < bucketlist_id <= MAX_ID and 0 < item_id <= MAX_ID):
            return None
        return (cls.select().join(Bucketlist)
                .where((cls.id == item_id) & (cls.bucketlist == bucketlist_id)
                       & (Bucketlist.owner == owner_id))
                .get_or_none())

    @classmethod
    def name_contains(cls, text):
        return _contains_folded(cls.name, text)


class RevokedToken(BaseModel):
    """A token logged out before it expired; kept until then, so every instance refuses it."""
    jti = CharField(max_length=64, primary_key=True)
    expires_at = DateTimeField(index=True)

    class Meta:
        table_name = 'revoked_tokens'


MODELS = [User, Bucketlist, Item, RevokedToken]
