"""The SQL written by hand: the busiest statements, each declared once with named parameters, and how they run.

Building these with peewee on every request took longer than PostgreSQL took to run them, so they
are written here, once each, as PostgreSQL's SQL with named parameters (``:bucketlist_id``, with a
cast where PostgreSQL needs one: ``:done::boolean``). A statement is built when first used and
translated once into each driver's style: a prepared statement on PostgreSQL (``$1``), pyformat
behind a pooler in transaction mode (``%(bucketlist_id)s``), SQLite's own ``:bucketlist_id``. Its
rows are named tuples of its columns: ``row.position``, never ``row[9]``.

    rows = sql.run(sql.list_items('name', 'asc'), bucketlist_id=7, pattern='%', done=None, ...)
    rows[0].total

The columns of bucketlists and items come from the Peewee models and fields.py (``shown_fields``,
``columns``): a field added there is read, inserted and updated by these statements too.

The bucketlist reads also check the access token's session (``:session_id``, NULL for an API
token, looked up already), so that a GET is one round trip; such a statement is declared
``checks_session``: it runs instead of the session's check (database.check_session_first), and a
row from it proves the session open. On a miss the check runs before anything else (or as the
request ends), and tells 401 from 404.
"""
import functools
import hashlib
import itertools
import json
import re
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from typing import Any

from peewee import DatabaseError, Field, OperationalError

import fields
import settings
from database import ON_POSTGRESQL, check_session_first, db, take_session_check
from fields import BUCKETLIST_SORTS, ITEM_SORTS

# A row of a statement: a named tuple of its columns, built from the columns the database names.
Row = tuple[Any, ...]


# --- Statements ----------------------------------------------------------------------------------

# A parameter: a colon and a name, and the cast after it if any (``:done::boolean``). A cast's own
# colons (``::text``) are not a parameter: the name must not follow a colon or a word character.
PARAMETER = re.compile(r'(?<![:\w]):([a-z_][a-z0-9_]*)(::[a-z]+)?')


class Statement:
    """One statement, as each driver runs it, worked out once from its SQL.

    ``sql`` is PostgreSQL's, with named parameters; ``parameters`` are their names in the order of
    PostgreSQL's numbers ($1, $2…). ``reads``: a SELECT, which behind a pooler in transaction mode
    runs as a function (``install_pooled_functions``). ``make_row`` turns a row as the driver gives
    it into the statement's named row: learnt from the first answer's columns."""
    __slots__ = ('name', 'sql', 'checks_session', 'parameters', 'postgresql', 'prepare', 'execute', 'pyformat',
                 'sqlite', 'reads', 'make_row')

    def __init__(self, name: str, sql: str, checks_session: bool = False):
        if '%' in sql:  # psycopg2 reads it as a placeholder, even in a statement run without values
            raise ValueError(f'{name}: a % in the SQL must come as a parameter (a LIKE pattern does)')
        self.name, self.sql, self.checks_session = name, sql, checks_session
        self.parameters = tuple(dict.fromkeys(match[1] for match in PARAMETER.finditer(sql)))
        number = {parameter: n for n, parameter in enumerate(self.parameters, 1)}
        self.postgresql = PARAMETER.sub(lambda match: f'${number[match[1]]}{match[2] or ""}', sql)
        self.prepare = f'PREPARE {name} AS {self.postgresql}'
        self.execute = f'EXECUTE {name}({", ".join(["%s"] * len(self.parameters))})' if self.parameters else (
            f'EXECUTE {name}')
        self.pyformat = PARAMETER.sub(r'%(\1)s\2', sql)
        self.sqlite = PARAMETER.sub(r':\1', sql)  # (without the casts, which SQLite does not have)
        self.reads = sql.startswith('SELECT ')
        self.make_row: Callable[[tuple], Row] | None = None

    def __repr__(self):
        return f'<Statement {self.name}>'


_DECLARED: list[Callable[..., Statement]] = []  # each declared statement's function, for every_statement
_BY_NAME: dict[str, Statement] = {}  # the statements built so far, by name


def declare(*variants: tuple[str, ...], checks_session: bool = False
            ) -> Callable[[Callable[..., str]], Callable[..., Statement]]:
    """Declare the function below, which returns a statement's SQL, as a statement: called with one
    value of each of ``variants`` (a sort key, a direction…; none without variants), it returns the
    Statement of that variant, built when first asked for and then kept. Its name is the function's
    and the values ('' left out): ``list_items('name', 'asc')`` is list_items_name_asc.
    ``checks_session``: its SQL checks the access token's session (``SESSION_OPEN``)."""
    def declaration(sql_of: Callable[..., str]) -> Callable[..., Statement]:
        @functools.cache
        def statement(*choices: str) -> Statement:
            # (A value outside ``variants``, such as a sort key nobody checked, must not reach the SQL.)
            if len(choices) != len(variants) or any(choice not in allowed
                                                    for choice, allowed in zip(choices, variants, strict=True)):
                raise ValueError(f'{sql_of.__name__} has no variant {choices}')
            name = '_'.join([sql_of.__name__, *filter(None, choices)])
            _BY_NAME[name] = Statement(name, sql_of(*choices), checks_session)
            return _BY_NAME[name]
        statement.variants = variants
        statement.__name__, statement.__doc__ = sql_of.__name__, sql_of.__doc__
        _DECLARED.append(statement)
        return statement
    return declaration


def every_statement() -> list[Statement]:
    """Every statement, each variant of each declaration, built now if not yet."""
    return [statement(*choices) for statement in _DECLARED for choices in itertools.product(*statement.variants)]


def named(name: str) -> Statement:
    """The statement called ``name``, as ``every_statement`` names them."""
    if name not in _BY_NAME:
        every_statement()
    return _BY_NAME[name]


# --- Running them --------------------------------------------------------------------------------

def run(statement: Statement | str, /, **values: Any) -> list[Row]:
    """The rows of ``statement`` (or of the statement of that name) run with ``values``, a value for
    each of its parameters by name (others are left aside)."""
    if isinstance(statement, str):
        statement = named(statement)
    cursor, rows = _proving(statement, values, lambda cursor: cursor.fetchall())
    if not rows:
        return rows
    return list(map(statement.make_row or _learn_rows(statement, cursor.description), rows))


def one(statement: Statement | str, /, **values: Any) -> Row | None:
    """The first row of ``statement`` run with ``values`` (see ``run``), or None."""
    if isinstance(statement, str):
        statement = named(statement)
    cursor, row = _proving(statement, values, lambda cursor: cursor.fetchone())
    if row is None:
        return None
    return (statement.make_row or _learn_rows(statement, cursor.description))(row)


