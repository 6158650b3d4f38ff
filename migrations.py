"""Ordered SQL migration steps and their command line: upgrade, status, downgrade.

    python migrations.py                 apply every pending step (the default)
    python migrations.py status          list steps, applied or pending
    python migrations.py downgrade [N]   undo steps down to version N (default: one step)

Each step is SQL, or SQL per dialect where SQLite and PostgreSQL differ (a statement may be a
function of the database, where SQL alone cannot say it). Steps run in
order inside one transaction that first takes a lock (an advisory lock on PostgreSQL,
BEGIN IMMEDIATE on SQLite), so two release phases racing each other apply every step
once. A step that has landed is never edited: change the schema with a new step.
"""
import argparse
import sys
from collections import namedtuple
from contextlib import contextmanager
from datetime import UTC, datetime

from peewee import PostgresqlDatabase

Step = namedtuple('Step', 'version name up down')

# Any constant works; it only has to be the same in every process that migrates.
ADVISORY_LOCK_KEY = 0x6275636B6C697374  # 'bucklist'

# Column types spelled differently by the two dialects, for steps written once.
TYPES = {
    'postgresql': {'serial': 'SERIAL', 'timestamp': 'TIMESTAMP', 'boolean': 'BOOLEAN', 'bigint': 'BIGINT',
                   'never_reused': ''},
    'sqlite': {'serial': 'INTEGER', 'timestamp': 'DATETIME', 'boolean': 'INTEGER', 'bigint': 'INTEGER',
               'never_reused': ' AUTOINCREMENT'},
}


def in_dialect(name, sql):
    """``sql``, statements written once with TYPES' placeholders, spelled for dialect ``name``."""
    return [statement.format(**TYPES[name]) for statement in sql]


# Step 7's columns and tables, the same in both dialects but for their types.
SYNC_COLUMNS = [
    'ALTER TABLE "bucketlists" ADD COLUMN "description" TEXT NOT NULL DEFAULT \'\'',
    'ALTER TABLE "bucketlists" ADD COLUMN "version" {bigint} NOT NULL DEFAULT 0',
    'ALTER TABLE "items" ADD COLUMN "notes" TEXT NOT NULL DEFAULT \'\'',
    'ALTER TABLE "items" ADD COLUMN "due_date" DATE',
    'ALTER TABLE "items" ADD COLUMN "done_at" {timestamp}',
    'ALTER TABLE "items" ADD COLUMN "position" INTEGER NOT NULL DEFAULT 0',
    'ALTER TABLE "items" ADD COLUMN "version" {bigint} NOT NULL DEFAULT 0',
]
SYNC_TABLES = [
    'UPDATE "items" SET "done_at" = "date_modified" WHERE "done"',
    'CREATE INDEX "items_bucketlist_id_position" ON "items" ("bucketlist_id", "position")',
    'CREATE INDEX "bucketlists_version_id" ON "bucketlists" ("version", "id")',
    'CREATE INDEX "items_version_id" ON "items" ("version", "id")',
    '''CREATE TABLE "deletions" (
        "id" {serial} NOT NULL PRIMARY KEY,
        "user_id" INTEGER NOT NULL,
        "kind" VARCHAR(16) NOT NULL,
        "object_id" INTEGER NOT NULL,
        "version" {bigint} NOT NULL DEFAULT 0,
        "deleted_at" {timestamp} NOT NULL,
        FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE)''',
    'CREATE INDEX "deletions_user_id_version_id" ON "deletions" ("user_id", "version", "id")',
    'CREATE INDEX "deletions_deleted_at" ON "deletions" ("deleted_at")',
    '''CREATE TABLE "sync_state" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "next_version" {bigint} NOT NULL,
        "purged_below" {bigint} NOT NULL)''',
    'INSERT INTO "sync_state" ("id", "next_version", "purged_below") VALUES (1, 1, 0)',
]
# Undone the same way in both, but for the triggers (dropped first, each dialect its own).
SYNC_DOWN = [
    'DROP TABLE "sync_state"',
    'DROP TABLE "deletions"',
    'DROP INDEX "items_version_id"',
    'DROP INDEX "bucketlists_version_id"',
    'DROP INDEX "items_bucketlist_id_position"',
    'ALTER TABLE "items" DROP COLUMN "version"',
    'ALTER TABLE "items" DROP COLUMN "position"',
    'ALTER TABLE "items" DROP COLUMN "done_at"',
    'ALTER TABLE "items" DROP COLUMN "due_date"',
    'ALTER TABLE "items" DROP COLUMN "notes"',
    'ALTER TABLE "bucketlists" DROP COLUMN "version"',
    'ALTER TABLE "bucketlists" DROP COLUMN "description"',
]


def sqlite_version_trigger(table, event):
    """SQLite's trigger stamping ``table``'s rows with the next version on ``event`` (step 7)."""
    return f'''CREATE TRIGGER "{table}_version_{event.split()[0].lower()}" AFTER {event} ON "{table}" BEGIN
        UPDATE "{table}" SET "version" = (SELECT "next_version" FROM "sync_state" WHERE "id" = 1)
            WHERE "id" = NEW."id";
        UPDATE "sync_state" SET "next_version" = "next_version" + 1 WHERE "id" = 1;
        END'''


# Every write /sync must see: an UPDATE OF other columns (the version itself) fires nothing.
ITEM_VERSIONED_UPDATE = ('UPDATE OF "name", "done", "notes", "due_date", "done_at", "position", "bucketlist_id", '
                         '"date_modified"')
SQLITE_VERSIONED_WRITES = [('bucketlists', 'INSERT'),
                           ('bucketlists', 'UPDATE OF "name", "description", "date_modified"'),
                           ('items', 'INSERT'), ('items', ITEM_VERSIONED_UPDATE), ('deletions', 'INSERT')]

# Step 10's column, and the count of what each list holds already.
ITEM_COUNTS = [
    'ALTER TABLE "bucketlists" ADD COLUMN "item_count" INTEGER NOT NULL DEFAULT 0',
    '''UPDATE "bucketlists" SET "item_count" = (SELECT count(*) FROM "items"
        WHERE "items"."bucketlist_id" = "bucketlists"."id")''',
]

# Step 9's column, and the count of what each account holds already.
BUCKETLIST_COUNTS = [
    'ALTER TABLE "users" ADD COLUMN "bucketlist_count" INTEGER NOT NULL DEFAULT 0',
    '''UPDATE "users" SET "bucketlist_count" = (SELECT count(*) FROM "bucketlists"
        WHERE "bucketlists"."owner_id" = "users"."id")''',
]

