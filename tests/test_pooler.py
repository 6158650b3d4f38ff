"""Behind a pooler in transaction mode (DATABASE_POOLER=transaction) PostgreSQL cannot keep a
prepared statement for the service, so its reads run as functions that ``python migrations.py``
installs, whose plans PostgreSQL keeps per server connection. They answer as the statements do."""
from helpers import ON_POSTGRESQL, PASSWORD, accept_invitations, register_and_login
from webtest import TestApp

import bucketlist
import migrations
import settings
import sql
from models import db

# Every read the routes make: each order both ways, each role filter, with and without a search,
# empty pages (which count alone), one list, one item, members, the sync.
BUCKETLIST_PAGES = [f'/bucketlists/?sort={way}{sort}&limit=2&page={page}{role}{q}'
                    for sort in ('id', 'name', 'date_created', 'date_modified') for way in ('', '-')
                    for role in ('', '&role=owner', '&role=editor') for q in ('', '&q=tr') for page in (1, 2, 9)]
ITEM_PAGES = [f'/bucketlists/{{trip}}/items/?sort={way}{sort}&limit=2&page={page}{query}'
              for sort in ('position', 'name', 'due_date', 'priority', 'date_created', 'date_modified', 'done_at')
              for way in ('', '-') for query in ('', '&done=true&q=t&priority=2') for page in (1, 9)]
READS = ['/bucketlists/{trip}', '/bucketlists/{trip}/items/{item}', '/bucketlists/{trip}/members', '/sync',
         '/sync?cursor={cursor}',
         '/bucketlists/?role=viewer', *BUCKETLIST_PAGES, *ITEM_PAGES]


def shared_lists():
    """Alice's lists, one of them shared with Eddie as an editor, who has lists of his own."""
    alice, eddie = register_and_login('alice@example.com'), register_and_login('eddie@example.com')
    for name in ('Trip', 'Books', 'Trees', 'Skills'):
        alice.post_json('/bucketlists/', {'name': name}, status=201)
    trip = eddie.post_json('/bucketlists/', {'name': 'Eddie trip'}, status=201).json['id']
    eddie.post_json(f'/bucketlists/{trip}/members', {'email': 'alice@example.com', 'role': 'editor'}, status=201)
    accept_invitations(alice)
    for name, due in (('Tent', '2027-05-01'), ('Map', None), ('Boots', '2027-04-01'), ('Tea', None)):
        item = alice.post_json(f'/bucketlists/{trip}/items/', {'name': name, 'due_date': due}, status=201).json['id']
        alice.patch_json(f'/bucketlists/{trip}/items/{item}', {'done': name.startswith('T')}, status=200)
    return alice, eddie, {'trip': trip, 'item': item}


def read_everything(client, ids):
    """Each read's status, total and body; the sync's cursor aside (it moves with every write of
    the whole database, such as a token's use): what changed since is read too."""
    answers = []
    for url in READS:
        res = client.get(url.format(**ids), expect_errors=True)
        body = res.json
        if url.startswith('/sync'):
            ids = dict(ids, cursor=body.pop('cursor'))
        answers.append((url, res.status_int, res.headers.get('X-Total-Count'), body))
    return answers


def test_every_read_answers_the_same_behind_a_transaction_pooler(monkeypatch):
    alice, eddie, ids = shared_lists()
    script = TestApp(bucketlist.app)  # an API token's requests check it with a read of their own
    script.authorization = ('Bearer', alice.post_json('/users/me/tokens', {
        'name': 'backup', 'scope': 'read', 'password': PASSWORD}, status=201).json['token'])
    direct = [read_everything(client, ids) for client in (alice, eddie, script)]
    monkeypatch.setattr(settings, 'DATABASE_POOLER', 'transaction')
    pooled = [read_everything(client, ids) for client in (alice, eddie, script)]
    assert pooled == direct
    assert all(status == 200 for reads in pooled for _, status, _, _ in reads)
    assert {total for reads in pooled for _, _, total, _ in reads} > {'0', '1', '2', '4', '5'}


def test_writes_that_lock_their_list_behind_a_transaction_pooler(monkeypatch):
    """A member's new item, a move and a removal read their list locked, by its function."""
    alice, eddie, ids = shared_lists()
    monkeypatch.setattr(settings, 'DATABASE_POOLER', 'transaction')
    trip, item = ids['trip'], ids['item']
    added = alice.post_json(f'/bucketlists/{trip}/items/', {'name': 'Stove'}, status=201).json
    alice.post_json(f'/bucketlists/{trip}/items/{added["id"]}/move', {'position': 0}, status=200)
    alice.patch_json(f'/bucketlists/{trip}/items/{item}', {'notes': 'the red ones'}, status=200)
    alice.delete(f'/bucketlists/{trip}/items/{item}', status=200)
    eddie.patch_json(f'/bucketlists/{trip}/members/{alice_id(alice)}', {'role': 'viewer'}, status=200)
    eddie.delete(f'/bucketlists/{trip}', status=200)
    monkeypatch.setattr(settings, 'DATABASE_POOLER', 'none')
    eddie.get(f'/bucketlists/{trip}', status=404)


def alice_id(client):
    return client.get('/users/me').json['id']


def function_of(statement):
    """The definition of the function installed for the statement ``statement`` (sql.py)."""
    with db.connection_context():
        return db.execute_sql('SELECT pg_get_functiondef(p.oid) FROM pg_proc p WHERE p.proname = %s',
                              (sql.pooled_function_name(statement),)).fetchone()[0]


