"""The schema comes from migrations.py alone: steps apply once, undo cleanly and match models.py."""
import json
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from helpers import ON_POSTGRESQL
from peewee import IntegrityError

import migrations
from models import MODELS, open_database

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def empty_database_url(tmp_path):
    """The URL of a brand-new empty database of the kind the suite runs on."""
    if not ON_POSTGRESQL:
        yield f'sqlite:///{tmp_path}/migrations.db'
        return
    parts = urlsplit(os.environ['TEST_DATABASE_URL'])
    name = f'bucketlist_migrations_{uuid.uuid4().hex[:8]}'
    admin = psycopg2.connect(urlunsplit(parts._replace(scheme='postgresql')))
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE {name}')
    yield urlunsplit(parts._replace(path='/' + name))
    admin.cursor().execute(f'DROP DATABASE {name} WITH (FORCE)')
    admin.close()


@pytest.fixture
def empty_database(empty_database_url):
    database = open_database(empty_database_url.replace('postgresql://', 'postgresql+pool://', 1))
    yield database
    database.close()


def schema_of(database):
    """Tables with their columns, indexes and foreign keys, as the database reports them."""
    schema = {}
    for table in database.get_tables():
        if table in ('schema_migrations', 'sqlite_sequence'):  # the runner's own; SQLite's AUTOINCREMENT's
            continue
        schema[table] = (
            sorted((c.name, c.data_type.lower(), c.null, c.primary_key) for c in database.get_columns(table)),
            sorted((i.name, tuple(i.columns), i.unique) for i in database.get_indexes(table)),
            sorted((f.column, f.dest_table, f.dest_column) for f in database.get_foreign_keys(table)),
        )
    return schema


def test_migrations_match_the_models(empty_database):
    migrations.upgrade(empty_database)
    migrated = schema_of(empty_database)
    migrations.downgrade(empty_database, 0)
    assert schema_of(empty_database) == {}
    with empty_database.bind_ctx(MODELS):
        empty_database.create_tables(MODELS)
    declared = schema_of(empty_database)
    assert set(migrated) == {model._meta.table_name for model in MODELS}
    assert migrated == declared


def test_upgrade_twice_is_a_no_op(empty_database):
    assert len(migrations.upgrade(empty_database)) == len(migrations.STEPS)
    assert migrations.upgrade(empty_database) == []
    assert all(applied for _, applied in migrations.status(empty_database))


def test_downgrade_one_step_and_back(empty_database):
    migrations.upgrade(empty_database)
    undone = migrations.downgrade(empty_database)
    assert [step.version for step in undone] == [migrations.STEPS[-1].version]
    assert not migrations.status(empty_database)[-1][1]
    assert [s.version for s in migrations.upgrade(empty_database)] == [migrations.STEPS[-1].version]


def test_every_step_can_be_undone_and_redone(empty_database):
    migrations.upgrade(empty_database)
    migrations.downgrade(empty_database, 0)
    assert set(empty_database.get_tables()) - {'sqlite_sequence'} == {'schema_migrations'}
    migrations.upgrade(empty_database)
    assert set(empty_database.get_tables()) - {'sqlite_sequence'} == ({m._meta.table_name for m in MODELS}
                                                                        | {'schema_migrations'})


def test_accounts_step_refuses_to_orphan_existing_bucketlists(empty_database):
    migrations.upgrade(empty_database, target=1)
    empty_database.execute_sql("INSERT INTO bucketlists (name, date_created, date_modified) "
                               "VALUES ('old', '2020-01-01', '2020-01-01')")
    with pytest.raises(IntegrityError):
        migrations.upgrade(empty_database)
    # All or nothing: the failed step left no trace, the old row is still there.
    applied = [applied for _, applied in migrations.status(empty_database)]
    assert applied == [True] + [False] * (len(migrations.STEPS) - 1)
    assert empty_database.execute_sql('SELECT name FROM bucketlists').fetchall() == [('old',)]