# Step 17's tables: each account's labels, and the labels on items (the label's account's, kept
# on the row: an item's reader looks up their own).
LABEL_TABLES = [
    '''CREATE TABLE "labels" (
        "id" {serial} NOT NULL PRIMARY KEY{never_reused},
        "user_id" INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "name_key" VARCHAR(192) NOT NULL,
        "date_created" {timestamp} NOT NULL,
        "date_modified" {timestamp} NOT NULL,
        "version" {bigint} NOT NULL DEFAULT 0,
        "name" VARCHAR(64) NOT NULL,
        "colour" VARCHAR(7))''',
    'CREATE UNIQUE INDEX "labels_user_id_name_key" ON "labels" ("user_id", "name_key")',
    'CREATE INDEX "labels_user_id_version_id" ON "labels" ("user_id", "version", "id")',
    '''CREATE TABLE "item_labels" (
        "item_id" INTEGER NOT NULL REFERENCES "items" ("id") ON DELETE CASCADE,
        "label_id" INTEGER NOT NULL REFERENCES "labels" ("id") ON DELETE CASCADE,
        "user_id" INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        PRIMARY KEY ("item_id", "label_id"))''',
    'CREATE INDEX "item_labels_label_id_item_id" ON "item_labels" ("label_id", "item_id")',
]


# Step 19's table: the steps of items.
STEP_TABLE = [
    '''CREATE TABLE "steps" (
        "id" {serial} NOT NULL PRIMARY KEY{never_reused},
        "item_id" INTEGER NOT NULL REFERENCES "items" ("id") ON DELETE CASCADE,
        "position" INTEGER NOT NULL DEFAULT 0,
        "date_created" {timestamp} NOT NULL,
        "date_modified" {timestamp} NOT NULL,
        "version" {bigint} NOT NULL DEFAULT 0,
        "name" VARCHAR(255) NOT NULL,
        "done" {boolean} NOT NULL DEFAULT FALSE)''',
    'CREATE INDEX "steps_item_id_position" ON "steps" ("item_id", "position")',
    'CREATE INDEX "steps_version_id" ON "steps" ("version", "id")',
]

# The trash keeps deleted rows as JSON (trash.py): a later step that changes the columns of
# bucketlists, items, steps, item_labels, memberships or invitations rewrites the trash's contents
# to match, or a restore of what was deleted before it fails.
TRASH_TABLE = [
    '''CREATE TABLE "trash" (
        "id" {serial} NOT NULL PRIMARY KEY{never_reused},
        "owner_id" INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "kind" VARCHAR(16) NOT NULL,
        "object_id" INTEGER NOT NULL,
        "bucketlist_id" INTEGER,
        "name" TEXT NOT NULL,
        "deleted_by" INTEGER REFERENCES "users" ("id") ON DELETE SET NULL,
        "deleted_at" {timestamp} NOT NULL,
        "purge_at" {timestamp} NOT NULL,
        "contents" TEXT NOT NULL)''',
    'CREATE UNIQUE INDEX "trash_kind_object_id" ON "trash" ("kind", "object_id")',
    'CREATE INDEX "trash_owner_id_deleted_at" ON "trash" ("owner_id", "deleted_at")',
    'CREATE INDEX "trash_bucketlist_id" ON "trash" ("bucketlist_id")',
    'CREATE INDEX "trash_purge_at" ON "trash" ("purge_at")',
    'CREATE INDEX "trash_deleted_by" ON "trash" ("deleted_by")',  # (an account's deletion sets it NULL)
]

ACTIVITY_TABLES = [
    '''CREATE TABLE "activity" (
        "id" {serial} NOT NULL PRIMARY KEY{never_reused},
        "bucketlist_id" INTEGER NOT NULL,
        "moved_from" INTEGER,
        "item_id" INTEGER,
        "step_id" INTEGER,
        "member_id" INTEGER,
        "user_id" INTEGER,
        "kind" VARCHAR(32) NOT NULL,
        "at" {timestamp} NOT NULL,
        "request_id" VARCHAR(128) NOT NULL,
        "changes" TEXT NOT NULL DEFAULT '{{}}')''',
    # Every write to a list inserts a row: as few indexes as its reads need (activity.py).
    'CREATE INDEX "activity_bucketlist_id_id" ON "activity" ("bucketlist_id", "id")',
    'CREATE INDEX "activity_moved_from" ON "activity" ("moved_from") WHERE "moved_from" IS NOT NULL',
    '''CREATE TABLE "completions" (
        "id" {serial} NOT NULL PRIMARY KEY{never_reused},
        "bucketlist_id" INTEGER NOT NULL,
        "item_id" INTEGER NOT NULL,
        "owner_id" INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "name" VARCHAR(255) NOT NULL,
        "completed_at" {timestamp} NOT NULL,
        "completed_by" INTEGER REFERENCES "users" ("id") ON DELETE SET NULL)''',
    'CREATE INDEX "completions_bucketlist_id_completed_at" ON "completions" ("bucketlist_id", "completed_at")',
    'CREATE INDEX "completions_owner_id_id" ON "completions" ("owner_id", "id")',
    'CREATE INDEX "completions_item_id" ON "completions" ("item_id")',
    'CREATE INDEX "completions_completed_by" ON "completions" ("completed_by")',
    'CREATE TABLE "forgotten_lists" ("bucketlist_id" INTEGER NOT NULL PRIMARY KEY)',
]

