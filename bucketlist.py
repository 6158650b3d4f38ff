"""The bucketlist API's routes: bucketlists, their items, members and sync; ``app`` serves them all, the
accounts' (accounts.py) and operations' (operations.py) included."""
import argparse
import errno
import json
import socket
import sys
import tempfile
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, time, timedelta
from time import monotonic
from time import time as time_now
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from bottle import request, response
from peewee import IntegrityError

import accounts  # (its routes mount on app too)
import activity
import auth
import commands
import events
import feeds  # noqa: F401 (imported for its routes, which mount on app)
import labels  # (its routes mount on app too)
import operations  # noqa: F401 (imported for its routes, which mount on app)
import recurrence
import settings
import sync
import trash
import webhooks  # noqa: F401 (imported for its routes, which mount on app)
from fields import (
    ACTIVITY_ENTRY,
    ACTIVITY_KINDS,
    BUCKETLIST,
    BUCKETLIST_SORTS,
    COMPLETION,
    DUE_WINDOWS,
    INVITATION,
    ITEM,
    ITEM_SORTS,
    MAX_ID,
    MEMBER,
    MEMBER_CHANGE,
    MOVE,
    PRIORITIES,
    ROLES,
    STEP,
    TRASH_ENTRY,
    items_within_text_max,
    normalized_email,
    resets,
    serializer,
)
from models import (
    Activity,
    Bucketlist,
    Completion,
    Invitation,
    Item,
    ItemLabel,
    Label,
    Membership,
    Step,
    ThrottleEvent,
    Trash,
    User,
    db,
    locked,
    role_of,
    run_session_check,
    stamped_version,
    utcnow,
    violated_constraint,
    visible_ids,
)
from problems import (
    ALREADY_A_MEMBER,
    ALREADY_INVITED,
    BUCKETLIST_DELETED,
    BUCKETLIST_NOT_FOUND,
    BUCKETLIST_PURGED,
    BUCKETLIST_QUOTA,
    CURSOR_TOO_OLD,
    DUE_TIME_OUT_OF_RANGE,
    DUE_TIME_WITHOUT_DATE,
    INVITATION_DECLINED,
    INVITATION_WITHDRAWN,
    ITEM_DELETED,
    ITEM_NOT_FOUND,
    ITEM_PURGED,
    ITEM_QUOTA,
    LIST_IN_TRASH,
    MEMBER_QUOTA,
    MEMBER_REMOVED,
    NAME_TAKEN,
    NO_ACCOUNT_WITH_EMAIL,
    NO_SUCH_INVITATION,
    NOT_A_MEMBER,
    NOT_IN_TRASH,
    ONLY_THE_OWNER_REMOVES,
    OWNER_ALREADY,
    OWNER_CANNOT_LEAVE,
    OWNER_ONLY,
    OWNER_ROLE_FIXED,
    RECURRENCE_WITHOUT_DATE,
    SESSION_ENDED,
    STEP_DELETED,
    STEP_NOT_FOUND,
    STEP_QUOTA,
    UNSUPPORTED_RECURRENCE,
    VIEWER_CANNOT_WRITE,
    APIError,
)
from web import (
    app,
    check_if_match,
    clean_body,
    count_failure,
    idempotent,
    is_conditional,
    log,
    page_and_limit,
    positive_query_int,
    query_boolean,
    query_choice,
    query_date,
    query_instant,
    query_param,
    query_sort_key,
    request_fields,
    set_page_headers,
    throttle_attempt,
    throttle_check,
)

# --- Representations -----------------------------------------------------------------------------

# Each from its fields' declarations (fields.py): a model or a row of the same names.
item_json = serializer(ITEM)
member_json = serializer(MEMBER)
_bucketlist_fields_json = serializer(BUCKETLIST)


def bucketlist_json(bucketlist, items=None, whole=False):
    """A bucketlist as the caller sees it (``role`` is theirs), with its items if given: as many as
    fit in ANSWER_TEXT_MAX (all of them, ``whole``), ``has_more_items`` saying whether some did not;
    the first always, however long."""
    body = _bucketlist_fields_json(bucketlist)
    if items is not None:
        shown = len(items) if whole else items_within_text_max(items)
        body['items'] = [item_json(item) for item in items[:shown]]
        body['has_more_items'] = shown < len(items)
    return body


# --- Bucketlists ---------------------------------------------------------------------------------

# What each role may do: read the list and its items, write its items, manage the list itself
# (rename, delete, members). ROLES go from the most allowed to the least.
ALLOWED = {'read': ROLES, 'write': ROLES[:2], 'manage': ROLES[:1]}
REFUSALS = {'write': VIEWER_CANNOT_WRITE, 'manage': OWNER_ONLY}


def bucketlist_for(bucketlist_id, may='read', for_update=False, shared=False):
    """The caller's view of this bucketlist (``role`` included): 404 unless they own it or are a
    member, as if it did not exist; 403 when their role does not allow ``may``. With
    ``for_update`` its row is locked until the transaction ends, ``shared`` or not
    (``Bucketlist.seen_by``). The same query proves the token's session open."""
    found = Bucketlist.seen_by(request.user_id, bucketlist_id, for_update, shared, request.session_id)
    return allowed(found, bucketlist_id, may)


def allowed(bucketlist, bucketlist_id, may):
    if bucketlist is None:
        raise BUCKETLIST_NOT_FOUND(bucketlist_id=bucketlist_id)
    if bucketlist.role not in ALLOWED[may]:
        raise REFUSALS[may](bucketlist_id=bucketlist_id)
    return bucketlist


def refused(bucketlist_id, may, otherwise):
    """Why a write's one statement found nothing to write: 404 or 403 (raised) if the caller may not
    ``may`` in the bucketlist, 401 if their session has ended (the token plugin's, which the
    same read proves); else ``otherwise``, the problem to raise: the object is gone, or full."""
    bucketlist_for(bucketlist_id, may)
    return otherwise


def bucketlist_with_items(bucketlist_id, may='read', for_update=False):
    """(bucketlist, items) as ``bucketlist_for`` checks them, in one query, which also proves the
    token's session open; on a miss the token plugin tells 401 from 404."""
    found = Bucketlist.with_items(request.user_id, bucketlist_id, request.session_id, for_update)
    bucketlist, items = found or (None, None)
    return allowed(bucketlist, bucketlist_id, may), items


def edit_bucketlist(bucketlist_id, fields, session_id):
    """(bucketlist, items) after the owner's edit (``Bucketlist.edit_owned``); a name the owner
    already uses is 409. One statement needs no savepoint: outside a transaction it is its own,
    inside one the 409 rolls the whole transaction back anyway."""
    with name_not_taken(fields.get('name')):
        return Bucketlist.edit_owned(request.user_id, session_id, bucketlist_id, fields, utcnow(),
                                     activity.request_id())


