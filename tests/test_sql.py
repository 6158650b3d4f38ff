"""The SQL written by hand (sql.py): named parameters in each driver's style, named rows, variants
built when first used, and the statements that prove the access token's session."""
import pytest
from helpers import ON_POSTGRESQL

import sql
from models import db


def test_a_statement_is_translated_once_into_each_drivers_style():
    statement = sql.Statement('probe', 'SELECT :done::boolean AND :done, :id, now()::text::date AS day')
    assert statement.parameters == ('done', 'id')
    assert statement.postgresql == 'SELECT $1::boolean AND $1, $2, now()::text::date AS day'
    assert statement.execute == 'EXECUTE probe(%s, %s)'
    assert statement.pyformat == 'SELECT %(done)s::boolean AND %(done)s, %(id)s, now()::text::date AS day'
    assert statement.sqlite == 'SELECT :done AND :done, :id, now()::text::date AS day'


def test_rows_are_named_after_the_columns(user):
    trip = user.post_json('/bucketlists/', {'name': 'Trip'}, status=201).json
    user.post_json(f'/bucketlists/{trip["id"]}/items/', {'name': 'Tent', 'done': True}, status=201)
    with db.connection_context():
        rows = sql.run('bucketlist_with_items', bucketlist_id=trip['id'], user_id=trip['created_by'],
                       session_id=None, unused='left aside')
        lists = sql.run(sql.list_bucketlists('all', '', 'name', 'desc'), user_id=trip['created_by'],
                        session_id=None, limit=10, offset=0)
    (row,) = rows
    assert (row.name, row.done, row.position, row.bucketlist_id, row.list_name, row.list_role) == (
        'Tent', True, 0, trip['id'], 'Trip', 'owner')
    assert row.due_date is None and row.date_created.year > 2000  # (SQLite's text made Python's)
    assert sql.prefixed(row, sql.LIST_PREFIX).name == 'Trip'
    assert [(listed.name, listed.role, listed.total) for listed in lists] == [('Trip', 'owner', 1)]


def test_variants_are_built_when_first_used_and_only_from_their_choices():
    assert sql.list_items('name', 'desc') is sql.list_items('name', 'desc')
    assert sql.list_items('name', 'desc').name == 'list_items_name_desc'
    assert sql.named('list_bucketlists_shared_searched_date_modified_asc').reads
    for choices in (('name; DROP TABLE items', 'asc'), ('name', 'sideways'), ('name',)):
        with pytest.raises(ValueError):
            sql.list_items(*choices)


def test_every_statement_that_checks_the_session_is_declared_so():
    for statement in sql.every_statement():
        checks = sql.SESSION_OPEN in statement.sql or statement.name == 'session_open'
        assert statement.checks_session == checks, statement.name


def test_reads_run_as_prepared_statements_on_postgresql(user):
    if not ON_POSTGRESQL:
        return  # SQLite prepares its own, by the text
    trip = user.post_json('/bucketlists/', {'name': 'Trip'}, status=201).json
    with db.connection_context():
        sql.one(sql.bucketlist_seen(''), bucketlist_id=trip['id'], user_id=trip['created_by'], session_id=None)
        prepared = {name for (name,) in db.execute_sql('SELECT name FROM pg_prepared_statements')}
    assert 'bucketlist_seen' in prepared