# Webhooks (webhooks.py): the endpoints, the outbox of their messages and the delivery counters.
WEBHOOK_TABLES = [
    '''CREATE TABLE "webhooks" (
        "id" {serial} NOT NULL PRIMARY KEY{never_reused},
        "user_id" INTEGER NOT NULL REFERENCES "users" ("id") ON DELETE CASCADE,
        "url" VARCHAR(2048) NOT NULL,
        "events" TEXT NOT NULL,
        "kinds" TEXT NOT NULL,
        "bucketlist_id" INTEGER,
        "secret" VARCHAR(64) NOT NULL,
        "previous_secret" VARCHAR(64),
        "secret_rotated_at" {timestamp},
        "date_created" {timestamp} NOT NULL,
        "disabled_at" {timestamp},
        "disabled_reason" VARCHAR(255))''',
    'CREATE INDEX "webhooks_user_id" ON "webhooks" ("user_id")',
    '''CREATE TABLE "webhook_messages" (
        "id" {serial} NOT NULL PRIMARY KEY{never_reused},
        "webhook_id" INTEGER NOT NULL REFERENCES "webhooks" ("id") ON DELETE CASCADE,
        "activity_id" INTEGER,
        "event_type" VARCHAR(32),
        "body" TEXT,
        "created_at" {timestamp} NOT NULL,
        "state" VARCHAR(16) NOT NULL DEFAULT 'pending',
        "attempts" INTEGER NOT NULL DEFAULT 0,
        "next_attempt_at" {timestamp},
        "leased_until" {timestamp},
        "last_status" INTEGER,
        "last_error" VARCHAR(255),
        "last_latency_ms" INTEGER,
        "last_response" TEXT)''',
    'CREATE INDEX "webhook_messages_next_attempt_at" ON "webhook_messages" ("next_attempt_at")'
    ' WHERE "state" = \'pending\'',
    'CREATE INDEX "webhook_messages_webhook_id_id" ON "webhook_messages" ("webhook_id", "id")',
    'CREATE INDEX "webhook_messages_created_at" ON "webhook_messages" ("created_at")',
    '''CREATE TABLE "webhook_counters" (
        "outcome" VARCHAR(16) NOT NULL PRIMARY KEY,
        "count" {bigint} NOT NULL DEFAULT 0)''',
    # The connections listening for changes on behalf of open event streams (PostgreSQL's
    # events.Listener): while there is none, changes notify nobody, and commits skip NOTIFY's lock.
    'CREATE TABLE "event_listeners" ("pid" INTEGER NOT NULL PRIMARY KEY)',
]
# The outbox is filled in the transaction of the change: each activity entry becomes a message to
# every enabled endpoint that wants its kind, of an account that sees the list (the one an item
# left too, and the member the entry is of, who may have just left). On PostgreSQL it also wakes
# the event streams (events.py) of those who see the list.
ENQUEUE_WEBHOOK_MESSAGES = '''INSERT INTO "webhook_messages"
        ("webhook_id", "activity_id", "created_at", "next_attempt_at")
    SELECT "id", NEW."id", NEW."at", NEW."at" FROM "webhooks"
    WHERE "disabled_at" IS NULL AND replace("kinds", ',' || NEW."kind" || ',', '') <> "kinds"
      AND ("bucketlist_id" IS NULL OR "bucketlist_id" = NEW."bucketlist_id" OR "bucketlist_id" = NEW."moved_from")
      AND "user_id" IN (SELECT "owner_id" FROM "bucketlists" WHERE "id" IN (NEW."bucketlist_id", NEW."moved_from")
                        UNION ALL SELECT "user_id" FROM "memberships"
                        WHERE "bucketlist_id" IN (NEW."bucketlist_id", NEW."moved_from")
                        UNION ALL SELECT NEW."member_id")'''
EVENTS_CHANNEL = 'bucketlist_events'

SCOPES_BEFORE_WEBHOOKS = '''"scope" VARCHAR(5) NOT NULL CHECK ("scope" IN ('read', 'write'))'''
SCOPES_WITH_WEBHOOKS = '''"scope" VARCHAR(8) NOT NULL CHECK ("scope" IN ('read', 'write', 'webhooks'))'''


def sqlite_edit_table(table, old, new):
    """A step's statement (for SQLite): ``old`` becomes ``new`` in ``table``'s SQL, for a change that
    leaves the stored rows as they are (a CHECK the rows meet, a length SQLite does not enforce),
    as SQLite's ALTER TABLE documentation describes."""
    def edit(database):
        (version,) = database.execute_sql('PRAGMA schema_version').fetchone()
        database.execute_sql('PRAGMA writable_schema = ON')
        database.execute_sql("UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = ?",
                             (old, new, table))
        database.execute_sql(f'PRAGMA schema_version = {version + 1}')  # every connection reads the schema again
        database.execute_sql('PRAGMA writable_schema = OFF')
    return edit


def sqlite_never_reused(tables, never_reused=True):
    """A step's statement (a function of the database, for SQLite): ``tables``' ids are never reused
    (AUTOINCREMENT), counting on from the highest they hold; or, ``never_reused`` False, reused
    again. SQLite cannot ALTER a column to AUTOINCREMENT, and rebuilding the tables needs foreign
    keys off, which a transaction cannot turn off: the table's SQL is edited in place, as SQLite's
    ALTER TABLE documentation describes for changes that leave the stored rows as they are."""
    plain, autoincrement = '"id" INTEGER NOT NULL PRIMARY KEY,', '"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,'
    old, new = (plain, autoincrement) if never_reused else (autoincrement, plain)
    names = ', '.join(f"'{table}'" for table in tables)

    def edit(database):
        (version,) = database.execute_sql('PRAGMA schema_version').fetchone()
        database.execute_sql('PRAGMA writable_schema = ON')
        database.execute_sql(f"UPDATE sqlite_master SET sql = replace(sql, '{old}', '{new}')"
                             f" WHERE type = 'table' AND name IN ({names})")
        database.execute_sql(f'PRAGMA schema_version = {version + 1}')  # every connection reads the schema again
        database.execute_sql('PRAGMA writable_schema = OFF')
        database.execute_sql(f'DELETE FROM sqlite_sequence WHERE name IN ({names})')
        if never_reused:
            for table in tables:
                database.execute_sql(f'INSERT INTO sqlite_sequence (name, seq) SELECT \'{table}\', coalesce(max(id), 0)'
                                     f' FROM "{table}"')
    return edit