def run_cli(url, *args):
    env = {**os.environ, 'DATABASE_URL': url, 'APP_SETTINGS': 'development'}
    return subprocess.Popen([sys.executable, 'migrations.py', *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_upgrades_apply_each_step_once(empty_database_url, empty_database):
    runs = [run_cli(empty_database_url) for _ in range(4)]
    results = [run.communicate(timeout=60) + (run.returncode,) for run in runs]
    assert [code for _, _, code in results] == [0, 0, 0, 0], results
    applied_lines = [line for out, _, _ in results for line in out.splitlines() if line.startswith('applied')]
    assert len(applied_lines) == len(migrations.STEPS)
    rows = empty_database.execute_sql('SELECT version FROM schema_migrations ORDER BY version').fetchall()
    assert [version for (version,) in rows] == [step.version for step in migrations.STEPS]


def test_cli_status_and_downgrade(empty_database_url):
    out, _ = run_cli(empty_database_url).communicate(timeout=60)
    assert 'applied 1: create bucketlists' in out
    out, _ = run_cli(empty_database_url, 'status').communicate(timeout=60)
    assert out.count('applied') == len(migrations.STEPS)
    out, _ = run_cli(empty_database_url, 'downgrade', '1').communicate(timeout=60)
    assert 'reverted 2' in out and 'reverted 3' in out
    run = run_cli(empty_database_url, 'sideways')
    run.communicate(timeout=60)
    assert run.returncode == 2


def test_the_planning_step_upgrades_a_database_holding_data_and_downgrades(empty_database):
    migrations.upgrade(empty_database, target=6)
    sql = empty_database.execute_sql
    sql("INSERT INTO users (id, email, password_hash, date_created) VALUES (1, 'a@example.com', 'x', '2020-01-01')")
    for bucketlist_id in (1, 2):
        sql(f"INSERT INTO bucketlists (id, name, owner_id, date_created, date_modified) "
            f"VALUES ({bucketlist_id}, 'list {bucketlist_id}', 1, '2020-01-01', '2020-01-01')")
    for item_id, bucketlist_id, done in [(5, 1, True), (3, 1, False), (9, 2, False), (7, 1, False)]:
        sql(f"INSERT INTO items (id, name, done, bucketlist_id, date_created, date_modified) VALUES "
            f"({item_id}, 'item {item_id}', {'true' if done else 'false'}, {bucketlist_id}, '2020-01-01', "
            f"'2021-02-03 04:05:06')")
    migrations.upgrade(empty_database)
    rows = sql('SELECT id, position, done_at IS NOT NULL, notes FROM items ORDER BY id').fetchall()
    # Each list's items in id order, from 0; the done one was done when last changed.
    assert [tuple(row) for row in rows] == [(3, 0, False, ''), (5, 1, True, ''), (7, 2, False, ''), (9, 0, False, '')]
    assert sql('SELECT description FROM bucketlists WHERE id = 1').fetchone()[0] == ''
    sql("UPDATE items SET name = 'renamed' WHERE id = 3")  # the version triggers work on old rows
    assert sql('SELECT version FROM items WHERE id = 3').fetchone()[0] > 0
    migrations.downgrade(empty_database, 6)
    assert [row[0] for row in sql('SELECT name FROM items ORDER BY id').fetchall()] == [
        'renamed', 'item 5', 'item 7', 'item 9']
    assert 'position' not in [column.name for column in empty_database.get_columns('items')]
    migrations.upgrade(empty_database)


def test_the_counts_step_counts_the_bucketlists_each_account_holds_and_keeps_counting(empty_database):
    migrations.upgrade(empty_database, target=8)
    sql = empty_database.execute_sql
    for user_id in (1, 2, 3):
        sql(f"INSERT INTO users (id, email, password_hash, date_created) "
            f"VALUES ({user_id}, 'u{user_id}@example.com', 'x', '2020-01-01')")
    for bucketlist_id, owner_id in [(1, 1), (2, 1), (3, 2)]:
        sql(f"INSERT INTO bucketlists (id, name, owner_id, date_created, date_modified) "
            f"VALUES ({bucketlist_id}, 'list {bucketlist_id}', {owner_id}, '2020-01-01', '2020-01-01')")
    migrations.upgrade(empty_database)
    counts = lambda: [tuple(row) for row in sql('SELECT id, bucketlist_count FROM users ORDER BY id')]  # noqa: E731
    assert counts() == [(1, 2), (2, 1), (3, 0)]
    sql("INSERT INTO bucketlists (id, name, owner_id, date_created, date_modified) "
        "VALUES (4, 'list 4', 3, '2020-01-01', '2020-01-01')")
    sql('DELETE FROM bucketlists WHERE id IN (1, 3)')
    assert counts() == [(1, 1), (2, 0), (3, 1)]
    migrations.downgrade(empty_database, 8)
    assert 'bucketlist_count' not in [column.name for column in empty_database.get_columns('users')]
    migrations.upgrade(empty_database)
    assert counts() == [(1, 1), (2, 0), (3, 1)]


def test_the_item_counts_step_counts_each_lists_items_and_keeps_counting_without_new_versions(empty_database):
    migrations.upgrade(empty_database, target=9)
    sql = empty_database.execute_sql
    sql("INSERT INTO users (id, email, password_hash, date_created) VALUES (1, 'u1@example.com', 'x', '2020-01-01')")
    for bucketlist_id in (1, 2, 3):
        sql(f"INSERT INTO bucketlists (id, name, owner_id, date_created, date_modified) "
            f"VALUES ({bucketlist_id}, 'list {bucketlist_id}', 1, '2020-01-01', '2020-01-01')")
    add = ("INSERT INTO items (id, name, done, bucketlist_id, date_created, date_modified, position) "
           "VALUES ({0}, 'item {0}', false, {1}, '2020-01-01', '2020-01-01', 0)")
    for item_id, bucketlist_id in [(1, 1), (2, 1), (3, 2)]:
        sql(add.format(item_id, bucketlist_id))
    migrations.upgrade(empty_database)
    counts = lambda: [tuple(row) for row in sql('SELECT id, item_count FROM bucketlists ORDER BY id')]  # noqa: E731
    versions = lambda: [row[0] for row in sql('SELECT version FROM bucketlists ORDER BY id')]  # noqa: E731
    assert counts() == [(1, 2), (2, 1), (3, 0)]
    before = versions()
    sql(add.format(4, 3))
    sql('UPDATE items SET bucketlist_id = 3 WHERE id = 1')  # a move
    sql('DELETE FROM items WHERE id = 3')
    assert counts() == [(1, 1), (2, 0), (3, 2)]
    assert versions() == before  # a list's sync is not sent again for its items' sake
    sql('DELETE FROM bucketlists WHERE id = 3')  # its items go with it
    assert counts() == [(1, 1), (2, 0)]
    sql("UPDATE bucketlists SET name = 'renamed' WHERE id = 1")
    assert versions()[0] != before[0]  # a list's own change still has a new version
    migrations.downgrade(empty_database, 9)
    assert 'item_count' not in [column.name for column in empty_database.get_columns('bucketlists')]
    migrations.upgrade(empty_database)
    assert counts() == [(1, 1), (2, 0)]


def test_the_editors_step_lists_each_lists_editors_and_keeps_them_without_new_versions(empty_database):
    if not ON_POSTGRESQL:
        return  # SQLite runs one writer at a time: its writes read the memberships
    migrations.upgrade(empty_database, target=10)
    sql = empty_database.execute_sql
    for user_id in (1, 2, 3, 4):
        sql(f"INSERT INTO users (id, email, password_hash, date_created) "
            f"VALUES ({user_id}, 'u{user_id}@example.com', 'x', '2020-01-01')")
    for bucketlist_id in (1, 2):
        sql(f"INSERT INTO bucketlists (id, name, owner_id, date_created, date_modified) "
            f"VALUES ({bucketlist_id}, 'list {bucketlist_id}', 1, '2020-01-01', '2020-01-01')")
    share = ("INSERT INTO memberships (bucketlist_id, user_id, role, date_added) "
             "VALUES ({0}, {1}, '{2}', '2020-01-01')")
    for bucketlist_id, user_id, role in [(1, 2, 'editor'), (1, 3, 'viewer'), (2, 3, 'editor')]:
        sql(share.format(bucketlist_id, user_id, role))
    migrations.upgrade(empty_database)
    editors = lambda: [sorted(row[1]) for row in sql('SELECT id, editor_ids FROM bucketlists ORDER BY id')]  # noqa: E731
    versions = lambda: [row[0] for row in sql('SELECT version FROM bucketlists ORDER BY id')]  # noqa: E731
    assert editors() == [[2], [3]]
    before = versions()
    sql("UPDATE memberships SET role = 'editor' WHERE bucketlist_id = 1 AND user_id = 3")
    sql(share.format(1, 4, 'editor'))
    sql("UPDATE memberships SET role = 'viewer' WHERE bucketlist_id = 1 AND user_id = 2")
    sql('DELETE FROM memberships WHERE bucketlist_id = 2')
    assert editors() == [[3, 4], []]
    assert versions() == before  # a list's sync is not sent again for its members' sake
    sql('DELETE FROM users WHERE id = 4')  # an account's deletion ends its memberships
    assert editors() == [[3], []]
    migrations.downgrade(empty_database, 10)
    assert 'editor_ids' not in [column.name for column in empty_database.get_columns('bucketlists')]
    migrations.upgrade(empty_database)
    assert editors() == [[3], []]


SERVE_UNMIGRATED = '''
import json
from webtest import TestApp
import bucketlist
app = TestApp(bucketlist.app)
answers = [app.post_json('/auth/register', {'email': 'ada@example.com', 'password': 'long enough'},
                         expect_errors=True), app.get('/health', expect_errors=True)]
print(json.dumps([[res.status_int, res.json.get('detail')] for res in answers]))
'''


def test_before_its_migrations_the_service_says_to_run_them(empty_database_url):
    """Not "the database is unavailable", which sends an operator to look at the wrong thing."""
    env = {**os.environ, 'DATABASE_URL': empty_database_url}

    def serve():
        ran = subprocess.run([sys.executable, '-c', SERVE_UNMIGRATED], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=60, check=False)
        assert ran.returncode == 0, ran.stderr[-2000:]
        return json.loads(ran.stdout.strip().splitlines()[-1])
    for status, detail in serve():
        assert status == 503 and '"python migrations.py"' in detail
    migrations.upgrade(open_database(empty_database_url.replace('postgresql://', 'postgresql+pool://', 1)))
    assert [status for status, _ in serve()] == [201, 200]


def test_the_ids_step_never_reuses_a_deleted_bucketlists_or_items_id(empty_database):
    migrations.upgrade(empty_database, target=11)
    sql = empty_database.execute_sql
    sql("INSERT INTO users (id, email, password_hash, date_created) VALUES (1, 'u1@example.com', 'x', '2020-01-01')")
    new_list = ("INSERT INTO bucketlists (name, owner_id, date_created, date_modified)"
                " VALUES ('list', 1, '2020-01-01', '2020-01-01') RETURNING id")
    new_item = ("INSERT INTO items (name, done, bucketlist_id, date_created, date_modified, position)"
                " VALUES ('item', false, {0}, '2020-01-01', '2020-01-01', 0) RETURNING id")
    first = sql(new_list).fetchone()[0]
    last_item = sql(new_item.format(first)).fetchone()[0]
    migrations.upgrade(empty_database)
    sql(f'DELETE FROM bucketlists WHERE id = {first}')  # and its item
    second = sql(new_list).fetchone()[0]
    assert second > first and sql(new_item.format(second)).fetchone()[0] > last_item
    migrations.downgrade(empty_database, 11)
    migrations.upgrade(empty_database)
    sql(f'DELETE FROM bucketlists WHERE id = {second}')
    assert sql(new_list).fetchone()[0] > second