@app.post('/bucketlists/')
def bucketlist_create():
    fields = clean_body(BUCKETLIST, required=('name',))

    def create():
        now = utcnow()
        bucketlist = Bucketlist(owner=request.user_id, date_created=now, date_modified=now, **fields)
        bucketlist.role = 'owner'
        with name_not_taken(bucketlist.name):
            if not bucketlist.save_new(settings.MAX_BUCKETLISTS_PER_USER, activity.request_id(), request.session_id):
                raise BUCKETLIST_QUOTA(most=settings.MAX_BUCKETLISTS_PER_USER)  # (an ended session's: 401)
        response.status = 201
        return bucketlist_json(bucketlist, items=[])
    return idempotent(create)


@app.get('/bucketlists/', query=('page', 'limit', 'q', 'sort', 'role'))
def bucketlist_list():
    """The caller's bucketlists and those shared with them, each with the caller's role."""
    role = query_choice('role', ROLES)
    sort, descending = query_sort_key(BUCKETLIST_SORTS, 'id')
    text = query_param('q')
    page, limit = page_and_limit()
    bucketlists, total = Bucketlist.page_for(request.user_id, request.session_id, role, text, sort, descending,
                                             page, limit)
    set_page_headers(total, page, limit)
    return [bucketlist_json(bucketlist) for bucketlist in bucketlists or ()]


@app.get('/bucketlists/<bucketlist_id:id>')
def bucketlist_show(bucketlist_id):
    bucketlist, items = bucketlist_with_items(bucketlist_id)
    return bucketlist_json(bucketlist, items)


def plain_edit(fields):
    """``fields()`` of a write without If-Match whose body is valid, which one statement makes;
    else None: the write goes the long way, which refuses a caller who may not make it (404, 403)
    before a body that is not valid (400)."""
    if is_conditional():
        return None
    try:
        return fields()
    except APIError:
        return None


@contextmanager
def name_not_taken(name):
    """409 for a write that would give the owner two bucketlists of one name."""
    try:
        yield
    except IntegrityError as error:
        if violated_constraint(error) != 'unique':
            raise
        raise NAME_TAKEN(name=name) from None


@app.route('/bucketlists/<bucketlist_id:id>', method=['PUT', 'PATCH'])
def bucketlist_update(bucketlist_id):
    partial = request.method == 'PATCH'

    def clean():
        return clean_body(BUCKETLIST, required=() if partial else ('name',))
    fields = plain_edit(clean)
    if fields is not None:  # one statement
        found = edit_bucketlist(bucketlist_id, fields, request.session_id)
        if found is not None:
            return bucketlist_json(*found)
    # The long way: If-Match, a body to refuse after 404 and 403, or a write that found another
    # between its read of the list and its write (PostgreSQL), which holding the lock prevents.
    with db.atomic():
        bucketlist, items = bucketlist_with_items(bucketlist_id, 'manage', for_update=True)
        check_if_match(lambda: bucketlist_json(bucketlist, items))
        found = edit_bucketlist(bucketlist_id, clean(), None)  # the session: checked above
        if found is None:  # deleted since it was read
            raise BUCKETLIST_NOT_FOUND(bucketlist_id=bucketlist_id)
        return bucketlist_json(*found)


@app.delete('/bucketlists/<bucketlist_id:id>')
def bucketlist_delete(bucketlist_id):
    with db.atomic():
        bucketlist, items = bucketlist_with_items(bucketlist_id, 'manage', for_update=True)
        check_if_match(lambda: bucketlist_json(bucketlist, items))
        sync.record_deletion(bucketlist_id)
        activity.record('bucketlist.trashed', bucketlist_id, changes={'name': [bucketlist.name, None]})
        trash.put_bucketlist(bucketlist_id, request.user_id)
    return BUCKETLIST_DELETED(bucketlist_id=bucketlist_id)


# --- Items ---------------------------------------------------------------------------------------

def item_for(bucketlist_id, item_id, may='read', moves_items=True):
    """The item, if the caller may see its bucketlist, or 404; 403 if their role does not allow
    ``may``. For a write, its bucketlist's row is locked first (``Bucketlist.seen_by``), then its
    own. A write that moves no item needs that lock only to take turns with a member's removal:
    shared, and for a member only (nobody removes the owner)."""
    if may != 'read' and moves_items:
        bucketlist_for(bucketlist_id, may, for_update=True)
    elif may != 'read' and bucketlist_for(bucketlist_id, may).role != 'owner':
        bucketlist_for(bucketlist_id, may, for_update=True, shared=True)
    item = Item.seen_by(request.user_id, bucketlist_id, item_id, for_update=may != 'read')
    if item is None:
        raise ITEM_NOT_FOUND(item_id=item_id, bucketlist_id=bucketlist_id)
    return item


@app.post('/bucketlists/<bucketlist_id:id>/items/')
def item_create(bucketlist_id):
    # Refused before a stored answer is replayed: a member removed or made a viewer since gets 404
    # or 403, not the answer to their earlier retry.
    if request.get_header('Idempotency-Key') is not None:
        bucketlist_for(bucketlist_id, 'write')

    def create():
        fields = plain_edit(item_fields)
        if fields is None:  # 404 and 403 come before 400
            bucketlist_for(bucketlist_id, 'write')
            fields = item_fields()
        with db.atomic() if fields.get('labels') else nullcontext():
            item = Item.add(bucketlist_id, fields, utcnow(), settings.MAX_ITEMS_PER_BUCKETLIST, request.user_id,
                            request.session_id, activity.request_id())
            if item is None:
                raise refused(bucketlist_id, 'write',
                              ITEM_QUOTA(bucketlist_id=bucketlist_id, most=settings.MAX_ITEMS_PER_BUCKETLIST))
            if fields.get('labels'):
                labels.put_labels(item.id, fields['labels'])
                item = item._replace(labels=fields['labels'], version=stamped_version(Item, item.id))
        response.status = 201
        return item_json(item)
    return idempotent(create)


@app.get('/bucketlists/<bucketlist_id:id>/items/',
         query=('page', 'limit', 'q', 'done', 'sort', 'due_before', 'due_after', 'priority', 'label'))
def item_list(bucketlist_id):
    sort, descending = query_sort_key(ITEM_SORTS, 'position')
    filters = (query_param('q'), query_boolean('done'), query_date('due_before'), query_date('due_after'),
               positive_query_int('priority', None, PRIORITIES[-1]), positive_query_int('label', None, MAX_ID))
    page, limit = page_and_limit()
    items, total = Item.page_of(request.user_id, request.session_id, bucketlist_id, *filters, sort, descending,
                                page, limit)
    if items is None:  # an empty page: is the bucketlist there, and how many items are?
        bucketlist_for(bucketlist_id)
        total = Item.count_of(request.user_id, bucketlist_id, *filters)
    set_page_headers(total, page, limit)
    return [item_json(item) for item in items or ()]