STEPS = [
    Step(1, 'create bucketlists', up=[
        '''CREATE TABLE "bucketlists" (
            "id" {serial} NOT NULL PRIMARY KEY,
            "name" VARCHAR(255) NOT NULL,
            "date_created" {timestamp} NOT NULL,
            "date_modified" {timestamp} NOT NULL)''',
    ], down=[
        'DROP TABLE "bucketlists"',
    ]),

    # Bucketlists made before accounts existed have no owner: this step refuses
    # (NOT NULL) rather than guess one. Give them an owner first.
    Step(2, 'accounts and bucketlist owners', up={
        'postgresql': [
            '''CREATE TABLE "users" (
                "id" SERIAL NOT NULL PRIMARY KEY,
                "email" VARCHAR(254) NOT NULL,
                "password_hash" TEXT NOT NULL,
                "date_created" TIMESTAMP NOT NULL)''',
            'CREATE UNIQUE INDEX "users_email" ON "users" ("email")',
            '''ALTER TABLE "bucketlists" ADD COLUMN "owner_id" INTEGER NOT NULL
                REFERENCES "users" ("id") ON DELETE CASCADE''',
            'CREATE UNIQUE INDEX "bucketlists_owner_id_name" ON "bucketlists" ("owner_id", "name")',
            'CREATE INDEX "bucketlists_owner_id_id" ON "bucketlists" ("owner_id", "id")',
            '''CREATE TABLE "revoked_tokens" (
                "jti" VARCHAR(64) NOT NULL PRIMARY KEY,
                "expires_at" TIMESTAMP NOT NULL)''',
            'CREATE INDEX "revoked_tokens_expires_at" ON "revoked_tokens" ("expires_at")',
        ],
        'sqlite': [
            '''CREATE TABLE "users" (
                "id" INTEGER NOT NULL PRIMARY KEY,
                "email" VARCHAR(254) NOT NULL,
                "password_hash" TEXT NOT NULL,
                "date_created" DATETIME NOT NULL)''',
            'CREATE UNIQUE INDEX "users_email" ON "users" ("email")',
            # SQLite cannot add a NOT NULL foreign key column: rebuild the table.
            '''CREATE TABLE "bucketlists_new" (
                "id" INTEGER NOT NULL PRIMARY KEY,
                "name" VARCHAR(255) NOT NULL,
                "owner_id" INTEGER NOT NULL,
                "date_created" DATETIME NOT NULL,
                "date_modified" DATETIME NOT NULL,
                FOREIGN KEY ("owner_id") REFERENCES "users" ("id") ON DELETE CASCADE)''',
            '''INSERT INTO "bucketlists_new" ("id", "name", "owner_id", "date_created", "date_modified")
                SELECT "id", "name", NULL, "date_created", "date_modified" FROM "bucketlists"''',
            'DROP TABLE "bucketlists"',
            'ALTER TABLE "bucketlists_new" RENAME TO "bucketlists"',
            'CREATE UNIQUE INDEX "bucketlists_owner_id_name" ON "bucketlists" ("owner_id", "name")',
            'CREATE INDEX "bucketlists_owner_id_id" ON "bucketlists" ("owner_id", "id")',
            '''CREATE TABLE "revoked_tokens" (
                "jti" VARCHAR(64) NOT NULL PRIMARY KEY,
                "expires_at" DATETIME NOT NULL)''',
            'CREATE INDEX "revoked_tokens_expires_at" ON "revoked_tokens" ("expires_at")',
        ],
    }, down={
        'postgresql': [
            'DROP TABLE "revoked_tokens"',
            'ALTER TABLE "bucketlists" DROP COLUMN "owner_id"',
            'DROP TABLE "users"',
        ],
        'sqlite': [
            'DROP TABLE "revoked_tokens"',
            '''CREATE TABLE "bucketlists_old" (
                "id" INTEGER NOT NULL PRIMARY KEY,
                "name" VARCHAR(255) NOT NULL,
                "date_created" DATETIME NOT NULL,
                "date_modified" DATETIME NOT NULL)''',
            '''INSERT INTO "bucketlists_old" ("id", "name", "date_created", "date_modified")
                SELECT "id", "name", "date_created", "date_modified" FROM "bucketlists"''',
            'DROP TABLE "bucketlists"',
            'ALTER TABLE "bucketlists_old" RENAME TO "bucketlists"',
            'DROP TABLE "users"',
        ],
    }),

    Step(3, 'items, deleted with their bucketlist', up=[
        '''CREATE TABLE "items" (
            "id" {serial} NOT NULL PRIMARY KEY,
            "name" VARCHAR(255) NOT NULL,
            "done" {boolean} NOT NULL,
            "bucketlist_id" INTEGER NOT NULL,
            "date_created" {timestamp} NOT NULL,
            "date_modified" {timestamp} NOT NULL,
            FOREIGN KEY ("bucketlist_id") REFERENCES "bucketlists" ("id") ON DELETE CASCADE)''',
        'CREATE INDEX "items_bucketlist_id_id" ON "items" ("bucketlist_id", "id")',
    ], down=[
        'DROP TABLE "items"',
    ]),

    Step(4, 'idempotency keys and throttle events', up=[
        '''CREATE TABLE "idempotency_keys" (
            "id" {serial} NOT NULL PRIMARY KEY,
            "owner_id" INTEGER NOT NULL,
            "key" VARCHAR(255) NOT NULL,
            "fingerprint" VARCHAR(64) NOT NULL,
            "status" INTEGER,
            "body" TEXT,
            "created_at" {timestamp} NOT NULL,
            FOREIGN KEY ("owner_id") REFERENCES "users" ("id") ON DELETE CASCADE)''',
        'CREATE UNIQUE INDEX "idempotency_keys_owner_id_key" ON "idempotency_keys" ("owner_id", "key")',
        'CREATE INDEX "idempotency_keys_created_at" ON "idempotency_keys" ("created_at")',
        '''CREATE TABLE "throttle_events" (
            "id" {serial} NOT NULL PRIMARY KEY,
            "kind" VARCHAR(32) NOT NULL,
            "subject" VARCHAR(255) NOT NULL,
            "created_at" {timestamp} NOT NULL)''',
        '''CREATE INDEX "throttle_events_kind_subject_created_at"
            ON "throttle_events" ("kind", "subject", "created_at")''',
    ], down=[
        'DROP TABLE "throttle_events"',
        'DROP TABLE "idempotency_keys"',
    ]),

    # Tokens issued before this moment are refused: set by a password reset.
    Step(5, 'users: tokens valid after', up=[
        'ALTER TABLE "users" ADD COLUMN "tokens_valid_after" {timestamp}',
    ], down=[
        'ALTER TABLE "users" DROP COLUMN "tokens_valid_after"',
    ]),

    # A login opens a session; ending it (deleting its row) refuses its tokens. That replaces the
    # revoked jtis and tokens_valid_after: access tokens from before this step name no session
    # and are refused, so users log in again once.
    Step(6, 'sessions, refresh tokens and API tokens', up=[
        # Access tokens name their session by id: an id must never come back (SQLite reuses the
        # highest one after a delete unless told AUTOINCREMENT), or an ended session's tokens would
        # work again for the next.
        '''CREATE TABLE "sessions" (
            "id" {serial} NOT NULL PRIMARY KEY{never_reused},
            "user_id" INTEGER NOT NULL,
            "date_created" {timestamp} NOT NULL,
            "last_used" {timestamp} NOT NULL,
            "expires_at" {timestamp} NOT NULL,
            "user_agent" VARCHAR(255) NOT NULL,
            FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE)''',
        'CREATE INDEX "sessions_user_id_id" ON "sessions" ("user_id", "id")',
        '''CREATE TABLE "refresh_tokens" (
            "token_hash" VARCHAR(64) NOT NULL PRIMARY KEY,
            "session_id" INTEGER NOT NULL,
            "expires_at" {timestamp} NOT NULL,
            "used_at" {timestamp},
            "parent_hash" VARCHAR(64),
            FOREIGN KEY ("session_id") REFERENCES "sessions" ("id") ON DELETE CASCADE)''',
        'CREATE INDEX "refresh_tokens_session_id" ON "refresh_tokens" ("session_id")',
        '''CREATE TABLE "api_tokens" (
            "id" {serial} NOT NULL PRIMARY KEY,
            "user_id" INTEGER NOT NULL,
            "name" VARCHAR(255) NOT NULL,
            "scope" VARCHAR(5) NOT NULL CHECK ("scope" IN ('read', 'write')),
            "token_hash" VARCHAR(64) NOT NULL,
            "date_created" {timestamp} NOT NULL,
            "expires_at" {timestamp},
            "last_used" {timestamp},
            FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE)''',
        'CREATE UNIQUE INDEX "api_tokens_token_hash" ON "api_tokens" ("token_hash")',
        'CREATE INDEX "api_tokens_user_id_id" ON "api_tokens" ("user_id", "id")',
        'DROP TABLE "revoked_tokens"',
        'ALTER TABLE "users" DROP COLUMN "tokens_valid_after"',
    ], down=[
        'ALTER TABLE "users" ADD COLUMN "tokens_valid_after" {timestamp}',
        '''CREATE TABLE "revoked_tokens" (
            "jti" VARCHAR(64) NOT NULL PRIMARY KEY,
            "expires_at" {timestamp} NOT NULL)''',
        'CREATE INDEX "revoked_tokens_expires_at" ON "revoked_tokens" ("expires_at")',
        'DROP TABLE "api_tokens"',
        'DROP TABLE "refresh_tokens"',
        'DROP TABLE "sessions"',
    ]),

    # Richer bucketlists and items, and what /sync needs. Every row of bucketlists and items
    # carries the version of the write that last changed it, and deletions leave a tombstone;
    # a sync returns what has a version at or above its cursor. On PostgreSQL the version is the
    # writing transaction's id, and the cursor the oldest transaction still running when the
    # sync began: a transaction that commits late has a version above it, so the next sync
    # sees its change however late it commits. SQLite writes one transaction at a time, so a
    # counter (sync_state.next_version) is enough there. Triggers stamp every write, so no path
    # can forget to.
    Step(7, 'descriptions, notes, due dates, positions; versions and tombstones for sync', up={
        'postgresql': [
            *in_dialect('postgresql', SYNC_COLUMNS),
            # Items so far in id order; those done, done when last changed (the best guess there is).
            '''UPDATE "items" SET "position" = ranked."position" FROM (
                SELECT "id", row_number() OVER (PARTITION BY "bucketlist_id" ORDER BY "id") - 1 AS "position"
                FROM "items") AS ranked WHERE "items"."id" = ranked."id"''',
            *in_dialect('postgresql', SYNC_TABLES),
            '''CREATE FUNCTION "stamp_version"() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN NEW."version" := pg_current_xact_id()::text::bigint; RETURN NEW; END $$''',
            '''CREATE TRIGGER "bucketlists_version" BEFORE INSERT OR UPDATE ON "bucketlists"
                FOR EACH ROW EXECUTE FUNCTION "stamp_version"()''',
            '''CREATE TRIGGER "items_version" BEFORE INSERT OR UPDATE ON "items"
                FOR EACH ROW EXECUTE FUNCTION "stamp_version"()''',
            '''CREATE TRIGGER "deletions_version" BEFORE INSERT ON "deletions"
                FOR EACH ROW EXECUTE FUNCTION "stamp_version"()''',
        ],
        'sqlite': [
            *in_dialect('sqlite', SYNC_COLUMNS),
            '''UPDATE "items" SET "position" = (SELECT count(*) FROM "items" AS "before"
                WHERE "before"."bucketlist_id" = "items"."bucketlist_id" AND "before"."id" < "items"."id")''',
            *in_dialect('sqlite', SYNC_TABLES),
            *[sqlite_version_trigger(table, event) for table, event in SQLITE_VERSIONED_WRITES],
        ],
    }, down={
        'postgresql': [
            'DROP TRIGGER "deletions_version" ON "deletions"',
            'DROP TRIGGER "items_version" ON "items"',
            'DROP TRIGGER "bucketlists_version" ON "bucketlists"',
            'DROP FUNCTION "stamp_version"()',
            *SYNC_DOWN,
        ],
        'sqlite': [
            *[f'DROP TRIGGER "{table}_version_{event.split()[0].lower()}"' for table, event in SQLITE_VERSIONED_WRITES],
            *SYNC_DOWN,
        ],
    }),

    # Members of a bucketlist, with a role; items record who created them (existing ones: the
    # owner, who was the only one who could).
    Step(8, 'sharing: members and who created each item', up=[
        '''CREATE TABLE "memberships" (
            "bucketlist_id" INTEGER NOT NULL,
            "user_id" INTEGER NOT NULL,
            "role" VARCHAR(6) NOT NULL CHECK ("role" IN ('viewer', 'editor')),
            "date_added" {timestamp} NOT NULL,
            PRIMARY KEY ("bucketlist_id", "user_id"),
            FOREIGN KEY ("bucketlist_id") REFERENCES "bucketlists" ("id") ON DELETE CASCADE,
            FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE)''',
        'CREATE INDEX "memberships_user_id_bucketlist_id" ON "memberships" ("user_id", "bucketlist_id")',
        'ALTER TABLE "items" ADD COLUMN "created_by" INTEGER REFERENCES "users" ("id") ON DELETE SET NULL',
        '''UPDATE "items" SET "created_by" = (SELECT "owner_id" FROM "bucketlists"
            WHERE "bucketlists"."id" = "items"."bucketlist_id")''',
    ], down={
        'postgresql': [
            'ALTER TABLE "items" DROP COLUMN "created_by"',
            'DROP TABLE "memberships"',
        ],
        # SQLite drops no column a foreign key uses: the table is rebuilt without it.
        'sqlite': [
            '''CREATE TABLE "items_old" (
                "id" INTEGER NOT NULL PRIMARY KEY,
                "name" VARCHAR(255) NOT NULL,
                "done" INTEGER NOT NULL,
                "bucketlist_id" INTEGER NOT NULL,
                "date_created" DATETIME NOT NULL,
                "date_modified" DATETIME NOT NULL,
                "notes" TEXT NOT NULL DEFAULT '',
                "due_date" DATE,
                "done_at" DATETIME,
                "position" INTEGER NOT NULL DEFAULT 0,
                "version" INTEGER NOT NULL DEFAULT 0,
                FOREIGN KEY ("bucketlist_id") REFERENCES "bucketlists" ("id") ON DELETE CASCADE)''',
            '''INSERT INTO "items_old" SELECT "id", "name", "done", "bucketlist_id", "date_created", "date_modified",
                "notes", "due_date", "done_at", "position", "version" FROM "items"''',
            'DROP TABLE "items"',
            'ALTER TABLE "items_old" RENAME TO "items"',
            'CREATE INDEX "items_bucketlist_id_id" ON "items" ("bucketlist_id", "id")',
            'CREATE INDEX "items_bucketlist_id_position" ON "items" ("bucketlist_id", "position")',
            'CREATE INDEX "items_version_id" ON "items" ("version", "id")',
            sqlite_version_trigger('items', 'INSERT'),
            sqlite_version_trigger('items', ITEM_VERSIONED_UPDATE),
            'DROP TABLE "memberships"',
        ],
    }),

    # How many bucketlists each account holds, kept by triggers, so that a create checks the quota
    # without counting them (that took longer the more the account held).
    Step(9, 'users: how many bucketlists each holds', up={
        'postgresql': [
            *BUCKETLIST_COUNTS,
            '''CREATE FUNCTION "count_bucketlists"() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP = 'INSERT' THEN
                        UPDATE "users" SET "bucketlist_count" = "bucketlist_count" + 1 WHERE "id" = NEW."owner_id";
                    ELSE
                        UPDATE "users" SET "bucketlist_count" = "bucketlist_count" - 1 WHERE "id" = OLD."owner_id";
                    END IF;
                    RETURN NULL;
                END $$''',
            '''CREATE TRIGGER "bucketlists_count" AFTER INSERT OR DELETE ON "bucketlists"
                FOR EACH ROW EXECUTE FUNCTION "count_bucketlists"()''',
        ],
        'sqlite': [
            *BUCKETLIST_COUNTS,
            '''CREATE TRIGGER "bucketlists_count_insert" AFTER INSERT ON "bucketlists" BEGIN
                UPDATE "users" SET "bucketlist_count" = "bucketlist_count" + 1 WHERE "id" = NEW."owner_id"; END''',
            '''CREATE TRIGGER "bucketlists_count_delete" AFTER DELETE ON "bucketlists" BEGIN
                UPDATE "users" SET "bucketlist_count" = "bucketlist_count" - 1 WHERE "id" = OLD."owner_id"; END''',
        ],
    }, down={
        'postgresql': [
            'DROP TRIGGER "bucketlists_count" ON "bucketlists"',
            'DROP FUNCTION "count_bucketlists"()',
            'ALTER TABLE "users" DROP COLUMN "bucketlist_count"',
        ],
        'sqlite': [
            'DROP TRIGGER "bucketlists_count_insert"',
            'DROP TRIGGER "bucketlists_count_delete"',
            'ALTER TABLE "users" DROP COLUMN "bucketlist_count"',
        ],
    }),

    # How many items each list holds, kept by triggers: the owner's new item takes its position
    # from its list's row, locked and read in the statement that inserts it (one round trip).
    # The list's version now follows only its own columns' writes, as SQLite's trigger always
    # did, so that the count does not send the list to every member's sync with each item.
    Step(10, 'bucketlists: how many items each holds', up={
        'postgresql': [
            'DROP TRIGGER "bucketlists_version" ON "bucketlists"',
            '''CREATE TRIGGER "bucketlists_version"
                BEFORE INSERT OR UPDATE OF "name", "description", "date_modified" ON "bucketlists"
                FOR EACH ROW EXECUTE FUNCTION "stamp_version"()''',
            *ITEM_COUNTS,
            '''CREATE FUNCTION "count_items"() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP IN ('UPDATE', 'DELETE') THEN
                        UPDATE "bucketlists" SET "item_count" = "item_count" - 1 WHERE "id" = OLD."bucketlist_id";
                    END IF;
                    IF TG_OP IN ('UPDATE', 'INSERT') THEN
                        UPDATE "bucketlists" SET "item_count" = "item_count" + 1 WHERE "id" = NEW."bucketlist_id";
                    END IF;
                    RETURN NULL;
                END $$''',
            '''CREATE TRIGGER "items_count" AFTER INSERT OR DELETE ON "items"
                FOR EACH ROW EXECUTE FUNCTION "count_items"()''',
            '''CREATE TRIGGER "items_count_move" AFTER UPDATE OF "bucketlist_id" ON "items"
                FOR EACH ROW WHEN (OLD."bucketlist_id" <> NEW."bucketlist_id") EXECUTE FUNCTION "count_items"()''',
        ],
        'sqlite': [
            *ITEM_COUNTS,
            '''CREATE TRIGGER "items_count_insert" AFTER INSERT ON "items" BEGIN
                UPDATE "bucketlists" SET "item_count" = "item_count" + 1 WHERE "id" = NEW."bucketlist_id"; END''',
            '''CREATE TRIGGER "items_count_delete" AFTER DELETE ON "items" BEGIN
                UPDATE "bucketlists" SET "item_count" = "item_count" - 1 WHERE "id" = OLD."bucketlist_id"; END''',
            '''CREATE TRIGGER "items_count_move" AFTER UPDATE OF "bucketlist_id" ON "items"
                WHEN OLD."bucketlist_id" <> NEW."bucketlist_id" BEGIN
                UPDATE "bucketlists" SET "item_count" = "item_count" - 1 WHERE "id" = OLD."bucketlist_id";
                UPDATE "bucketlists" SET "item_count" = "item_count" + 1 WHERE "id" = NEW."bucketlist_id"; END''',
        ],
    }, down={
        'postgresql': [
            'DROP TRIGGER "items_count_move" ON "items"',
            'DROP TRIGGER "items_count" ON "items"',
            'DROP FUNCTION "count_items"()',
            'ALTER TABLE "bucketlists" DROP COLUMN "item_count"',
            'DROP TRIGGER "bucketlists_version" ON "bucketlists"',
            '''CREATE TRIGGER "bucketlists_version" BEFORE INSERT OR UPDATE ON "bucketlists"
                FOR EACH ROW EXECUTE FUNCTION "stamp_version"()''',
        ],
        'sqlite': [
            'DROP TRIGGER "items_count_insert"',
            'DROP TRIGGER "items_count_delete"',
            'DROP TRIGGER "items_count_move"',
            'ALTER TABLE "bucketlists" DROP COLUMN "item_count"',
        ],
    }),

    # Who may write each list's items, beside its owner, kept by a trigger on the list's own row:
    # owners' and editors' writes then take one statement that checks the role on the row it locks.
    # A lock that waits reads the row again as the last writer left it; a membership read in the
    # same statement would come from its snapshot, and let an editor removed meanwhile write.
    # SQLite runs one writer at a time: its statements read the memberships.
    Step(11, 'bucketlists: the editors who may write its items', up={
        'postgresql': [
            'ALTER TABLE "bucketlists" ADD COLUMN "editor_ids" INTEGER[] NOT NULL DEFAULT \'{}\'',
            '''UPDATE "bucketlists" SET "editor_ids" = ARRAY(SELECT "user_id" FROM "memberships"
                WHERE "bucketlist_id" = "bucketlists"."id" AND "role" = 'editor' ORDER BY "user_id")''',
            # Each change edits the array as the row holds it, never from a snapshot: two members
            # added at once are both kept.
            '''CREATE FUNCTION "keep_editor_ids"() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD."role" = 'editor' THEN
                        UPDATE "bucketlists" SET "editor_ids" = array_remove("editor_ids", OLD."user_id")
                            WHERE "id" = OLD."bucketlist_id";
                    END IF;
                    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW."role" = 'editor' THEN
                        UPDATE "bucketlists" SET "editor_ids" = array_append("editor_ids", NEW."user_id")
                            WHERE "id" = NEW."bucketlist_id";
                    END IF;
                    RETURN NULL;
                END $$''',
            # (on every UPDATE: an UPDATE OF "role" would keep that column's type from changing)
            '''CREATE TRIGGER "memberships_editor_ids" AFTER INSERT OR UPDATE OR DELETE ON "memberships"
                FOR EACH ROW EXECUTE FUNCTION "keep_editor_ids"()''',
        ],
        'sqlite': [],
    }, down={
        'postgresql': [
            'DROP TRIGGER "memberships_editor_ids" ON "memberships"',
            'DROP FUNCTION "keep_editor_ids"()',
            'ALTER TABLE "bucketlists" DROP COLUMN "editor_ids"',
        ],
        'sqlite': [],
    }),

    # SQLite gave a new bucketlist or item the highest id deleted: after deleting list 1, the
    # next list was 1 again, and a client retrying its DELETE /bucketlists/1 deleted it.
    # PostgreSQL's sequences never go back.
    Step(12, 'bucketlists and items: ids never reused', up={
        'postgresql': [],
        'sqlite': [sqlite_never_reused(('bucketlists', 'items'))],
    }, down={
        'postgresql': [],
        'sqlite': [sqlite_never_reused(('bucketlists', 'items'), never_reused=False)],
    }),

    # Sharing with consent: the owner's add is an invitation until its invitee accepts it; until
    # then nothing of the list reaches them (memberships stay the members who accepted).
    Step(13, 'invitations', up=[
        '''CREATE TABLE "invitations" (
            "id" {serial} NOT NULL PRIMARY KEY{never_reused},
            "bucketlist_id" INTEGER NOT NULL,
            "user_id" INTEGER NOT NULL,
            "role" VARCHAR(6) NOT NULL CHECK ("role" IN ('viewer', 'editor')),
            "invited_by" INTEGER NOT NULL,
            "date_added" {timestamp} NOT NULL,
            FOREIGN KEY ("bucketlist_id") REFERENCES "bucketlists" ("id") ON DELETE CASCADE,
            FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE,
            FOREIGN KEY ("invited_by") REFERENCES "users" ("id") ON DELETE CASCADE)''',
        'CREATE UNIQUE INDEX "invitations_bucketlist_id_user_id" ON "invitations" ("bucketlist_id", "user_id")',
        'CREATE INDEX "invitations_user_id_id" ON "invitations" ("user_id", "id")',
    ], down=[
        'DROP TABLE "invitations"',
    ]),
    Step(14, 'item priority', up=[
        'ALTER TABLE "items" ADD COLUMN "priority" INTEGER CHECK ("priority" BETWEEN 1 AND 4)',
    ], down=[
        'ALTER TABLE "items" DROP COLUMN "priority"',
    ]),
    # Existing items keep their due dates, with no time; existing accounts are in UTC.
    Step(15, 'due times and time zones', up=[
        'ALTER TABLE "items" ADD COLUMN "due_time" VARCHAR(5)',
        'ALTER TABLE "items" ADD COLUMN "time_zone" VARCHAR(64)',
        'ALTER TABLE "items" ADD COLUMN "due_at" {timestamp}',
        'ALTER TABLE "users" ADD COLUMN "time_zone" VARCHAR(64) NOT NULL DEFAULT \'UTC\'',
    ], down=[
        'ALTER TABLE "users" DROP COLUMN "time_zone"',
        'ALTER TABLE "items" DROP COLUMN "due_at"',
        'ALTER TABLE "items" DROP COLUMN "time_zone"',
        'ALTER TABLE "items" DROP COLUMN "due_time"',
    ]),
    # Existing items do not repeat.
    Step(16, 'recurring items', up=[
        'ALTER TABLE "items" ADD COLUMN "recurrence" VARCHAR(255)',
        'ALTER TABLE "items" ADD COLUMN "last_completed_at" {timestamp}',
    ], down=[
        'ALTER TABLE "items" DROP COLUMN "last_completed_at"',
        'ALTER TABLE "items" DROP COLUMN "recurrence"',
    ]),
    Step(17, 'labels', up={
        'postgresql': [*in_dialect('postgresql', LABEL_TABLES),
                       '''CREATE TRIGGER "labels_version" BEFORE INSERT OR UPDATE ON "labels"
                           FOR EACH ROW EXECUTE FUNCTION "stamp_version"()'''],
        'sqlite': [*in_dialect('sqlite', LABEL_TABLES), sqlite_version_trigger('labels', 'INSERT'),
                   sqlite_version_trigger('labels', 'UPDATE OF "name", "colour", "date_modified"')],
    }, down=[
        'DROP TABLE "item_labels"',
        'DROP TABLE "labels"',
    ]),
    Step(18, 'calendar feeds', up=[
        'ALTER TABLE "users" ADD COLUMN "calendar_version" INTEGER NOT NULL DEFAULT 0',
    ], down=[
        'ALTER TABLE "users" DROP COLUMN "calendar_version"',
    ]),
    Step(19, 'steps', up={
        'postgresql': [*in_dialect('postgresql', STEP_TABLE),
                       '''CREATE TRIGGER "steps_version" BEFORE INSERT OR UPDATE ON "steps"
                           FOR EACH ROW EXECUTE FUNCTION "stamp_version"()'''],
        'sqlite': [*in_dialect('sqlite', STEP_TABLE), sqlite_version_trigger('steps', 'INSERT'),
                   sqlite_version_trigger('steps', 'UPDATE OF "name", "done", "position", "date_modified"')],
    }, down=[
        'DROP TABLE "steps"',
    ]),
    # Deletes of lists and items go to the trash from now on; nothing deleted before comes back.
    Step(20, 'trash', up=TRASH_TABLE, down=[
        'DROP TABLE "trash"',
    ]),
    # Lists' activity and items' completions are recorded from now on; nothing before is.
    Step(21, 'activity and completions', up=ACTIVITY_TABLES, down=[
        'DROP TABLE "forgotten_lists"',
        'DROP TABLE "completions"',
        'DROP TABLE "activity"',
    ]),
    # SQLite gave a new account the highest id deleted, which the activity (its user_id, with no
    # foreign key) and the trash (the members it restores) may still name.
    Step(22, 'accounts: ids never reused', up={
        'postgresql': [],
        'sqlite': [sqlite_never_reused(('users',))],
    }, down={
        'postgresql': [],
        'sqlite': [sqlite_never_reused(('users',), never_reused=False)],
    }),
    Step(23, 'webhooks and event streams', up={
        'postgresql': [*in_dialect('postgresql', WEBHOOK_TABLES),
                       'ALTER TABLE "api_tokens" ALTER COLUMN "scope" TYPE VARCHAR(8)',
                       'ALTER TABLE "api_tokens" DROP CONSTRAINT "api_tokens_scope_check"',
                       '''ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_scope_check"
                           CHECK ("scope" IN ('read', 'write', 'webhooks'))''',
                       # Every write pays for this: without an enabled webhook it inserts nothing, and
                       # without a listener it notifies nobody (a NOTIFY takes a lock at every commit).
                       f'''CREATE FUNCTION "activity_events"() RETURNS trigger LANGUAGE plpgsql AS $$
                           DECLARE queued integer := 0;
                           BEGIN
                               IF EXISTS (SELECT 1 FROM "webhooks" WHERE "disabled_at" IS NULL) THEN
                                   {ENQUEUE_WEBHOOK_MESSAGES};
                                   GET DIAGNOSTICS queued = ROW_COUNT;
                               END IF;
                               IF queued > 0 OR EXISTS (SELECT 1 FROM "event_listeners") THEN
                                   PERFORM pg_notify('{EVENTS_CHANNEL}',
                                                     NEW."bucketlist_id" || ',' || coalesce(NEW."moved_from"::text, '')
                                                     || ',' || coalesce(NEW."member_id"::text, ''));
                               END IF;
                               RETURN NULL;
                           END $$''',
                       '''CREATE TRIGGER "activity_events" AFTER INSERT ON "activity"
                           FOR EACH ROW EXECUTE FUNCTION "activity_events"()'''],
        'sqlite': [*in_dialect('sqlite', WEBHOOK_TABLES),
                   sqlite_edit_table('api_tokens', SCOPES_BEFORE_WEBHOOKS, SCOPES_WITH_WEBHOOKS),
                   f'''CREATE TRIGGER "activity_events" AFTER INSERT ON "activity"
                       WHEN EXISTS (SELECT 1 FROM "webhooks" WHERE "disabled_at" IS NULL)
                       BEGIN {ENQUEUE_WEBHOOK_MESSAGES}; END'''],
    }, down={
        'postgresql': ['DROP TRIGGER "activity_events" ON "activity"', 'DROP FUNCTION "activity_events"()',
                       'DELETE FROM "api_tokens" WHERE "scope" = \'webhooks\'',
                       'ALTER TABLE "api_tokens" DROP CONSTRAINT "api_tokens_scope_check"',
                       '''ALTER TABLE "api_tokens" ADD CONSTRAINT "api_tokens_scope_check"
                           CHECK ("scope" IN ('read', 'write'))''',
                       'ALTER TABLE "api_tokens" ALTER COLUMN "scope" TYPE VARCHAR(5)',
                       'DROP TABLE "event_listeners"', 'DROP TABLE "webhook_counters"', 'DROP TABLE "webhook_messages"',
                       'DROP TABLE "webhooks"'],
        'sqlite': ['DROP TRIGGER "activity_events"',
                   'DELETE FROM "api_tokens" WHERE "scope" = \'webhooks\'',
                   sqlite_edit_table('api_tokens', SCOPES_WITH_WEBHOOKS, SCOPES_BEFORE_WEBHOOKS),
                   'DROP TABLE "event_listeners"', 'DROP TABLE "webhook_counters"', 'DROP TABLE "webhook_messages"',
                   'DROP TABLE "webhooks"'],
    }),
]