def _proving(statement: Statement, values: Mapping[str, Any], fetch: Callable) -> tuple[Any, Any]:
    """(cursor, what ``fetch`` read of it) of ``statement`` run with ``values``. A statement that
    checks the access token's session (``checks_session``, with a ``session_id``) runs instead of
    the session's check (database.check_session_first), and a row from it proves the session
    open; without one, the check is left to run."""
    if not (statement.checks_session and values.get('session_id') is not None):
        cursor = _execute(statement, values)
        return cursor, fetch(cursor)
    session = values['session_id'], values['user_id']
    check = take_session_check(*session)
    if check is None:  # nothing waits for this session: nothing to prove
        cursor = _execute(statement, values)
        return cursor, fetch(cursor)
    try:
        cursor = _execute(statement, values)
        found = fetch(cursor)
    except BaseException:
        check_session_first(check, *session)
        raise
    if not found:
        check_session_first(check, *session)
    return cursor, found


def value(statement: Statement | str, /, **values: Any) -> Any:
    """The first column of the first row of ``statement`` run with ``values`` (see ``run``), or None."""
    row = one(statement, **values)
    return None if row is None else row[0]


# Errors of a connection whose prepared statements are gone: invalid_sql_statement_name, and
# feature_not_supported ("cached plan must not change result type"); or that holds one it did not
# prepare: duplicate_prepared_statement (another client's, dealt by a pooler).
PREPARED_STATEMENT_LOST = {'26000', '0A000', '42P05'}


def _execute(statement: Statement, values: Mapping[str, Any]):
    """The cursor of ``statement`` run with ``values``.

    PostgreSQL runs each as a statement prepared once per connection: planning these short
    queries took it longer than running them."""
    if not ON_POSTGRESQL:
        return db.execute_sql(statement.sqlite, values)  # (sqlite3 takes the values by name)
    if settings.DATABASE_POOLER == 'transaction':  # each statement may meet another server connection
        if statement.reads:
            return call_pooled_read(statement, [values[parameter] for parameter in statement.parameters])
        return db.execute_sql(statement.pyformat, values)
    connection = db.connection()
    try:
        if statement.name not in connection.prepared:
            db.execute_sql(statement.prepare)
            connection.prepared.add(statement.name)
        return db.execute_sql(statement.execute, [values[parameter] for parameter in statement.parameters])
    except DatabaseError as error:
        if getattr(error.__context__, 'pgcode', None) not in PREPARED_STATEMENT_LOST:
            raise
        # The server no longer has this connection's statements, or has another client's (a
        # pooler in transaction mode swapped the connection under us), or can no longer run
        # them (a migration changed the type of a column they return). Drop the connection, so
        # the next request prepares afresh on a new one; this one is a 503 like any other
        # database trouble, its log line naming the setting a pooler needs.
        connection.close()
        raise OperationalError(f'prepared statement {statement.name} is no longer usable (behind PgBouncer '
                               'in transaction mode, set DATABASE_POOLER=transaction)') from error


def _learn_rows(statement: Statement, description) -> Callable[[tuple], Row]:
    """The function making ``statement``'s named rows, from the columns of its first answer; kept."""
    names = [column[0] for column in description]
    make = namedtuple('Row', names)._make
    if not ON_POSTGRESQL:  # SQLite gives dates and times as text and booleans as integers
        converters = _sqlite_converters()
        make = _converting(make, [(index, converters[name]) for index, name in enumerate(names) if name in converters])
    statement.make_row = make
    return make


def _converting(make: Callable[[Iterable], Row], conversions: list[tuple[int, Callable]]) -> Callable[[tuple], Row]:
    def make_converted(values):
        values = list(values)
        for index, convert in conversions:
            values[index] = convert(values[index])
        return make(values)
    return make_converted


@functools.cache
def _sqlite_converters() -> dict[str, Callable[[Any], Any]]:
    """{column: its model field's python_value} for the columns SQLite stores otherwise than Python
    holds them (dates and times as text, booleans as integers): a column is named after the field
    of the read it comes from (``columns``)."""
    converters = {}
    for table, prefix in (('items', ''), ('bucketlists', ''), ('bucketlists', LIST_PREFIX)):
        for field in shown_fields(table):
            if field.field_type in ('BOOL', 'DATE', 'DATETIME'):
                converters[prefix + field.safe_name] = field.python_value
    converters['labels'] = lambda text: text if text is None else json.loads(text)  # (an item's: labels_on)
    return converters


@functools.cache
def _part(row_type: type, prefix: str) -> tuple[Callable[[Iterable], Row], Callable[[Row], tuple]]:
    names = [name for name in row_type._fields if name.startswith(prefix)]
    return namedtuple('Row', [name.removeprefix(prefix) for name in names])._make, attrgetter(*names)


def prefixed(row: Row, prefix: str) -> Row:
    """The columns of ``row`` whose names start with ``prefix``, as a row of their own named without
    it: the bucketlist of a row that joins it to one of its items (``LIST_PREFIX``)."""
    make, pick = _part(type(row), prefix)
    return make(pick(row))


# --- The columns, from the models ----------------------------------------------------------------

# Each table's fields.py declaration.
DECLARED = {'bucketlists': fields.BUCKETLIST, 'items': fields.ITEM, 'labels': fields.LABEL, 'steps': fields.STEP}
LIST_PREFIX = 'list_'  # before a bucketlist's columns in a row that also has an item's
# PostgreSQL's type of each kind of Peewee field, for the casts of parameters and NULLs.
SQL_TYPES = {'AUTO': 'integer', 'INT': 'integer', 'BIGINT': 'bigint', 'VARCHAR': 'varchar', 'TEXT': 'text',
             'BOOL': 'boolean', 'DATE': 'date', 'DATETIME': 'timestamp'}


@functools.cache
def shown_fields(table: str) -> tuple[Field, ...]:
    """The model fields every read of ``table`` returns: those an answer shows (its fields.py
    declaration, by attribute: ``created_by`` is the item's ``created_by_id``), in the answer's order."""
    from models import Bucketlist, Item, Label, Step  # (models.py runs its statements from here: imported only now)
    model = {'bucketlists': Bucketlist, 'items': Item, 'labels': Label, 'steps': Step}[table]
    by_attribute = {field.safe_name: field for field in model._meta.sorted_fields}
    shown = [declared.attr or name for name, declared in DECLARED[table].items() if declared.shown]
    return tuple(by_attribute[attribute] for attribute in shown if attribute in by_attribute)