@app.get('/items/', query=('page', 'limit', 'q', 'done', 'sort', 'due', 'priority', 'label'))
def every_item():
    """The caller's items across every bucketlist they see; ``due`` picks those due today, overdue
    (and not done) or in the next seven days, in the caller's time zone: the today view."""
    sort, descending = query_sort_key(ITEM_SORTS, 'due_date')
    due = query_choice('due', DUE_WINDOWS)
    done = query_boolean('done')
    if due == 'overdue' and done is None:  # (overdue: not done, unless done= says otherwise)
        done = False
    filters = (query_param('q'), done, None, None, positive_query_int('priority', None, PRIORITIES[-1]),
               positive_query_int('label', None, MAX_ID))
    page, limit = page_and_limit()
    window = due_window(due, accounts.current_user().time_zone if due else 'UTC')
    items, total = Item.page_across(request.user_id, request.session_id, filters, window, sort, descending, page,
                                    limit)
    set_page_headers(total, page, limit)
    return [item_json(item) for item in items or ()]


def due_window(due, zone):
    """The values of ``sql.EVERY_ITEM_MATCHING``'s due window for ``due`` (one of DUE_WINDOWS, or
    None: any), whose days are those of ``zone``: a date-only due counts by its date, a timed one
    by its instant."""
    if due is None:
        return {'due_from_date': None, 'due_to_date': None, 'due_from_at': None, 'due_to_at': None}
    today = datetime.now(ZoneInfo(zone)).date()
    if due == 'overdue':
        return {'due_from_date': None, 'due_to_date': today, 'due_from_at': None, 'due_to_at': utcnow()}
    end = today + timedelta(days=1 if due == 'today' else 7)

    def start_of(day):  # (a midnight that a change of clocks skips: with the offset before it)
        return datetime.combine(day, time(), ZoneInfo(zone)).astimezone(UTC).replace(tzinfo=None)
    return {'due_from_date': today, 'due_to_date': end, 'due_from_at': start_of(today), 'due_to_at': start_of(end)}


@app.get('/bucketlists/<bucketlist_id:id>/items/<item_id:id>')
def item_show(bucketlist_id, item_id):
    return item_shown(item_for(bucketlist_id, item_id))


def item_shown(item):
    """An item as GET one shows it: with its steps, in order."""
    return {**item_json(item), 'steps': [step_json(step) for step in Step.of(item.id)]}


@app.route('/bucketlists/<bucketlist_id:id>/items/<item_id:id>', method=['PUT', 'PATCH'])
def item_update(bucketlist_id, item_id):
    try:
        sent = request_fields()[0]
    except APIError:  # (refused below, after 404 and 403)
        sent = {}
    if request.method == 'PATCH' and sent.keys() == {'labels'}:
        return item_labelled(bucketlist_id, item_id)
    with db.atomic() if 'labels' in sent else nullcontext():
        item, fields = item_written(bucketlist_id, item_id)
        if 'labels' in fields:  # (the caller's, after the write: a writer's labels go with it)
            labels.put_labels(item_id, fields['labels'])
            item = item._replace(labels=fields['labels'], version=stamped_version(Item, item_id))
    return item_json(item)


def item_written(bucketlist_id, item_id):
    """(the item, the fields written) after a PUT or a PATCH: 404 unseen, 403 for a viewer, 400 for a
    body that is not valid, in that order. One statement checks the writer's role and session and
    writes (as a bucketlist's edit). If-Match holds the item's lock from its check to its write."""
    fields = plain_edit(item_fields)
    one_statement = fields is not None and not (request.method == 'PATCH' and DUE_FIELDS.intersection(fields))
    item = None
    if one_statement:  # (which leaves alone a recurring item ticked done: its due moves, from the stored one)
        item = Item.write(bucketlist_id, item_id, fields, utcnow(), request.user_id, request.session_id,
                          activity.request_id())
    # The long way when that wrote nothing: a recurring item ticked, another write in between
    # (PostgreSQL), or an item not there or not theirs, which item_for tells apart.
    if item is None:
        with db.atomic():  # (so too a PATCH of a due field: its instant needs the others, as stored)
            item = item_for(bucketlist_id, item_id, 'write', moves_items=False)
            check_if_match(lambda: item_json(item), lambda: item_shown(item))
            fields = item_fields(item) if fields is None else with_due_at(fields, item)  # (read once)
            item = Item.write(bucketlist_id, item_id, fields, utcnow(), request.user_id, None, activity.request_id(),
                              planned=True)
    if item is None:  # not there (or moved, or deleted since it was found), or not theirs to write
        raise refused(bucketlist_id, 'write', ITEM_NOT_FOUND(item_id=item_id, bucketlist_id=bucketlist_id))
    return item, fields


ITEM_LABELS = {'labels': ITEM['labels']}


def item_labelled(bucketlist_id, item_id):
    """A PATCH of the caller's labels alone, open to all who see the item, viewers too. Nobody else
    sees them, so its date_modified stays; its version moves, for the caller's next sync."""
    with db.atomic():
        item = item_for(bucketlist_id, item_id)
        check_if_match(lambda: item_json(item), lambda: item_shown(item))
        item.labels = clean_body(ITEM_LABELS, required=('labels',))['labels']
        labels.put_labels(item_id, item.labels)
        Item.update(position=Item.position).where(Item.id == item_id).execute()
        item.version = stamped_version(Item, item_id)
    return item_json(item)


def item_fields(stored=None):
    """The body's fields of an item to create (POST) or write over ``stored`` (PUT, PATCH), with
    the instant they are due; a PATCH's without the instant unless ``stored`` is given."""
    fields = clean_body(ITEM, required=() if request.method == 'PATCH' else ('name',))
    if request.method == 'PUT':  # a PUT replaces every field it may set
        fields = {**ITEM_RESETS, **fields}
    if request.method != 'PATCH' or stored is not None:
        fields = with_due_at(fields, stored)
    return fields


ITEM_RESETS = resets(ITEM)
DUE_FIELDS = frozenset(('due_date', 'due_time', 'time_zone', 'recurrence'))  # an item's due, which a PATCH merges