def dialect(database):
    return 'postgresql' if isinstance(database, PostgresqlDatabase) else 'sqlite'


def run(database, statement):
    """One statement of a step: SQL, or a function of the database where SQL cannot say it."""
    if callable(statement):
        statement(database)
    else:
        database.execute_sql(statement)


def statements(database, sql):
    """The statements of one step's ``up`` or ``down`` for this database's dialect."""
    name = dialect(database)
    if isinstance(sql, dict):
        return sql[name]
    return in_dialect(name, sql)


@contextmanager
def _locked(database):
    """A transaction no other migrating process can enter; yields the applied versions."""
    sqlite = dialect(database) == 'sqlite'
    with database.atomic('IMMEDIATE') if sqlite else database.atomic():
        if not sqlite:
            database.execute_sql('SELECT pg_advisory_xact_lock(%s)', (ADVISORY_LOCK_KEY,))
        database.execute_sql('''CREATE TABLE IF NOT EXISTS "schema_migrations" (
            "version" INTEGER NOT NULL PRIMARY KEY,
            "name" VARCHAR(255) NOT NULL,
            "applied_at" VARCHAR(32) NOT NULL)''')
        cursor = database.execute_sql('SELECT "version" FROM "schema_migrations"')
        yield {version for (version,) in cursor.fetchall()}