def test_behind_a_transaction_pooler_a_read_is_the_function_the_database_holds(user, monkeypatch):
    if not ON_POSTGRESQL:
        return  # SQLite has no pooler, and no functions
    trip = user.post_json('/bucketlists/', {'name': 'Trip'}, status=201).json['id']
    installed = function_of('bucketlist_with_items')
    try:
        with db.connection_context():  # the function now says where the answer came from
            db.execute_sql(installed.replace('b.name AS list_name,', "'from the function'::varchar AS list_name,", 1))
        assert user.get(f'/bucketlists/{trip}').json['name'] == 'Trip'
        monkeypatch.setattr(settings, 'DATABASE_POOLER', 'transaction')
        assert user.get(f'/bucketlists/{trip}').json['name'] == 'from the function'
    finally:
        with db.connection_context():
            db.execute_sql(installed)


def test_a_read_whose_function_is_missing_is_a_503_and_readiness_says_to_migrate(user, client, monkeypatch, caplog):
    if not ON_POSTGRESQL:
        return  # SQLite has no pooler, and no functions
    trip = user.post_json('/bucketlists/', {'name': 'Trip'}, status=201).json['id']
    monkeypatch.setattr(settings, 'DATABASE_POOLER', 'transaction')
    user.get(f'/bucketlists/{trip}', status=200)  # the function is known to this process
    client.get('/readyz', status=200)
    with db.connection_context():
        db.execute_sql(f'DROP FUNCTION {sql.pooled_function_name("bucketlist_with_items")}')
    try:
        for _ in range(2):  # once when the call fails, once when the process looks for it again
            res = user.get(f'/bucketlists/{trip}', status=503)
            assert res.headers['Retry-After'] and 'bucketlist_with_items' not in res.text
        assert caplog.text.count('run "python migrations.py"') == 2
        user.get('/bucketlists/', status=200)  # the other reads have theirs
        res = client.get('/readyz', status=503)
        assert 'python migrations.py' in res.json['detail'] and res.headers['Retry-After']
    finally:
        migrations.upgrade(db)  # installs what is missing
    assert user.get(f'/bucketlists/{trip}', status=200).json['name'] == 'Trip'
    client.get('/readyz', status=200)
    monkeypatch.setattr(settings, 'DATABASE_POOLER', 'none')  # a direct connection needs none of them
    with db.connection_context():
        db.execute_sql(f'DROP FUNCTION {sql.pooled_function_name("bucketlist_with_items")}')
    try:
        client.get('/readyz', status=200)
    finally:
        migrations.upgrade(db)


def test_a_migration_that_changes_a_column_type_gets_the_functions_replaced(user, monkeypatch):
    """A read's text, and so its function's name, stays when a column's type changes under it:
    the function no longer fits its statement until the upgrade replaces it."""
    if not ON_POSTGRESQL:
        return  # SQLite has no pooler, and no functions
    trip = user.post_json('/bucketlists/', {'name': 'Trip'}, status=201).json['id']
    monkeypatch.setattr(settings, 'DATABASE_POOLER', 'transaction')
    user.get(f'/bucketlists/{trip}', status=200)
    try:
        with db.connection_context():  # a list's role is 'owner' or a membership's
            db.execute_sql('ALTER TABLE memberships ALTER COLUMN role TYPE text')
        user.get(f'/bucketlists/{trip}', status=503)
        migrations.upgrade(db)
        assert user.get(f'/bucketlists/{trip}', status=200).json['role'] == 'owner'
    finally:
        with db.connection_context():
            db.execute_sql('ALTER TABLE memberships ALTER COLUMN role TYPE varchar(6)')
        migrations.upgrade(db)
        db.close_all()  # their prepared statements return the type of before
    assert user.get(f'/bucketlists/{trip}', status=200).json['role'] == 'owner'


def test_readiness_behind_a_transaction_pooler(client, monkeypatch):
    """Ready with every read's function installed; on SQLite, which has no pooler, the setting asks
    for none."""
    monkeypatch.setattr(settings, 'DATABASE_POOLER', 'transaction')
    assert client.get('/readyz', status=200).json['status'] == 'ready'


def test_migrating_installs_a_function_for_every_read_and_writes_none():
    if not ON_POSTGRESQL:
        return  # SQLite has no pooler, and no functions
    with db.connection_context():
        installed = {name for (name,) in db.execute_sql("SELECT proname FROM pg_proc WHERE proname LIKE 'hot\\_%%'")}
    statements = [statement.name for statement in sql.every_statement()]
    reads = [statement.name for statement in sql.every_statement() if statement.sql.startswith('SELECT')]
    assert {sql.pooled_function_name(name) for name in reads} <= installed
    assert len(reads) > 50 and 'insert_bucketlist' not in reads and 'update_item' not in reads
    assert len({sql.pooled_function_name(name) for name in statements}) == len(statements)


def test_a_transaction_pooler_not_declared_is_a_503_whose_log_names_the_setting(user, caplog):
    """Behind PgBouncer in transaction mode, a server connection may hold the statements another
    client prepared: preparing one again fails. Without DATABASE_POOLER=transaction that is what
    happens, and the operator must be told which setting to set, not get a 500."""
    if not ON_POSTGRESQL:
        return  # SQLite has no pooler
    user.get('/bucketlists/', status=200)  # (its statement prepared on the connection)
    with db.connection_context():
        db.connection().prepared.clear()  # as a server connection dealt by a pooler looks to it
    res = user.get('/bucketlists/', status=503)
    assert res.json['type'] == 'about:blank' and 'Retry-After' in res.headers
    assert any('DATABASE_POOLER=transaction' in record.getMessage() for record in caplog.records)
    user.get('/bucketlists/', status=200)  # the connection that failed is not dealt again