def with_due_at(fields, stored=None):
    """``fields`` with ``due_at``, the UTC instant of the item's due date and time in its zone, the
    ``stored`` item's values standing in for those ``fields`` leave out. A due time and a
    recurrence need a date; a due time without a zone takes the writer's account's, stored with the
    item (so a due time never moves when somebody changes their account's zone). A recurring item
    that ``fields`` tick done (``stored`` not done) moves to its next occurrence and stays open."""
    if stored is None and DUE_FIELDS.isdisjoint(fields):
        return fields
    due = {name: fields[name] if name in fields else getattr(stored, name, None) for name in DUE_FIELDS}
    if due['due_date'] is None and due['due_time'] is not None:
        raise DUE_TIME_WITHOUT_DATE(errors={'due_time': 'Needs a due_date.'})
    if due['due_date'] is None and due['recurrence'] is not None:
        raise RECURRENCE_WITHOUT_DATE(errors={'recurrence': 'Needs a due_date.'})
    fields = dict(fields)
    if due['due_time'] is not None:
        due['time_zone'] = fields['time_zone'] = due['time_zone'] or accounts.current_user().time_zone
    if due['recurrence'] is not None:
        following = next_due(due)
        if stored is not None and not stored.done and fields.get('done') is True:  # ticked
            fields['last_completed_at'] = utcnow()
            if following is not None:  # (else its last occurrence: it is done)
                fields['done'] = False
                fields['due_date'], fields['due_time'], fields['recurrence'] = following
                due.update(due_date=following[0], due_time=following[1])
    if due['due_time'] is None:
        return {**fields, 'due_at': None}
    local = datetime.combine(due['due_date'], time.fromisoformat(due['due_time']), ZoneInfo(due['time_zone']))
    try:
        return {**fields, 'due_at': local.astimezone(UTC).replace(tzinfo=None)}
    except OverflowError:  # (9999-12-31 23:59 west of UTC is in year 10000)
        raise DUE_TIME_OUT_OF_RANGE(errors={'due_time': 'Falls outside years 1 to 9999 in UTC.'},
                                    time_zone=due['time_zone']) from None


def next_due(due):
    """(date, time, rule) of a recurring due's next occurrence (``recurrence.next_due``), or None
    after its last; 422 for a rule this service does not keep."""
    try:
        return recurrence.next_due(due['recurrence'], due['due_date'], due['due_time'], due['time_zone'])
    except recurrence.Unsupported as error:
        raise UNSUPPORTED_RECURRENCE(errors={'recurrence': str(error)}, reason=str(error)) from None


@app.post('/bucketlists/<bucketlist_id:id>/items/<item_id:id>/move')
def item_move(bucketlist_id, item_id):
    """To ``position`` (default: last) in its bucketlist or in ``bucketlist_id``, another the caller
    may write to. The other items close up behind it and open up before it, so that positions stay
    0..n-1 in both lists. Moved to another list, it leaves a tombstone for everyone who sees the
    list it leaves: those who cannot see the other list would keep it in their copy; those who
    can get it again in the same sync, since clients apply deletions first."""
    # Refused as on every route whatever the body holds: 404 when unseen, 403 for a viewer.
    allowed(Bucketlist.seen_by(request.user_id, bucketlist_id), bucketlist_id, 'write')
    fields = clean_body(MOVE)
    target_id = fields.get('bucketlist_id', bucketlist_id)
    with db.atomic():
        # Both lists locked, in id order: two moves between the same lists never wait on each other.
        for locked_id in sorted({bucketlist_id, target_id}):
            bucketlist_for(locked_id, 'write', for_update=True)
        item = Item.seen_by(request.user_id, bucketlist_id, item_id, for_update=True)
        if item is None:
            raise ITEM_NOT_FOUND(item_id=item_id, bucketlist_id=bucketlist_id)
        check_if_match(lambda: item_json(item), lambda: item_shown(item))
        if target_id != bucketlist_id:
            sync.record_deletion(bucketlist_id, item_id)
            sync.record_item_arrival(item_id)
        Item.shift(bucketlist_id, item.position + 1, -1)  # out of its place...
        remaining = Item.count_in(target_id) - (target_id == bucketlist_id)
        if target_id != bucketlist_id and remaining >= settings.MAX_ITEMS_PER_BUCKETLIST:
            raise ITEM_QUOTA(bucketlist_id=target_id, most=settings.MAX_ITEMS_PER_BUCKETLIST)
        position = min(fields.get('position', remaining), remaining)
        Item.shift(target_id, position, +1)  # ...and into its new one
        moved = {'bucketlist_id': [bucketlist_id, target_id]} if target_id != bucketlist_id else {}
        activity.record('item.moved', target_id, item_id, {**moved, 'position': [item.position, position]},
                        moved_from=bucketlist_id if moved else None)
        item.bucketlist, item.position, item.date_modified = target_id, position, utcnow()
        item.save(only=[Item.bucketlist, Item.position, Item.date_modified])
    return item_json(item)


@app.delete('/bucketlists/<bucketlist_id:id>/items/<item_id:id>')
def item_delete(bucketlist_id, item_id):
    with db.atomic():
        item = item_for(bucketlist_id, item_id, 'write')
        check_if_match(lambda: item_json(item), lambda: item_shown(item))
        sync.record_deletion(bucketlist_id, item_id)
        activity.record('item.trashed', bucketlist_id, item_id, {'name': [item.name, None]})
        trash.put_item(item, request.user_id)
    return ITEM_DELETED(item_id=item_id)


# --- The trash -----------------------------------------------------------------------------------

trash_entry_json = serializer(TRASH_ENTRY)


@app.get('/trash', query=('page', 'limit'))
def trash_list():
    """The bucketlists the caller deleted and the items deleted from lists they own or edit, the
    newest first, until TRASH_DAYS have passed."""
    page, limit = page_and_limit()
    entries, total = trash.page(request.user_id, page, limit)
    set_page_headers(total, page, limit)
    return [trash_entry_json(entry) for entry in entries]


def trash_entry(kind, object_id):
    entry = trash.entry(request.user_id, kind, object_id) if 0 < object_id <= MAX_ID else None
    if entry is None:
        raise NOT_IN_TRASH(what=kind, object_id=object_id)
    return entry


@app.post('/trash/bucketlists/<bucketlist_id:id>/restore')
def bucketlist_restore(bucketlist_id):
    """The bucketlist back as it was deleted: its items in their places, their steps and labels,
    its members (those whose accounts still exist). It counts toward the quota again, and its
    name must be free."""
    with db.atomic():
        entry = trash_entry('bucketlist', bucketlist_id)
        # (Creates and restores take turns at the quota, as insert_bucketlist's lock does.)
        owner = locked(User.select().where(User.id == request.user_id), 'FOR NO KEY UPDATE').get()
        if owner.bucketlist_count >= settings.MAX_BUCKETLISTS_PER_USER:
            raise BUCKETLIST_QUOTA(most=settings.MAX_BUCKETLISTS_PER_USER)
        contents = trash.contents_of(entry)
        if len(contents['items']) > settings.MAX_ITEMS_PER_BUCKETLIST:  # (lowered since)
            raise ITEM_QUOTA(bucketlist_id=bucketlist_id, most=settings.MAX_ITEMS_PER_BUCKETLIST)
        with name_not_taken(entry.name):
            trash.restore_bucketlist(entry, contents)
        activity.record('bucketlist.restored', bucketlist_id, changes={'name': [None, entry.name]})
    return bucketlist_json(*bucketlist_with_items(bucketlist_id))