def pending_versions(database):
    """The versions of the steps not applied yet (all of them when none is), without locking."""
    applied = set()
    if database.table_exists('schema_migrations'):
        applied = {version for (version,) in database.execute_sql('SELECT "version" FROM "schema_migrations"')}
    return [step.version for step in STEPS if step.version not in applied]


def upgrade(database, target=None):
    """Apply pending steps up to ``target`` (default: the latest). Returns the steps applied.

    Up to the latest on PostgreSQL, it then installs the functions that run the service's reads
    behind a pooler in transaction mode (models.install_pooled_functions), those of this release
    that are not there yet."""
    param = database.param
    done = []
    with _locked(database) as applied:
        for step in STEPS:
            if step.version in applied or (target is not None and step.version > target):
                continue
            for statement in statements(database, step.up):
                run(database, statement)
            database.execute_sql(
                f'INSERT INTO "schema_migrations" ("version", "name", "applied_at") '
                f'VALUES ({param}, {param}, {param})',
                (step.version, step.name, datetime.now(UTC).isoformat()))
            done.append(step)
        if dialect(database) == 'postgresql' and target is None:
            from models import install_pooled_functions  # (models reads the settings: only now)
            install_pooled_functions(database)
    return done


def downgrade(database, target=None):
    """Undo applied steps, newest first, down to version ``target`` (default: one step back)."""
    done = []
    with _locked(database) as applied:
        stop = (max(applied, default=0) - 1) if target is None else target
        for step in reversed(STEPS):
            if step.version not in applied or step.version <= stop:
                continue
            for statement in statements(database, step.down):
                run(database, statement)
            database.execute_sql(
                f'DELETE FROM "schema_migrations" WHERE "version" = {database.param}',
                (step.version,))
            done.append(step)
    return done


