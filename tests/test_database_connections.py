"""The database connection as PostgreSQL poolers and migrations leave it: prepared statements it forgot
cost one 503, then heal; a statement longer than the timeout is cancelled."""
import pytest
from helpers import ON_POSTGRESQL, new_list
from peewee import OperationalError

import settings
from models import db


def test_statements_the_database_forgot_cost_one_503_then_heal(user):
    # PostgreSQL runs the hot statements prepared once per connection. A pooler in transaction
    # mode, or a migration changing a column they return, leaves the connection without them.
    bucketlist_id = new_list(user)[0]['id']
    user.get(f'/bucketlists/{bucketlist_id}', status=200)
    with db.connection_context():  # the pool's one idle connection, the one the GET used
        db.execute_sql('DEALLOCATE ALL' if ON_POSTGRESQL else 'SELECT 1')
    res = user.get(f'/bucketlists/{bucketlist_id}', expect_errors=True)
    if ON_POSTGRESQL:
        assert res.status_int == 503 and res.headers['Retry-After'] == '1'
    else:
        assert res.status_int == 200  # SQLite prepares nothing to forget
    user.get(f'/bucketlists/{bucketlist_id}', status=200)


def test_a_statement_longer_than_the_timeout_is_cancelled(monkeypatch):
    # Set on each connection by a SET (PgBouncer refuses the options startup parameter).
    if not ON_POSTGRESQL:
        return  # SQLite has no statement timeout; its statements are local
    monkeypatch.setattr(settings, 'DATABASE_STATEMENT_TIMEOUT_MS', 200)
    db.close_all()
    with db.connection_context():
        with pytest.raises(OperationalError, match='statement timeout'):
            db.execute_sql('SELECT pg_sleep(2)')
    db.close_all()