@app.post('/trash/items/<item_id:id>/restore')
def item_restore(item_id):
    """The item back in its bucketlist, in its place (or last, if the list is shorter now), with its
    steps and labels; 409 while its list is in the trash, or full."""
    with db.atomic():
        entry = trash_entry('item', item_id)
        # (Locked first: a list deleted meanwhile is in the trash by the time this reads it.)
        found = Bucketlist.seen_by(request.user_id, entry.bucketlist_id, for_update=True)
        if found is None and trash.holds_list(entry.bucketlist_id):  # (the caller sees this item's entry)
            raise LIST_IN_TRASH(bucketlist_id=entry.bucketlist_id)
        allowed(found, entry.bucketlist_id, 'write')
        count = Item.count_in(entry.bucketlist_id)
        if count >= settings.MAX_ITEMS_PER_BUCKETLIST:
            raise ITEM_QUOTA(bucketlist_id=entry.bucketlist_id, most=settings.MAX_ITEMS_PER_BUCKETLIST)
        contents = trash.contents_of(entry)
        trash.restore_item(entry, contents, min(contents['items'][0]['position'], count))
        activity.record('item.restored', entry.bucketlist_id, item_id, {'name': [None, entry.name]})
        return item_shown(item_for(entry.bucketlist_id, item_id))


@app.delete('/trash/bucketlists/<bucketlist_id:id>')
def bucketlist_purge(bucketlist_id):
    """The bucketlist gone for good, and the items deleted from it with it."""
    with db.atomic():
        trash.forget(trash_entry('bucketlist', bucketlist_id))
    return BUCKETLIST_PURGED(bucketlist_id=bucketlist_id)


@app.delete('/trash/items/<item_id:id>')
def item_purge(item_id):
    with db.atomic():
        entry = trash_entry('item', item_id)
        trash.forget(entry)
        activity.record('item.purged', entry.bucketlist_id, item_id)
    return ITEM_PURGED(item_id=item_id)


# --- Activity and completions --------------------------------------------------------------------

activity_entry_json = serializer(ACTIVITY_ENTRY)
completion_json = serializer(COMPLETION)


def activity_page(of_lists):
    kind = query_choice('kind', ACTIVITY_KINDS)
    since, until = query_instant('since'), query_instant('until')
    page, limit = page_and_limit()
    entries, total = activity.page(request.user_id, of_lists, kind, since, until, page, limit)
    set_page_headers(total, page, limit)
    return [activity_entry_json(entry) for entry in entries]


@app.get('/bucketlists/<bucketlist_id:id>/activity', query=('page', 'limit', 'kind', 'since', 'until'))
def bucketlist_activity(bucketlist_id):
    """Who changed what in the bucketlist, the newest first: anyone who sees it sees it all."""
    bucketlist_for(bucketlist_id)
    return activity_page([bucketlist_id])


@app.get('/activity', query=('page', 'limit', 'kind', 'since', 'until'))
def every_activity():
    """The activity of every bucketlist the caller sees, the newest first."""
    return activity_page(visible_ids(request.user_id))


@app.get('/items/completed', query=('page', 'limit', 'since', 'until'))
def completed_items():
    """Every completion in the bucketlists the caller sees, the newest first: an item ticked and
    unticked again, or deleted since, keeps its past completions."""
    since, until = query_instant('since'), query_instant('until')
    page, limit = page_and_limit()
    found, total = activity.completions(request.user_id, since, until, page, limit)
    set_page_headers(total, page, limit)
    return [completion_json(completion) for completion in found]


# --- Steps ---------------------------------------------------------------------------------------

step_json = serializer(STEP)


def step_for(item_id, step_id, for_update=True):
    """The item's step (``for_update``: locked for the caller's transaction); else 404."""
    query = Step.select().where((Step.id == step_id) & (Step.item == item_id))
    found = (locked(query) if for_update else query).get_or_none()
    if found is None:
        raise STEP_NOT_FOUND(step_id=step_id, item_id=item_id)
    return found


@app.post('/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/')
def step_create(bucketlist_id, item_id):
    """A step at ``position`` (default: last); those from there on move down one. Owners and editors:
    404 and 403 come before a body that is not valid (400), as for items."""
    if request.get_header('Idempotency-Key') is not None:  # (refused before a stored answer is replayed)
        item_for(bucketlist_id, item_id, 'write', moves_items=False)

    def create():
        with db.atomic():
            item_for(bucketlist_id, item_id, 'write')  # (the list's lock: its writes take turns)
            fields = clean_body(STEP, required=('name',))
            count = Step.select().where(Step.item == item_id).count()
            if count >= settings.MAX_STEPS_PER_ITEM:
                raise STEP_QUOTA(item_id=item_id, most=settings.MAX_STEPS_PER_ITEM)
            position = min(fields.pop('position', count), count)
            Step.shift(item_id, position, +1)
            now = utcnow()
            step = Step.create(item=item_id, position=position, date_created=now, date_modified=now, **fields)
            activity.record('step.created', bucketlist_id, item_id, {'name': [None, step.name]}, step_id=step.id)
        response.status = 201
        return step_json(step)
    return idempotent(create)


@app.get('/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/')
def step_list(bucketlist_id, item_id):
    """All the item's steps, in order (at most MAX_STEPS_PER_ITEM: no pages)."""
    item_for(bucketlist_id, item_id)
    return [step_json(step) for step in Step.of(item_id)]


@app.get('/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/<step_id:id>')
def step_show(bucketlist_id, item_id, step_id):
    item_for(bucketlist_id, item_id)
    return step_json(step_for(item_id, step_id, for_update=False))


@app.patch('/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/<step_id:id>')
def step_update(bucketlist_id, item_id, step_id):
    """Rename, tick or move a step (to ``position``; past the end: last)."""
    with db.atomic():
        item_for(bucketlist_id, item_id, 'write')
        step = step_for(item_id, step_id)
        check_if_match(lambda: step_json(step))
        fields = clean_body(STEP)
        before = {name: getattr(step, name) for name in ('position', *fields)}
        if 'position' in fields:
            last = Step.select().where(Step.item == item_id).count() - 1
            Step.shift(item_id, step.position + 1, -1)  # out of its place...
            step.position = min(fields.pop('position'), last)
            Step.shift(item_id, step.position, +1)  # ...and into its new one
        for name, value in fields.items():
            setattr(step, name, value)
        step.date_modified = utcnow()
        step.save()
        activity.record('step.updated', bucketlist_id, item_id, step_id=step_id, changes={
            name: [old, getattr(step, name)] for name, old in before.items() if old != getattr(step, name)})
    return step_json(step)