@functools.cache
def written_fields(table: str) -> dict[str, Field]:
    """{field: its model field} of the fields of ``table`` that bodies write (fields.py's ``column``)."""
    return fields.columns(DECLARED[table])


def columns(table: str, alias: str = '', prefix: str = '') -> str:
    """SQL: the columns of ``table`` (of its row ``alias``) that reads return (``shown_fields``), each
    named as its attribute, after ``prefix``: ``b.id, b.name…``, ``i.created_by AS created_by_id``;
    an item's ``labels`` too (``labels_on``), which are the reader's, :user_id's."""
    of = f'{alias}.' if alias else ''
    listed = ', '.join(f'{of}{field.column_name}' if prefix + field.safe_name == field.column_name
                       else f'{of}{field.column_name} AS {prefix}{field.safe_name}' for field in shown_fields(table))
    return f'{listed}, {labels_on(alias or table)} AS {prefix}labels' if table == 'items' else listed


def labels_on(item: str) -> str:
    """SQL: the ids of :user_id's labels on the item row ``item``, in order (an array; JSON text on
    SQLite). Whether they have any label at all is read once a statement, so that the items of an
    account without labels cost nothing more."""
    if ON_POSTGRESQL:
        ids = ('ARRAY(SELECT il.label_id FROM item_labels il'
               f' WHERE il.item_id = {item}.id AND il.user_id = :user_id ORDER BY il.label_id)')
        none = "'{}'::integer[]"
    else:  # (in the order of the primary key's index, which the lookup reads)
        ids = ('(SELECT json_group_array(il.label_id) FROM item_labels il'
               f' WHERE il.item_id = {item}.id AND il.user_id = :user_id)')
        none = "'[]'"
    return f'CASE WHEN EXISTS (SELECT 1 FROM labels l WHERE l.user_id = :user_id) THEN {ids} ELSE {none} END'


def sql_type(field: Field) -> str:
    return SQL_TYPES[field.field_type]


def kept_unless_set(table: str) -> str:
    """SQL for an UPDATE's SET: each column bodies write set to its parameter when :set_<field> is
    true, else kept (``edits`` gives the values)."""
    return ', '.join(f'{field.column_name} = CASE WHEN :set_{name}::boolean THEN :{name}::{sql_type(field)}'
                     f' ELSE {field.column_name} END' for name, field in written_fields(table).items())


@functools.cache
def _edited(table: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, f'set_{name}') for name in written_fields(table))


