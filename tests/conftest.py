"""Fixtures: the app on a freshly migrated database (SQLite, or PostgreSQL from
TEST_DATABASE_URL), emptied after every test, and logged-in WebTest clients."""
import logging
import os
import tempfile

import pytest

# Settings are read once at import: choose the database before anything imports them.
os.environ['APP_SETTINGS'] = 'testing'
os.environ['TOKEN_TTL_SECONDS'] = os.environ.get('TOKEN_TTL_SECONDS', '3600')
# A GET /events stream ends this soon, so that a test reading every route reads it whole.
os.environ['EVENT_STREAM_MAX_SECONDS'], os.environ['EVENT_POLL_SECONDS'] = '0.2', '0.05'
TEST_DIR = tempfile.mkdtemp(prefix='bucketlist-tests-')
os.environ['DATABASE_URL'] = (os.environ.get('TEST_DATABASE_URL')
                              or f'sqlite:///{TEST_DIR}/test.db')

from helpers import ON_POSTGRESQL, DocumentedTestApp, register_and_login  # noqa: E402

import bucketlist  # noqa: E402
import migrations  # noqa: E402
from models import MODELS, db  # noqa: E402


def pytest_report_header(config):
    return f'database: {migrations.dialect(db)} ({os.environ["DATABASE_URL"]})'


@pytest.fixture(scope='session', autouse=True)
def schema():
    if ON_POSTGRESQL:
        db.execute_sql('DROP SCHEMA public CASCADE')
        db.execute_sql('CREATE SCHEMA public')
    migrations.upgrade(db)
    db.close()
    yield
    db.close()


@pytest.fixture(autouse=True)
def empty_tables():
    yield
    empty_tables_now()


def empty_tables_now():
    tables = [model._meta.table_name for model in MODELS]
    with db.connection_context():
        if ON_POSTGRESQL:
            db.execute_sql(f'TRUNCATE {", ".join(tables)} RESTART IDENTITY CASCADE')
        else:
            for table in reversed(tables):
                db.execute_sql(f'DELETE FROM "{table}"')
            db.execute_sql('DELETE FROM sqlite_sequence')  # ids restart, as RESTART IDENTITY does
        db.execute_sql('INSERT INTO sync_state (id, next_version, purged_below) VALUES (1, 1, 0)')


@pytest.fixture
def client():
    """An anonymous client."""
    return DocumentedTestApp(bucketlist.app)


@pytest.fixture
def user():
    """A client logged in as alice@example.com."""
    return register_and_login('alice@example.com')


@pytest.fixture
def other_user():
    """A second, unrelated account: it must never see alice's data."""
    return register_and_login('bob@example.com')


@pytest.fixture
def queries(caplog):
    """Counts the SQL statements peewee runs during a call (it logs each at DEBUG).

    PREPARE does not count: PostgreSQL prepares a hot statement once per connection, not per request
    (in a transaction, sent with its BEGIN: a test on a connection new to it counted it).
    """
    def count(call):
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger='peewee'):
            call()
        return sum(1 for record in caplog.records
                   if record.name == 'peewee' and not str(record.msg[0]).startswith(('PREPARE ', 'BEGIN; PREPARE ')))
    return count