@app.delete('/bucketlists/<bucketlist_id:id>/items/<item_id:id>/steps/<step_id:id>')
def step_delete(bucketlist_id, item_id, step_id):
    with db.atomic():
        item_for(bucketlist_id, item_id, 'write')
        step = step_for(item_id, step_id)
        check_if_match(lambda: step_json(step))
        activity.record('step.deleted', bucketlist_id, item_id, {'name': [step.name, None]}, step_id=step_id)
        step.delete_instance()
        Step.shift(item_id, step.position + 1, -1)
        sync.record_step_deletion(bucketlist_id, step_id)
    return STEP_DELETED(step_id=step_id)


# --- Members -------------------------------------------------------------------------------------


def membership(bucketlist_id, user_id):
    """A member of the bucketlist, with their email, or 404."""
    found = (Membership.select(Membership, User.email).join(User)
             .where((Membership.bucketlist == bucketlist_id) & (Membership.user == user_id)).objects().get_or_none())
    if found is None:
        raise NOT_A_MEMBER(user_id=user_id, bucketlist_id=bucketlist_id)
    return found


def invitation(bucketlist_id, user_id):
    """The pending invitation of ``user_id`` to the bucketlist, with their email, or None."""
    return (Invitation.select(Invitation, User.email).join(User, on=Invitation.user == User.id)
            .where((Invitation.bucketlist == bucketlist_id) & (Invitation.user == user_id)).objects().get_or_none())


@app.get('/bucketlists/<bucketlist_id:id>/members')
def member_list(bucketlist_id):
    """The owner first, then the members in the order they were added, then (for the owner) those
    invited who have not accepted yet (at most MAX_MEMBERS_PER_BUCKETLIST in all)."""
    bucketlist = bucketlist_for(bucketlist_id)
    owner = User.get_by_id(bucketlist.owner_id)
    members = (Membership.select(Membership, User.email).join(User).where(Membership.bucketlist == bucketlist_id)
               .order_by(Membership.date_added, Membership.user).objects())
    invited = []
    if bucketlist.role == 'owner':
        invited = (Invitation.select(Invitation, User.email).join(User, on=Invitation.user == User.id)
                   .where(Invitation.bucketlist == bucketlist_id).order_by(Invitation.id).objects())
    return ([owner_as_member(owner.id, owner.email, bucketlist.date_created)]
            + [member_json(member) for member in members] + [member_json(invitee) for invitee in invited])


def owner_as_member(user_id, email, date_created):
    """The owner, as the list of members shows them: first, since the list was made."""
    return member_json(SimpleNamespace(user_id=user_id, email=email, role=ROLES[0], date_added=date_created,
                                       status=Membership.status))


@app.post('/bucketlists/<bucketlist_id:id>/members')
def member_add(bucketlist_id):
    bucketlist_for(bucketlist_id, 'manage')  # refused as on every route, whatever the body holds
    fields = clean_body(MEMBER, required=('email', 'role'))
    misses = [('member-unknown-email', str(request.user_id), settings.UNKNOWN_EMAILS_PER_HOUR, timedelta(hours=1))]
    throttle_check(misses)
    user = User.get_or_none(User.email == normalized_email(fields['email']))
    if user is None:
        count_failure(misses)
        raise NO_ACCOUNT_WITH_EMAIL()
    with db.atomic():
        bucketlist = bucketlist_for(bucketlist_id, 'manage', for_update=True)
        if user.id == bucketlist.owner_id:
            raise OWNER_ALREADY(bucketlist_id=bucketlist_id)
        if Membership.select().where((Membership.bucketlist == bucketlist_id) & (Membership.user == user.id)).exists():
            raise ALREADY_A_MEMBER(email=user.email, bucketlist_id=bucketlist_id)
        members = (Membership.select(Membership.user).where(Membership.bucketlist == bucketlist_id)
                   | Invitation.select(Invitation.user).where(Invitation.bucketlist == bucketlist_id)).count()
        if members >= settings.MAX_MEMBERS_PER_BUCKETLIST:
            raise MEMBER_QUOTA(bucketlist_id=bucketlist_id, most=settings.MAX_MEMBERS_PER_BUCKETLIST)
        hour = timedelta(hours=1)
        throttle_attempt([('invitation-sent', str(request.user_id), settings.INVITATIONS_PER_HOUR, hour),
                          ('invitation-received', str(user.id), settings.INVITATIONS_PER_HOUR, hour)])
        try:
            with db.atomic():
                invited = Invitation.create(bucketlist=bucketlist_id, user=user.id, role=fields['role'],
                                            invited_by=request.user_id, date_added=utcnow())
        except IntegrityError:  # (the unique index: invited already)
            raise ALREADY_INVITED(email=user.email, bucketlist_id=bucketlist_id) from None
        activity.record('member.invited', bucketlist_id, member_id=user.id, changes={'role': [None, fields['role']]})
    invited.email = user.email
    response.status = 201
    return member_json(invited)


@app.patch('/bucketlists/<bucketlist_id:id>/members/<user_id:id>')
def member_change(bucketlist_id, user_id):
    bucketlist_for(bucketlist_id, 'manage')
    fields = clean_body(MEMBER_CHANGE, required=('role',))
    with db.atomic():
        bucketlist = bucketlist_for(bucketlist_id, 'manage', for_update=True)
        if user_id == bucketlist.owner_id:
            raise OWNER_ROLE_FIXED(bucketlist_id=bucketlist_id)
        member = membership(bucketlist_id, user_id)
        activity.record('member.changed', bucketlist_id, member_id=user_id, changes={'role': [member.role,
                                                                                          fields['role']]})
        member.role = fields['role']
        member.save(only=[Membership.role])
        sync.record_sharing(bucketlist_id)  # members' syncs show the role with the list
    return member_json(member)