def edits(table: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``kept_unless_set``'s parameters that write the fields ``given`` has and keep the others."""
    values = {}
    for name, is_set in _edited(table):
        values[name], values[is_set] = given.get(name), name in given
    return values


def inserted(table: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """{field: value} of every field of ``table`` that bodies write: ``given``'s, else its model field's default."""
    return {name: given[name] if name in given else field.default() if callable(field.default) else field.default
            for name, field in written_fields(table).items()}


# --- Activity, written by the one-statement writes in the same statement -------------------------
# A write's activity entry (activity.py) says which fields it changed, each as [old, new]. The old
# values come from the row as the write found it (``old_row``: its columns named old_…), the new
# ones from the write's own parameters, so that the same SQL works in both dialects: on PostgreSQL
# inside the write's statement, in a WITH; on SQLite, which has none, in a read before it.

ACTIVITY_COLUMNS = 'bucketlist_id, item_id, user_id, kind, at, request_id, changes'
# SQL: the owner of the bucketlist whose id the SQL ``of`` gives, whose account a completion goes with.
OWNER_OF = '(SELECT ob.owner_id FROM bucketlists ob WHERE ob.id = {of})'
DISTINCT = 'IS DISTINCT FROM' if ON_POSTGRESQL else 'IS NOT'


@functools.cache
def tracked_fields(table: str) -> dict[str, Field]:
    """{field: its model field} of the fields of ``table`` a body writes and activity tracks: those
    a client sends (not those worked out from them, like due_at)."""
    return {name: field for name, field in written_fields(table).items() if not DECLARED[table][name].read_only}


def old_row(table: str) -> str:
    """SQL: the row :id_of_<table> as a write finds it, ``o``, its columns named old_…"""
    kept = ', '.join(f'{field.column_name} AS old_{field.column_name}' for field in tracked_fields(table).values())
    return f'(SELECT id AS old_id, version AS old_version, {kept} FROM {table} WHERE id = :{table[:-1]}_id) o'


def json_object(pairs: Iterable[tuple[str, str]]) -> str:
    """SQL: the JSON text of an object of ``pairs`` (name, the SQL of a JSON value), NULLs left out."""
    if ON_POSTGRESQL:
        members = ', '.join(f"'{name}', {value}" for name, value in pairs)
        return f'json_strip_nulls(json_build_object({members}))::text'
    members = ', '.join(f"'{name}', json({value})" for name, value in pairs)  # (json(): a value, not a string)
    return f"json_patch('{{}}', json_object({members}))"


def json_pair(old: str, new: str) -> str:
    return f'{"json_build_array" if ON_POSTGRESQL else "json_array"}({old}, {new})'


ACTIVITY_TEXT_MAX = 1024  # characters of a long text (notes, a description) that an entry keeps of each value


def kept_text(value: str) -> str:
    """SQL: a long text ``value`` as an activity entry keeps it: cut at ACTIVITY_TEXT_MAX, with an ellipsis."""
    return (f"CASE WHEN length({value}) > {ACTIVITY_TEXT_MAX} THEN substr({value}, 1, {ACTIVITY_TEXT_MAX})"
            f" || '…' ELSE {value} END")


def changes_of(table: str) -> str:
    """SQL: the JSON text of the fields of ``table`` that the write's parameters (``edits``) change
    from the old row ``o``: {field: [old, new]}, long texts cut (``kept_text``)."""
    pairs = []
    for name, field in tracked_fields(table).items():
        old, new = f'o.old_{field.column_name}', f':{name}::{sql_type(field)}'
        kept = (kept_text(old), kept_text(new)) if sql_type(field) == 'text' else (old, new)
        pairs.append((name, f'CASE WHEN :set_{name}::boolean AND {old} {DISTINCT} {new}'
                            f' THEN {json_pair(*kept)} END'))
    return json_object(pairs)


# SQL: the kind of an item's write from its old row ``o``: a completion when it ticks the item done,
# or a recurring item's occurrence (which stays open: last_completed_at moves).
ITEM_WRITE_KIND = ("CASE WHEN (:set_done::boolean AND :done::boolean AND NOT o.old_done)"
                   " OR (:set_last_completed_at::boolean AND :last_completed_at::timestamp IS NOT NULL)"
                   " THEN 'item.completed' ELSE 'item.updated' END")
BUCKETLIST_WRITE_KIND = (f"CASE WHEN :set_name::boolean AND o.old_name {DISTINCT} :name::varchar"
                         " THEN 'bucketlist.renamed' ELSE 'bucketlist.updated' END")


@declare(checks_session=True)
def item_change() -> str:
    """The kind and changes (``changes_of``) of the write of :item_id that the parameters say, if it is
    in :bucketlist_id and the session :session_id of :user_id is open: read before the write where
    it cannot be one statement with it (SQLite)."""
    return (f'SELECT {ITEM_WRITE_KIND} AS kind, {changes_of("items")} AS changes FROM {old_row("items")}'
            ' WHERE EXISTS (SELECT 1 FROM items i WHERE i.id = o.old_id AND i.bucketlist_id = :bucketlist_id)'
            f' AND {SESSION_OPEN}')


@declare(checks_session=True)
def bucketlist_change() -> str:
    """``item_change``'s of a bucketlist: the kind and changes of the write of :bucketlist_id."""
    return (f'SELECT {BUCKETLIST_WRITE_KIND} AS kind, {changes_of("bucketlists")} AS changes'
            f' FROM {old_row("bucketlists")} WHERE {SESSION_OPEN}')


@declare()
def record_activity() -> str:
    """An activity entry (activity.py) of :user_id at :now in the bucketlist :bucketlist_id, of the
    request :request_id."""
    return ('INSERT INTO activity (bucketlist_id, moved_from, item_id, step_id, member_id, user_id, kind, at,'
            ' request_id, changes) VALUES (:bucketlist_id, :moved_from::integer, :item_id::integer, :step_id::integer,'
            ' :member_id::integer, :user_id, :kind, :now::timestamp, :request_id, :changes) RETURNING id')


@declare()
def record_completion() -> str:
    """A completion of the item :item_id named :name, in :bucketlist_id, by :user_id at :now."""
    return ('INSERT INTO completions (bucketlist_id, item_id, owner_id, name, completed_at, completed_by)'
            f' SELECT :bucketlist_id, :item_id, {OWNER_OF.format(of=":bucketlist_id")}, :name, :now::timestamp,'
            ' :user_id RETURNING id')


def logged(source: str, kind: str, changes: str, completed: str | None = None) -> str:
    """SQL: the WITH parts that record the write of the rows ``source`` (a WITH part's name, of items,
    or of bucketlists where ``completed`` is None): an activity entry of the ``kind`` and ``changes``
    (SQL over the rows), and a completion of each item that ``completed`` (SQL) is true of."""
    item = completed is not None
    of = f'{source}.bucketlist_id' if item else f'{source}.id'
    parts = [f'{source}_logged AS (INSERT INTO activity ({ACTIVITY_COLUMNS}) SELECT {of},'
             f' {source + ".id" if item else "NULL"}, :user_id, {kind}, :now::timestamp, :request_id, {changes}'
             f' FROM {source})']
    if item:
        parts.append(f'{source}_completed AS (INSERT INTO completions (bucketlist_id, item_id, owner_id, name,'
                     f' completed_at, completed_by) SELECT {of}, {source}.id, {OWNER_OF.format(of=of)},'
                     f' {source}.name, :now::timestamp, :user_id FROM {source} WHERE {completed})')
    return ', '.join(parts)


CREATED_LIST, CREATED_ITEM = "'bucketlist.created'", "'item.created'"
COMPLETED_W = "w.activity_kind = 'item.completed'"


def created_changes(source: str) -> str:
    """SQL: the changes of the creation of the row ``source``: its name, from nothing."""
    return json_object([('name', json_pair('NULL', f'{source}.name'))])


# --- The statements ------------------------------------------------------------------------------

# SQL: the bucketlist row ``b`` is the user's, or shared with them.
SEEN = ('(b.owner_id = :user_id OR EXISTS'
        ' (SELECT 1 FROM memberships m WHERE m.bucketlist_id = b.id AND m.user_id = :user_id))')
# SQL: the access token's session is open, or :session_id is NULL (an API token, looked up already).
SESSION_OPEN = ('(:session_id::integer IS NULL OR EXISTS'
                ' (SELECT 1 FROM sessions s WHERE s.id = :session_id AND s.user_id = :user_id))')
# SQL: the user's role in the bucketlist ``b`` they see: 'owner', or their membership's.
ROLE_OF_B = ("CASE WHEN b.owner_id = :user_id THEN 'owner' ELSE"
             ' (SELECT m.role FROM memberships m WHERE m.bucketlist_id = b.id AND m.user_id = :user_id) END')


# SQL: the user may write the items of the bucketlist row ``b``: they own it or edit it. On
# PostgreSQL the editors are on the row (migration 11), so a lock that waited for a change of
# members reads them as that change left them.
WRITES_B = ('(b.owner_id = :user_id OR :user_id::integer = ANY(b.editor_ids))' if ON_POSTGRESQL else
            "(b.owner_id = :user_id OR EXISTS (SELECT 1 FROM memberships m WHERE m.bucketlist_id = b.id"
            " AND m.user_id = :user_id AND m.role = 'editor'))")


def lock_of_b(lock: str) -> str:
    """SQL: the lock ``lock`` ('locked', 'shared' or '': none) on the bucketlist row ``b``, held until
    the transaction ends; SQLite's IMMEDIATE transactions keep other writers out already."""
    return {'locked': ' FOR UPDATE OF b', 'shared': ' FOR SHARE OF b'}.get(lock, '') if db.for_update else ''


@declare(('', 'locked', 'shared'), checks_session=True)
def bucketlist_seen(lock: str) -> str:
    """The bucketlist :bucketlist_id with the role of :user_id, if they see it and their session
    :session_id is open; its row locked as ``lock`` says (``lock_of_b``)."""
    return (f'SELECT {columns("bucketlists", "b")}, {ROLE_OF_B} AS role FROM bucketlists b'
            f' WHERE b.id = :bucketlist_id AND {SEEN} AND {SESSION_OPEN}{lock_of_b(lock)}')


@declare(('', 'locked'), checks_session=True)
def bucketlist_with_items(lock: str) -> str:
    """``bucketlist_seen``'s bucketlist (its columns named list_…) with each of its items, in
    position order; one row of NULL items' columns for a bucketlist with none."""
    return (f'SELECT {columns("bucketlists", "b", LIST_PREFIX)}, {ROLE_OF_B} AS {LIST_PREFIX}role,'
            f' {columns("items", "i")} FROM bucketlists b LEFT JOIN items i ON i.bucketlist_id = b.id'
            f' WHERE b.id = :bucketlist_id AND {SEEN} AND {SESSION_OPEN} ORDER BY i.position, i.id{lock_of_b(lock)}')


@declare(checks_session=True)
def edit_owned_bucketlist() -> str:
    """Write the fields :set_… says (``edits``) and :now as date_modified to the bucketlist
    :bucketlist_id, if :user_id owns it and their session :session_id is open; then the rows of
    ``bucketlist_with_items``. SQLite has no UPDATE in a WITH: there it returns the id alone."""
    update = f'UPDATE bucketlists SET {kept_unless_set("bucketlists")}, date_modified = :now::timestamp'
    where = f'id = :bucketlist_id AND owner_id = :user_id AND {SESSION_OPEN}'
    if not ON_POSTGRESQL:  # (its activity: bucketlist_change before it, record_activity after)
        return f'{update} WHERE {where} RETURNING id'
    # (The old row as read must be the row written, as in update_item.)
    return (f'WITH b AS ({update} FROM {old_row("bucketlists")} WHERE bucketlists.id = o.old_id'
            f' AND bucketlists.version = o.old_version AND {where} RETURNING bucketlists.*,'
            f' {BUCKETLIST_WRITE_KIND} AS activity_kind, {changes_of("bucketlists")} AS activity_changes),'
            f' {logged("b", "b.activity_kind", "b.activity_changes")}'
            f' SELECT {columns("bucketlists", "b", LIST_PREFIX)},'
            f' {ROLE_OF_B} AS {LIST_PREFIX}role, {columns("items", "i")}'
            ' FROM b LEFT JOIN items i ON i.bucketlist_id = b.id ORDER BY i.position, i.id')


@declare(checks_session=True)
def update_item() -> str:
    """Write the fields :set_… says (``edits``) and :now as date_modified to the item :item_id of the
    bucketlist :bucketlist_id, if :user_id may write its items and their session :session_id is
    open; returns the item. done_at follows done from the row as it is when written: two writers
    racing cannot leave an item not done with a done_at, or done without one. Unless :planned (the
    fields were worked out from the row, locked), it leaves alone a recurring item ticked done,
    whose due moves (``bucketlist.with_due_at``).

    The owner's check takes no lock; an editor's shares the list's lock with other writers, so that
    a removal (which holds it) comes before or after their write, never during it."""
    owns = 'SELECT 1 FROM bucketlists b WHERE b.id = :bucketlist_id AND b.owner_id = :user_id'
    edits_ = f'SELECT 1 FROM bucketlists b WHERE b.id = :bucketlist_id AND {WRITES_B}{lock_of_b("shared")}'
    update = (f'UPDATE items SET {kept_unless_set("items")},'
              ' done_at = CASE WHEN NOT :set_done::boolean OR :done::boolean = done THEN done_at'
              ' WHEN :done::boolean THEN :now::timestamp END, date_modified = :now::timestamp')
    where = (f'id = :item_id AND bucketlist_id = :bucketlist_id AND (EXISTS ({owns}) OR EXISTS ({edits_}))'
             f' AND {SESSION_OPEN} AND (:planned::boolean OR NOT (:set_done::boolean AND :done::boolean AND NOT done'
             ' AND CASE WHEN :set_recurrence::boolean THEN :recurrence::varchar ELSE recurrence END IS NOT NULL))')
    if not ON_POSTGRESQL:  # (its activity: item_change before it, record_activity after)
        return f'{update} WHERE {where} RETURNING {columns("items")}'
    # The old row as read must be the row written: another write in between (its version moved)
    # leaves this one nothing to write, and the caller writes again holding the item's lock.
    return (f'WITH w AS ({update} FROM {old_row("items")} WHERE items.id = o.old_id AND items.version = o.old_version'
            f' AND {where} RETURNING items.*, {ITEM_WRITE_KIND} AS activity_kind, {changes_of("items")}'
            f' AS activity_changes), {logged("w", "w.activity_kind", "w.activity_changes", COMPLETED_W)}'
            f' SELECT {columns("items", "w")} FROM w')


@declare(checks_session=True)
def session_open() -> str:
    """The session :session_id of :user_id, while it is open. A session ends by its row's deletion:
    logout, reuse of a refresh token, a password change, the account's deletion (ON DELETE CASCADE)."""
    return 'SELECT id FROM sessions WHERE id = :session_id AND user_id = :user_id'


@declare()
def api_token() -> str:
    """(id, user_id, scope) of the API token whose hash is :token_hash, unless expired at :now."""
    return ('SELECT id, user_id, scope FROM api_tokens'
            ' WHERE token_hash = :token_hash AND (expires_at IS NULL OR expires_at > :now)')


# Each insert refuses to pass its quota (:most) in the same statement. The owner's row is locked
# before its count is read: racing creates take turns and each reads the count the last one left
# (the statement's snapshot would not), and the lock the foreign key then takes on that row is one
# the transaction already holds, so PostgreSQL records no second locker (a multixact) for it: 40 %
# more creates a second for one account in pgbench.
@declare(checks_session=True)
def insert_bucketlist() -> str:
    """A new bucketlist of :user_id with the fields bodies write, unless they have :most already or
    their session :session_id has ended; returns its id and version (on SQLite, the version before
    its trigger stamps it)."""
    written = written_fields('bucketlists')
    insert = (f'INSERT INTO bucketlists (owner_id, date_created, date_modified,'
              f' {", ".join(field.column_name for field in written.values())})'
              f' SELECT :user_id, :date_created, :date_modified, {", ".join(f":{name}" for name in written)}'
              f' WHERE (SELECT bucketlist_count FROM users WHERE id = :user_id'
              f'{" FOR NO KEY UPDATE" if db.for_update else ""}) < :most AND {SESSION_OPEN}')
    if not ON_POSTGRESQL:  # (its activity: record_activity after it)
        return f'{insert} RETURNING id, version'
    logs = logged('b', CREATED_LIST, created_changes('b'))
    return f'WITH b AS ({insert} RETURNING id, name, version), {logs} SELECT id, version FROM b'


def _insert_item(source: str) -> str:
    """SQL: a new item of :user_id in the bucketlist ``b`` that ``source`` reads, with the fields
    bodies write, :now and :done_at, last (the count kept on the list's row, migration 10), unless
    the list holds :most already; returns the item."""
    written = written_fields('items')
    insert = (f'INSERT INTO items (bucketlist_id, date_created, date_modified, done_at, position, created_by,'
              f' {", ".join(field.column_name for field in written.values())})'
              f' SELECT b.id, :now, :now, :done_at, b.item_count, :user_id, {", ".join(f":{name}" for name in written)}'
              ' FROM b WHERE b.item_count < :most')
    if not ON_POSTGRESQL:  # (its activity and completion: record_activity and record_completion after it)
        return f'{source} {insert} RETURNING {columns("items")}'
    # (An item created done is a completion too.)
    return (f'{source}, i AS ({insert} RETURNING *), {logged("i", CREATED_ITEM, created_changes("i"), "i.done")}'
            f' SELECT {columns("items", "i")} FROM i')


@declare(checks_session=True)
def insert_item() -> str:
    """``_insert_item`` into :bucketlist_id if :user_id may write its items and their session
    :session_id is open, in one statement. Locked, the list's row is read as the last writer left
    it, count and editors included, whatever the statement's snapshot."""
    return _insert_item('WITH b AS (SELECT b.id, b.item_count FROM bucketlists b WHERE b.id = :bucketlist_id'
                        f' AND {WRITES_B} AND {SESSION_OPEN}{lock_of_b("locked")})')


# GET /bucketlists/: a page is the caller's own UNION ALL those shared with them, each branch read
# through its own index. ``kind``: all of them, their own ('owner'), or those shared with them in
# the role :role ('shared'); ``searched``: only those whose names match the LIKE pattern :pattern.
ROLE_KINDS = ('all', 'owner', 'shared')
SEARCHED = ('', 'searched')
DIRECTIONS = ('asc', 'desc')
# The orders in which an index (owner_id, id or name) gives the caller's own lists.
OWNED_IN_ORDER = ('id', 'name')
OWNED_COUNT = '(SELECT u.bucketlist_count FROM users u WHERE u.id = :user_id)'


def listed_bucketlists(kind: str, searched: str) -> list[str]:
    """SQL: the branches of the lists' rows, with the caller's ``role``."""
    name_matches = " AND lower(b.name) LIKE :pattern ESCAPE '\\'" if searched else ''
    owned = (f"SELECT {columns('bucketlists', 'b')}, 'owner' AS role FROM bucketlists b"
             f' WHERE b.owner_id = :user_id{name_matches}')
    shared = (f'SELECT {columns("bucketlists", "b")}, m.role FROM memberships m'
              f' JOIN bucketlists b ON b.id = m.bucketlist_id WHERE m.user_id = :user_id{name_matches}')
    return {'all': [owned, shared], 'owner': [owned], 'shared': [f'{shared} AND m.role = :role']}[kind]


@declare(ROLE_KINDS, SEARCHED)
def count_bucketlists(kind: str, searched: str) -> str:
    """How many lists ``list_bucketlists`` has in all: for an empty page, which cannot tell."""
    counted = ' + '.join(f'(SELECT count(*) FROM ({branch}) AS counted)'
                         for branch in listed_bucketlists(kind, searched))
    return f'SELECT {counted} AS total'


@declare(ROLE_KINDS, SEARCHED, BUCKETLIST_SORTS, DIRECTIONS, checks_session=True)
def list_bucketlists(kind: str, searched: str, sort: str, direction: str) -> str:
    """A page of the lists of :user_id (:limit from :offset, in ``sort`` order), each with its
    ``total``, if their session :session_id is open.

    Without a search, the total of all or of their own lists is the count the triggers keep on the
    account (migration 9) plus their memberships, so a page reads only what it shows; with one, the
    rows that match are counted (``count(*) OVER ()``)."""
    direction = direction.upper()
    counts_rows = searched or kind == 'shared'  # the total counts the rows read: none may be cut
    total = 'count(*) OVER ()' if counts_rows else OWNED_COUNT + (
        ' + (SELECT count(*) FROM memberships m WHERE m.user_id = :user_id)' if kind == 'all' else '')
    branches = listed_bucketlists(kind, searched)
    if kind == 'all' and not counts_rows and sort in OWNED_IN_ORDER:
        branches = first_of_each(branches, sort, direction)
    order = 'id' if sort == 'id' else f'{sort} {direction}, id'
    return (f'SELECT *, {total} AS total FROM ({" UNION ALL ".join(branches)}) AS listed WHERE {SESSION_OPEN}'
            f' ORDER BY {order} {direction} LIMIT :limit OFFSET :offset')


def first_of_each(branches: list[str], sort: str, direction: str) -> list[str]:
    """``branches``, own and shared, each cut to its first :limit + :offset rows in the page's order.
    PostgreSQL then reads the caller's own lists through the index that has them in that order and
    stops, where its general plan for the whole read all of them and sorted them (a first page of
    500: 0.24 ms, now 0.06). Only for totals counted without the window, and orders an index gives:
    deep pages sorted otherwise took a quarter longer cut."""
    order = f'b.id {direction}' if sort == 'id' else f'b.{sort} {direction}, b.id {direction}'
    return [f'SELECT * FROM ({branch} ORDER BY {order} LIMIT :limit::bigint + :offset::bigint) AS {name}'
            for name, branch in zip(('owned', 'shared'), branches, strict=True)]


# The items whose names match the LIKE pattern :pattern, done or not (:done), due on or before
# :due_before, on or after :due_after, of the priority :priority, with the label :label of :user_id
# (each NULL: any).
ITEM_FILTERS = ("lower(i.name) LIKE :pattern ESCAPE '\\'"
                ' AND (:done::boolean IS NULL OR i.done = :done) AND (:due_before::date IS NULL'
                ' OR i.due_date <= :due_before) AND (:due_after::date IS NULL OR i.due_date >= :due_after)'
                ' AND (:priority::integer IS NULL OR i.priority = :priority) AND (:label::integer IS NULL OR EXISTS'
                ' (SELECT 1 FROM item_labels il WHERE il.item_id = i.id AND il.label_id = :label'
                ' AND il.user_id = :user_id))')
# GET /bucketlists/<id>/items/: those of :bucketlist_id.
ITEMS_MATCHING = f'FROM items i WHERE i.bucketlist_id = :bucketlist_id AND {ITEM_FILTERS}'
# GET /items/: those of every bucketlist :user_id sees (each branch through its own index) due in
# a window: a date-only due from :due_from_date to before :due_to_date, a timed one from the
# instant :due_from_at to before :due_to_at (NULL froms: open; a NULL :due_to_date: any due).
EVERY_ITEM_MATCHING = ('FROM items i WHERE i.bucketlist_id IN (SELECT b.id FROM bucketlists b WHERE b.owner_id ='
                       ' :user_id UNION ALL SELECT m.bucketlist_id FROM memberships m WHERE m.user_id = :user_id)'
                       f' AND {ITEM_FILTERS} AND (:due_to_date::date IS NULL'
                       ' OR (i.due_time IS NULL AND i.due_date < :due_to_date'
                       ' AND (:due_from_date::date IS NULL OR i.due_date >= :due_from_date))'
                       ' OR (i.due_time IS NOT NULL AND i.due_at < :due_to_at::timestamp'
                       ' AND (:due_from_at::timestamp IS NULL OR i.due_at >= :due_from_at)))')


def item_order(sort: str, direction: str) -> str:
    """SQL: the ORDER BY of a page of items, in ``sort`` order with nulls last; a day's items by due
    date: those of no time first, then by their time."""
    direction = direction.upper()
    then = f' i.due_time {direction} NULLS FIRST,' if sort == 'due_date' else ''
    return f'ORDER BY i.{sort} {direction} NULLS LAST,{then} i.id {direction}'


@declare()
def count_every_item() -> str:
    """How many of the items of GET /items/ match: for an empty page, which cannot tell."""
    return f'SELECT count(*) AS total {EVERY_ITEM_MATCHING}'


@declare(ITEM_SORTS, DIRECTIONS, checks_session=True)
def list_every_item(sort: str, direction: str) -> str:
    """A page of the items of every list :user_id sees that match (:limit from :offset, in ``sort``
    order), each with the ``total``, if their session :session_id is open."""
    return (f'SELECT {columns("items", "i")}, count(*) OVER () AS total {EVERY_ITEM_MATCHING} AND {SESSION_OPEN}'
            f' {item_order(sort, direction)} LIMIT :limit OFFSET :offset')


@declare()
def count_items() -> str:
    """How many items match: for an empty page, which cannot tell."""
    return f'SELECT count(*) AS total {ITEMS_MATCHING}'


@declare(ITEM_SORTS, DIRECTIONS, checks_session=True)
def list_items(sort: str, direction: str) -> str:
    """A page of the items that match (:limit from :offset, in ``sort`` order, nulls last), each with
    the ``total``, if :user_id sees the bucketlist and their session :session_id is open."""
    return (f'SELECT {columns("items", "i")}, count(*) OVER () AS total {ITEMS_MATCHING}'
            f' AND EXISTS (SELECT 1 FROM bucketlists b WHERE b.id = :bucketlist_id AND {SEEN}) AND {SESSION_OPEN}'
            f' {item_order(sort, direction)} LIMIT :limit OFFSET :offset')


# The parts of what changed since a sync's cursor, in the order ``sync_changes`` returns them.
SYNC_PARTS = ('deletions', 'labels', 'bucketlists', 'items', 'steps')


@declare(checks_session=True)
def sync_changes() -> str:
    """What changed for :user_id since the version :since, if their session :session_id is open: the
    sync state's row first (``part`` -1: the ``low_water`` and ``purged_below``), then the
    tombstones, labels, bucketlists, items and steps (``part``: the index in SYNC_PARTS), at most
    :limit of each,
    from the part :part on and, in that part, after the key (:after_version, :after_id) (NULLs:
    from its start); in order of part, version and id.

    Every row has the columns of every part, NULL but for its own part's: a part's row reads as
    the answers show it (``row.name``, ``row.bucketlist_id``). Each NULL has its column's type,
    which PostgreSQL needs to join the parts."""
    low_water = 'pg_snapshot_xmin(pg_current_snapshot())::text::bigint' if ON_POSTGRESQL else 's.next_version'
    parts = {  # each part's columns after part, version and id: {name: (SQL, type)}
        'state': {'low_water': (low_water, 'bigint'), 'purged_below': ('s.purged_below', 'bigint')},
        'deletions': {'kind': ('d.kind', 'varchar'), 'object_id': ('d.object_id', 'integer')},
        'labels': _typed_columns('labels', 'l'),
        'bucketlists': {**_typed_columns('bucketlists', 'b'), 'role': (ROLE_OF_B, 'varchar')},
        'items': _typed_columns('items', 'i'),
        'steps': _typed_columns('steps', 'st'),
    }
    types = {}
    for part in parts.values():
        for name, (_, type_) in part.items():
            if types.setdefault(name, type_) != type_:
                raise TypeError(f'the sync has two types of column {name}: {types[name]} and {type_}')

    def values(own, named=False):
        return ', '.join((parts[own][name][0] if name in parts[own] else f'CAST(NULL AS {type_})')
                         + (f' AS {name}' if named else '') for name, type_ in types.items())

    def after(part, table):
        return (f'(:after_version::bigint IS NULL OR :part::integer <> {part}'
                f' OR ({table}.version, {table}.id) > (:after_version, :after_id::integer))')
    sources = {  # each part's rows: its table, and which of them are the user's
        'deletions': ('deletions d', 'd', 'd.user_id = :user_id'),
        'labels': ('labels l', 'l', 'l.user_id = :user_id'),
        'bucketlists': ('bucketlists b', 'b', SEEN),
        'items': ('items i JOIN bucketlists b ON b.id = i.bucketlist_id', 'i', SEEN),
        'steps': ('steps st JOIN items i ON i.id = st.item_id JOIN bucketlists b ON b.id = i.bucketlist_id', 'st',
                  SEEN),
    }
    branches = ['SELECT -1 AS part, CAST(NULL AS bigint) AS version, CAST(NULL AS integer) AS id,'
                f" {values('state', named=True)} FROM sync_state s WHERE s.id = 1"]
    for number, part in enumerate(SYNC_PARTS):
        table, row, theirs = sources[part]
        branches.append(f'SELECT {number}, {row}.version, {row}.id, {values(part)} FROM {table}'
                        f' WHERE :part::integer <= {number} AND {row}.version >= :since AND {after(number, row)}'
                        f' AND {theirs} ORDER BY {row}.version, {row}.id LIMIT :limit')
    # Each part in a subquery of its own, for its ORDER BY and LIMIT (SQLite wants it so too).
    joined = ' UNION ALL '.join(f'SELECT * FROM ({branch}) AS part_{n}' for n, branch in enumerate(branches))
    return f'SELECT * FROM ({joined}) AS changed WHERE {SESSION_OPEN} ORDER BY part, version, id'


def _typed_columns(table: str, alias: str) -> dict[str, tuple[str, str]]:
    """{attribute: (SQL, PostgreSQL's type)} of the columns reads return of ``table``'s row ``alias``, but its id
    and version (every part's first columns)."""
    typed = {field.safe_name: (f'{alias}.{field.column_name}', sql_type(field))
             for field in shown_fields(table) if field.safe_name not in ('id', 'version')}
    if table == 'items':
        typed['labels'] = (labels_on(alias), 'integer[]' if ON_POSTGRESQL else 'text')
    return typed


# --- Reads behind a pooler in transaction mode ---------------------------------------------------
# There PostgreSQL keeps no prepared statement for us (the next transaction may meet another server
# connection) and plans each statement again: GET one's took 0.11 ms to plan against 0.03 to run,
# and GET one through PgBouncer served 0.68x as many requests as direct. A plpgsql function keeps
# its plans for its server connection, whichever client the pooler deals it to, so `python
# migrations.py` installs each read as one, and the pooled path calls it (0.90-0.94x). Writes stay
# statements: their columns cannot be learnt without running them. A function's columns are named
# as the statement's, so its rows are the statement's.

# A read's function, but for its parameters and columns. Locking reads must be VOLATILE.
POOLED_FUNCTION = ('LANGUAGE plpgsql {volatility} SET plan_cache_mode = force_generic_plan'  # as PostgresqlPool's
                   ' AS $hot$\n#variable_conflict use_column\nBEGIN RETURN QUERY {sql}; END $hot$')
LOCKING_READ = re.compile(r'\sFOR\s+(UPDATE|NO\s+KEY\s+UPDATE|SHARE|KEY\s+SHARE)\b', re.IGNORECASE)


def pooled_function_body(statement: Statement) -> str:
    volatility = 'VOLATILE' if LOCKING_READ.search(statement.postgresql) else 'STABLE'
    return POOLED_FUNCTION.format(volatility=volatility, sql=statement.postgresql)


@functools.cache
def pooled_function_name(name: str) -> str:
    """The function of the read ``name``, named for what it runs: a release whose statement changed
    installs its own beside the one the release still running calls."""
    body = pooled_function_body(named(name))
    return f'hot_{name[:40].lower()}_{hashlib.sha1(body.encode()).hexdigest()[:10]}'


@functools.cache
def pooled_functions() -> dict[str, str]:
    """{read: its function's name} of every read, named once per process."""
    return {statement.name: pooled_function_name(statement.name) for statement in every_statement()
            if statement.reads}


def install_pooled_functions(database) -> int:
    """Create the function of every read that has none, or whose function no longer fits it (a
    column's type changed under the same text); returns how many (PostgreSQL only)."""
    installed = _installed_pooled_reads(database)
    replaced = 0
    for name, function in sorted(pooled_functions().items()):
        # The prepared statement tells its parameters' types, and run on NULLs with LIMIT 0, its
        # columns', reading no row.
        database.execute_sql(f'PREPARE pooled_probe AS SELECT * FROM ({named(name).postgresql}) AS probed LIMIT 0')
        (parameters,) = database.execute_sql(
            "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = 'pooled_probe'").fetchone()
        probed = database.execute_sql(f'EXECUTE pooled_probe({", ".join(["NULL"] * len(parameters))})')
        names = [column.name for column in probed.description]
        oids = [column.type_code for column in probed.description]
        database.execute_sql('DEALLOCATE pooled_probe')
        (columns_,) = database.execute_sql(
            "SELECT string_agg(quote_ident(name) || ' ' || format_type(oid, NULL), ', ' ORDER BY n)"
            ' FROM unnest(%s::text[], %s::oid[]) WITH ORDINALITY AS c(name, oid, n)', (names, oids)).fetchone()
        installed_function, *signature = installed.get(name, (None,))
        if signature == [', '.join(parameters), f'TABLE({columns_})']:
            continue
        if installed_function:  # (a function's columns cannot be replaced, only the function)
            database.execute_sql(f'DROP FUNCTION {installed_function}')
        database.execute_sql(f'CREATE FUNCTION {function}({", ".join(parameters)})'
                             f' RETURNS TABLE ({columns_}) {pooled_function_body(named(name))}')
        replaced += 1
    return replaced


def missing_pooled_functions() -> list[str]:
    """The reads whose function is not installed, for /readyz (PostgreSQL only)."""
    if not ON_POSTGRESQL:
        return []
    return sorted(set(pooled_functions()) - set(_installed_pooled_reads()))


def _installed_pooled_reads(database=None) -> dict[str, tuple[str, str, str]]:
    """{read: (its function as DROP FUNCTION names it, its parameters' types comma-separated, its
    result)} of the reads whose function the database holds."""
    functions = {function: name for name, function in pooled_functions().items()}
    cursor = (database or db).execute_sql(
        'SELECT proname, oid::regprocedure::text, pg_get_function_identity_arguments(oid),'
        ' pg_get_function_result(oid) FROM pg_proc WHERE proname = ANY(%s) AND pg_function_is_visible(oid)',
        (list(functions),))
    return {functions[function]: tuple(signature) for function, *signature in cursor}


_pooled_calls: dict[str, str] = {}  # read → the call of its function, as this process found them installed


def call_pooled_read(statement: Statement, values: list[Any]):
    """The cursor of the read ``statement`` run with ``values`` (in its parameters' order) behind a
    pooler in transaction mode, by its function."""
    if statement.name not in _pooled_calls:  # the process's first pooled read, or one whose function went missing
        for read, (_, types, _) in _installed_pooled_reads().items():
            casts = ', '.join(f'%s::{type_}' for type_ in types.split(', '))
            _pooled_calls[read] = f'SELECT * FROM {pooled_functions()[read]}({casts})'
        if statement.name not in _pooled_calls:
            raise OperationalError(f'no function for the read {statement.name}: run "python migrations.py"')
    try:
        return db.execute_sql(_pooled_calls[statement.name], values)
    except DatabaseError as error:
        # undefined_function: dropped since; datatype_mismatch: a column's type changed under it.
        if getattr(error.__context__, 'pgcode', None) not in ('42883', '42804'):
            raise
        _pooled_calls.clear()
        raise OperationalError(f'the function of the read {statement.name} is gone or no longer fits: '
                               'run "python migrations.py"') from error