def status(database):
    """(step, applied?) for every step, oldest first."""
    with _locked(database) as applied:
        return [(step, step.version in applied) for step in STEPS]


def main(argv):
    parser = argparse.ArgumentParser(prog='python migrations.py',
                                     usage='%(prog)s [-h] [upgrade | status | downgrade [N]]',
                                     description=__doc__.split('\n\n')[0],
                                     epilog='The database is DATABASE_URL (default sqlite:///bucketlist.db).')
    commands = parser.add_subparsers(dest='command', metavar='{upgrade,status,downgrade}')
    commands.add_parser('upgrade', help='apply every pending step (the default)')
    commands.add_parser('status', help='list steps, applied or pending')
    down = commands.add_parser('downgrade', help='undo steps down to version N (default: one step)')
    down.add_argument('version', nargs='?', type=int, metavar='N')
    args = parser.parse_args(argv)
    from models import db
    if args.command == 'downgrade':
        steps = downgrade(db, args.version)
        print('\n'.join(f'reverted {s.version}: {s.name}' for s in steps) or 'nothing to revert')
    elif args.command == 'status':
        for step, applied in status(db):
            print(f'{step.version:>4}  {"applied" if applied else "pending":8} {step.name}')
    else:
        steps = upgrade(db)
        print('\n'.join(f'applied {s.version}: {s.name}' for s in steps) or 'already up to date')
    db.close()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