@app.delete('/bucketlists/<bucketlist_id:id>/members/<user_id:id>')
def member_remove(bucketlist_id, user_id):
    """The owner removes a member, or withdraws an invitation; a member may remove only themself
    (leave). A member's next sync shows the list deleted."""
    with db.atomic():
        bucketlist = bucketlist_for(bucketlist_id, for_update=True)
        if bucketlist.role != 'owner' and user_id != request.user_id:
            raise ONLY_THE_OWNER_REMOVES(bucketlist_id=bucketlist_id)
        if user_id == bucketlist.owner_id:
            raise OWNER_CANNOT_LEAVE(bucketlist_id=bucketlist_id)
        invited = invitation(bucketlist_id, user_id) if bucketlist.role == 'owner' else None
        if invited is not None:
            invited.delete_instance()
            activity.record('member.uninvited', bucketlist_id, member_id=user_id,
                            changes={'role': [invited.role, None]})
            return INVITATION_WITHDRAWN(user_id=user_id, bucketlist_id=bucketlist_id)
        member = membership(bucketlist_id, user_id)
        member.delete_instance()
        activity.record('member.left' if user_id == request.user_id else 'member.removed', bucketlist_id,
                        member_id=user_id, changes={'role': [member.role, None]})
        sync.record_departure(bucketlist_id, user_id)
    return MEMBER_REMOVED(user_id=user_id, bucketlist_id=bucketlist_id)


# --- Invitations ---------------------------------------------------------------------------------

invitation_json = serializer(INVITATION)


@app.get('/invitations', query=('page', 'limit'))
def invitation_list():
    """The caller's invitations to share a bucketlist, oldest first: nothing of a list reaches them
    before they accept."""
    page, limit = page_and_limit()
    inviter = User.alias()
    query = (Invitation.select(Invitation.id, Invitation.bucketlist.alias('bucketlist_id'),
                               Bucketlist.name.alias('bucketlist_name'),
                               Invitation.role, inviter.email.alias('invited_by'), Invitation.date_added)
             .join(Bucketlist).switch(Invitation).join(inviter, on=Invitation.invited_by == inviter.id)
             .where(Invitation.user == request.user_id))
    set_page_headers(query.count(), page, limit)
    return [invitation_json(row) for row in query.order_by(Invitation.id).paginate(page, limit).namedtuples()]


def own_invitation(invitation_id):
    """The caller's invitation, or 404. In a transaction, its list's row and then its own are
    locked until it ends: the order in which the owner's changes of members take them."""
    query = Invitation.select().where((Invitation.id == invitation_id) & (Invitation.user == request.user_id))
    found = query.get_or_none() if 0 < invitation_id <= MAX_ID else None
    if found is not None and db.in_transaction():
        locked(Bucketlist.select(Bucketlist.id).where(Bucketlist.id == found.bucketlist_id)).get_or_none()
        found = locked(query).get_or_none()  # (withdrawn, or its list deleted, meanwhile: none)
    if found is None:
        raise NO_SUCH_INVITATION(invitation_id=invitation_id)
    return found


@app.post('/invitations/<invitation_id:id>/accept')
def invitation_accept(invitation_id):
    """Join the bucketlist in the invitation's role: its next sync brings the list and its items."""
    with db.atomic():
        invited = own_invitation(invitation_id)
        bucketlist_id = invited.bucketlist_id
        Membership.create(bucketlist=bucketlist_id, user=request.user_id, role=invited.role, date_added=utcnow())
        invited.delete_instance()
        sync.record_sharing(bucketlist_id)
        activity.record('member.joined', bucketlist_id, member_id=request.user_id,
                        changes={'role': [None, invited.role]})
        return bucketlist_json(bucketlist_for(bucketlist_id))


@app.post('/invitations/<invitation_id:id>/decline')
def invitation_decline(invitation_id):
    with db.atomic():
        invited = own_invitation(invitation_id)
        invited.delete_instance()
        activity.record('member.declined', invited.bucketlist_id, member_id=request.user_id,
                        changes={'role': [invited.role, None]})
    return INVITATION_DECLINED(bucketlist_id=invited.bucketlist_id)


# --- Sync ----------------------------------------------------------------------------------------

@app.get('/sync', query=('cursor', 'limit'))
def sync_changes():
    """Without a cursor, everything the caller has; with the last answer's cursor, only what was
    created, changed or deleted since (each object whole and current). A client applies the
    deletions first (a deleted bucketlist takes its items with it), then the objects, and follows
    has_more with the cursor until it is false."""
    return synced(cursor_of(query_param('cursor')))


def cursor_of(text, name='cursor'):
    """The sync cursor ``text`` (None: none), or 400."""
    try:
        return None if text is None else sync.decode(text)
    except sync.BadCursor:
        raise APIError(400, f"The {name} is not a cursor this API gave: send the cursor of the last answer, or none "
                            'to start afresh.', errors={name: 'Not a cursor.'}, kind='invalid-query') from None


@app.get('/events', query=('cursor',))
def event_stream():
    """A Server-Sent Events stream of the caller's changes from the cursor that Last-Event-ID (or
    ``cursor``) gives, any sync cursor, or from now (events.py). It ends with the access token, or
    after EVENT_STREAM_MAX_SECONDS: reconnect with the last event's id."""
    cursor = cursor_of(request.get_header('Last-Event-ID') or query_param('cursor'),
                       'Last-Event-ID' if request.get_header('Last-Event-ID') else 'cursor')
    token = auth.bearer_token(request.get_header('Authorization'))
    seconds = settings.EVENT_STREAM_MAX_SECONDS
    if not token.startswith(auth.API_TOKEN_PREFIX):
        seconds = min(seconds, auth.read_token(token)['exp'] - time_now())
    start = sync.encode(cursor or sync.Cursor(sync.low_water(), None, None, None))
    run_session_check()  # (before a slot is taken: a stream refused after would hold it for good)

    def next_page(text):
        if token.startswith(auth.API_TOKEN_PREFIX):
            auth.read_api_token(token)  # (revoked since: the stream ends)
        return synced(sync.decode(text), sync.DEFAULT_PAGE_SIZE)
    stream = events.Stream(request.user_id, start, next_page, monotonic() + seconds)
    response.content_type = 'text/event-stream'
    response.set_header('Cache-Control', 'no-store')
    response.set_header('X-Accel-Buffering', 'no')  # (a proxy must pass each event on as it comes)
    return stream


@app.post('/sync', query=('limit',))
def sync_push():
    """Run the commands (commands.py), each as its route would, then answer as GET /sync does from
    ``cursor`` (none: a full sync), with each command's result and the ids its temp ids stand for.
    The answer's changes hold the commands' own writes, and its cursor follows them."""
    body = clean_body(commands.BODY, required=('commands',))
    limit = positive_query_int('limit', sync.DEFAULT_PAGE_SIZE, sync.MAX_PAGE_SIZE)  # (refused before any runs)
    results, temp_ids = commands.run(body['commands'], request.user_id)
    return {**synced(body.get('cursor'), limit), 'results': results, 'temp_ids': temp_ids}


def synced(cursor, limit=None):
    """GET /sync's answer: the page of changes that follows ``cursor`` (None: a full sync's first)."""
    if limit is None:
        limit = positive_query_int('limit', sync.DEFAULT_PAGE_SIZE, sync.MAX_PAGE_SIZE)
    try:
        found, cursor = sync.page(request.user_id, request.session_id, cursor, limit)
    except sync.SessionEnded:
        raise auth.InvalidToken(SESSION_ENDED) from None
    except sync.CursorTooOld:
        raise CURSOR_TOO_OLD(days=settings.SYNC_TOMBSTONE_DAYS) from None
    deleted = found['deletions']
    return {'cursor': sync.encode(cursor), 'has_more': cursor.phase is not None,
            'bucketlists': [bucketlist_json(bucketlist) for bucketlist in found['bucketlists']],
            'items': [item_json(item) for item in found['items']],
            'labels': [labels.label_json(label) for label in found['labels']],
            'steps': [step_json(step) for step in found['steps']],
            'deleted': {'bucketlists': [d.object_id for d in deleted if d.kind == 'bucketlist'],
                        'items': [d.object_id for d in deleted if d.kind == 'item'],
                        'labels': [d.object_id for d in deleted if d.kind == 'label'],
                        'steps': [d.object_id for d in deleted if d.kind == 'step']}}


# --- The account's data, to take away ----------------------------------------------------------

@app.get('/users/me/export', scope='session')
def export():
    """Everything the account holds, as one JSON document to download (GDPR Art. 20).

    Written to a temporary file a few bucketlists at a time, then sent from it: a worker holds
    one batch in memory whatever the account holds (the quotas' ceiling is gigabytes), and the
    database connection goes back to the pool before the sending starts. An account exports
    EXPORTS_AT_ONCE at a time: each export counts until it has been written."""
    user = accounts.current_user()
    running = throttle_attempt([('export', str(user.id), EXPORTS_AT_ONCE, EXPORT_WRITING_WINDOW)])
    document = tempfile.TemporaryFile()  # (gone once closed: Bottle closes it when it is sent)
    try:
        for part in export_parts(user):
            document.write(part.encode())
    except BaseException:
        document.close()
        raise
    finally:
        ThrottleEvent.forget_events(running)
    response.content_type = 'application/json'
    response.content_length = document.tell()
    response.set_header('Content-Disposition', 'attachment; filename="bucketlist-export.json"')
    document.seek(0)
    return document


# One export of an account at a time; a worker killed while writing one holds it this long.
EXPORTS_AT_ONCE, EXPORT_WRITING_WINDOW = 1, timedelta(minutes=10)
# Bucketlists whose items an export reads at once: at the quotas' ceiling, 2 x 500 items of
# 8,192 characters of notes, some tens of MiB.
EXPORT_BATCH = 2


def export_parts(user):
    # The account's credentials as its lists show them: never a secret.
    sessions = [accounts.session_json(session) for session in accounts.open_sessions(user.id)]
    api_tokens = [accounts.api_token_json(token) for token in accounts.api_tokens_of(user.id)]
    own_labels = [labels.label_json(label) for label in Label.select().where(Label.user == user.id).order_by(Label.id)]
    yield ('{"account": ' + json.dumps(accounts.account_json(user)) + ', "sessions": ' + json.dumps(sessions)
           + ', "api_tokens": ' + json.dumps(api_tokens) + ', "labels": ' + json.dumps(own_labels)
           + ', "bucketlists": [')
    bucketlists = list(Bucketlist.select(Bucketlist, role_of(user.id).alias('role'))
                       .where(Bucketlist.owner == user.id).order_by(Bucketlist.id))
    for start in range(0, len(bucketlists), EXPORT_BATCH):
        batch = bucketlists[start:start + EXPORT_BATCH]
        items = {}
        batch_items = list(Item.select().where(Item.bucketlist.in_([b.id for b in batch])).order_by(Item.id))
        for item in ItemLabel.put_on(batch_items, user.id):
            items.setdefault(item.bucketlist_id, []).append(item)
        for position, bucketlist in enumerate(batch, start):
            yield (', ' if position else '') + json.dumps(bucketlist_json(bucketlist, items.get(bucketlist.id, []),
                                                                          whole=True))
    yield '], "steps": ['
    first = True
    for start in range(0, len(bucketlists), EXPORT_BATCH):
        batch_ids = [bucketlist.id for bucketlist in bucketlists[start:start + EXPORT_BATCH]]
        for step in (Step.select().join(Item).where(Item.bucketlist.in_(batch_ids))
                     .order_by(Step.item, Step.position)):
            yield ('' if first else ', ') + json.dumps(step_json(step))
            first = False
    for part, model in (('activity', Activity), ('completions', Completion)):
        show = activity_entry_json if model is Activity else completion_json
        yield f'], "{part}": ['
        theirs = ((Activity.bucketlist_id.in_(activity.of_owner(user.id)) & (Activity.at >= activity.kept_since()))
                  if model is Activity else Completion.owner == user.id)
        for position, row in enumerate(model.select().where(theirs).order_by(model.id).iterator()):
            yield (', ' if position else '') + json.dumps(show(row))
    yield '], "trash": ['
    # (one entry at a time: a list's contents are as long as the list)
    for position, entry in enumerate(Trash.select().where((Trash.owner == user.id) & (Trash.purge_at > utcnow()))
                                     .order_by(Trash.id).iterator()):
        contents = trash.contents_of(entry)
        contents['item_labels'] = [row for row in contents['item_labels'] if row['user'] == user.id]  # (theirs alone)
        yield (', ' if position else '') + json.dumps({**trash_entry_json(entry), 'contents': contents})
    yield ']}'


def main(argv):
    """Serve the API on http://127.0.0.1:$PORT/ with Bottle's development server, one request at a
    time. Settings come from the environment or a .env file (README, Settings); in production run
    gunicorn as the Procfile does."""
    argparse.ArgumentParser(prog='python bucketlist.py', description=main.__doc__).parse_args(argv)
    try:
        # The development server binds when it starts, after the line below: try the port first.
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (as the server does)
            probe.bind(('127.0.0.1', settings.PORT))
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        sys.exit(f'Port {settings.PORT} is in use (is the service already running?): stop that server, '
                 f'or choose another port, e.g. PORT={settings.PORT + 1} python bucketlist.py')
    if settings.SECRET_IS_GENERATED:
        log.warning('SECRET is not set: using a random one, so tokens die with this process')
    log.info('serving on http://127.0.0.1:%s/ (Ctrl-C to stop)', settings.PORT)
    # quiet: the development server's own line per request would repeat the request log's.
    app.run(host='127.0.0.1', port=settings.PORT, quiet=True)


if __name__ == '__main__':
    main(sys.argv[1:])
