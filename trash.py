"""The trash: a deleted bucketlist or item waits TRASH_DAYS in its list owner's trash, then is purged.

Deleting one copies its rows (a list's own, its items', their steps and labels, its members and
invitations; an item's own, its steps and labels) into one ``Trash`` row as JSON and deletes them.
Every other read and every quota is written against the tables, so none of them sees or counts
what is in the trash, and nothing else needs to know of it. A restore inserts the rows again under
their ids (which are never reused: migrations 12, 17, 19); their triggers give them new versions,
so /sync sends them whole after the tombstones of the delete."""
import json
from datetime import timedelta

from peewee import chunked

import activity
import settings
from models import (
    Bucketlist,
    Invitation,
    Item,
    ItemLabel,
    Label,
    Membership,
    Step,
    Trash,
    User,
    locked,
    utcnow,
)

PURGE_BATCH = 20  # entries past their days that one deletion purges (anybody's): a bounded cost each
# Columns left out of what is kept: the triggers keep them (versions, counts, a list's editors).
KEPT_BY_TRIGGERS = frozenset(('version', 'item_count', 'editor_ids'))
INSERT_BATCH = 100  # rows an INSERT takes at once (SQLite binds at most 32,766 values)
KEYS = (Trash.id, Trash.kind, Trash.object_id, Trash.bucketlist_id)  # what forget needs of an entry


def rows(query):
    """The rows of ``query`` as dicts of their fields (by field name, as ``insert_many`` takes them)."""
    return [{name: value for name, value in row.items() if name not in KEPT_BY_TRIGGERS} for row in query.dicts()]


def item_rows(item_ids):
    """{part: rows} of these items' steps and labels (every account's, each seeing only its own)."""
    return {'steps': rows(Step.select().where(Step.item.in_(item_ids)).order_by(Step.id)),
            'item_labels': rows(ItemLabel.select().where(ItemLabel.item.in_(item_ids)))}


def put_bucketlist(bucketlist_id, user_id):
    """Move the bucketlist, with all it holds, to its owner's trash; the caller holds its lock."""
    bucketlist = rows(Bucketlist.select().where(Bucketlist.id == bucketlist_id))[0]
    item_ids = Item.select(Item.id).where(Item.bucketlist == bucketlist_id)
    contents = {'bucketlist': bucketlist,
                'items': rows(Item.select().where(Item.bucketlist == bucketlist_id).order_by(Item.position)),
                **item_rows(item_ids),
                'memberships': rows(Membership.select().where(Membership.bucketlist == bucketlist_id)),
                'invitations': rows(Invitation.select().where(Invitation.bucketlist == bucketlist_id))}
    _put('bucketlist', bucketlist_id, None, bucketlist['name'], bucketlist['owner'], user_id, contents)
    Bucketlist.delete_by_id(bucketlist_id)


def put_item(item, user_id):
    """Move the item (a model, as read), with its steps and labels, to its list owner's trash; the
    caller holds the list's lock."""
    row = {name: value for name, value in item.__data__.items() if name not in KEPT_BY_TRIGGERS}
    owner = Bucketlist.select(Bucketlist.owner).where(Bucketlist.id == item.bucketlist_id)
    _put('item', item.id, item.bucketlist_id, item.name, owner, user_id, {'items': [row], **item_rows([item.id])})
    Item.delete_by_id(item.id)
    Item.shift(item.bucketlist_id, item.position + 1, -1)


def _put(kind, object_id, bucketlist_id, name, owner, user_id, contents):
    """A new entry in ``owner``'s trash (an id, or a query of one), after purging a few of those
    past their days (anybody's). The trash holds at most as many lists as an account may, and as many
    items of one list as it may hold: past that the oldest go for good, so that deleting cannot
    store more than the quotas allow."""
    now = utcnow()
    activity.purge()
    for entry in skipping_locked(Trash.select(*KEYS).where(Trash.purge_at <= now).limit(PURGE_BATCH)):
        forget(entry)
    Trash.insert(owner=owner, kind=kind, object_id=object_id, bucketlist_id=bucketlist_id, name=name,
                 deleted_by=user_id, deleted_at=now, purge_at=now + timedelta(days=settings.TRASH_DAYS),
                 contents=json.dumps(contents, default=str)).execute()
    if kind == 'bucketlist':
        over = Trash.select(*KEYS).where(
            (Trash.owner == owner) & (Trash.kind == 'bucketlist'))
        most = settings.MAX_BUCKETLISTS_PER_USER
    else:
        over = Trash.select(*KEYS).where(
            (Trash.kind == 'item') & (Trash.bucketlist_id == bucketlist_id))
        most = settings.MAX_ITEMS_PER_BUCKETLIST
    for entry in skipping_locked(over.order_by(Trash.id.desc()).offset(most)):  # (the newest ``most`` stay)
        forget(entry)


def skipping_locked(query):
    """``query``'s entries but those a restore holds (PostgreSQL): a deletion purging them would wait
    for the restore while holding the list's lock, which the restore waits for."""
    return list(locked(query, 'FOR UPDATE SKIP LOCKED'))


def seen_by(user_id):
    """Which entries ``user_id`` sees: their own (of lists they own), and the items of the lists they
    edit, which they could delete and so may restore."""
    edited = Membership.select(Membership.bucketlist).where((Membership.user == user_id)
                                                            & (Membership.role == 'editor'))
    return ((Trash.owner == user_id) | ((Trash.kind == 'item') & Trash.bucketlist_id.in_(edited))) & (
        Trash.purge_at > utcnow())


def page(user_id, page_number, limit):
    """(one page of the entries ``user_id`` sees, the newest deletion first; how many there are)."""
    shown = [field for field in Trash._meta.sorted_fields if field is not Trash.contents]  # (contents: long)
    query = Trash.select(*shown).where(seen_by(user_id))
    entries = list(query.order_by(Trash.deleted_at.desc(), Trash.id.desc()).paginate(page_number, limit))
    return entries, query.count() if entries or page_number > 1 else 0


def entry(user_id, kind, object_id):
    """The entry of this bucketlist or item if ``user_id`` sees it (a list's: its owner only), locked, else None."""
    return locked(Trash.select().where((Trash.kind == kind) & (Trash.object_id == object_id) & seen_by(user_id)
                                       & ((Trash.kind == 'item') | (Trash.owner == user_id)))).get_or_none()


def holds_list(bucketlist_id):
    return Trash.select().where((Trash.kind == 'bucketlist') & (Trash.object_id == bucketlist_id)).exists()


def contents_of(entry):
    return json.loads(entry.contents)


def restore_bucketlist(entry, contents):
    """Insert the bucketlist again from its entry's ``contents`` (``contents_of``), with its items,
    their steps and labels, its members and invitations (those whose accounts and labels still
    exist), and empty the entry. The caller checked its owner's quota and name."""
    Bucketlist.insert(contents['bucketlist']).execute()
    _insert_items(contents, entry.deleted_at)
    for model, part in ((Membership, 'memberships'), (Invitation, 'invitations')):
        accounts = existing(User, {row['user'] for row in contents[part]}, entry.deleted_at)
        _insert(model, [row for row in contents[part] if row['user'] in accounts])
    entry.delete_instance()


def restore_item(entry, contents, position):
    """Insert the item again from its entry's ``contents`` at ``position`` in its list (those from
    there on move down one), with its steps and labels, and empty the entry. The caller holds the
    list's lock and checked its quota."""
    Item.shift(entry.bucketlist_id, position, +1)
    contents['items'][0]['position'] = position
    _insert_items(contents, entry.deleted_at)
    entry.delete_instance()


def _insert_items(contents, deleted_at):
    makers = existing(User, {row['created_by'] for row in contents['items']} - {None}, deleted_at)
    for row in contents['items']:  # (whoever made it may have deleted their account since)
        row['created_by'] = row['created_by'] if row['created_by'] in makers else None
    _insert(Item, contents['items'])
    _insert(Step, contents['steps'])
    labels = existing(Label, {row['label'] for row in contents['item_labels']})
    _insert(ItemLabel, [row for row in contents['item_labels'] if row['label'] in labels])


def existing(model, ids, made_before=None):
    """Those of ``ids`` that ``model`` still has; of users, only accounts ``made_before`` the deletion:
    SQLite gives a new account the highest id again, which a deleted account may have had."""
    if not ids:
        return set()
    query = model.select(model.id).where(model.id.in_(list(ids)))
    if made_before is not None:
        query = query.where(model.date_created < made_before)
    return {row.id for row in query}


def _insert(model, many):
    for batch in chunked(many, INSERT_BATCH):
        model.insert_many(batch).execute()


def forget(entry):
    """Empty an entry for good. A list takes along the entries of the items deleted from it, and
    its activity and completions (a few at a time: activity.forget_lists). An item's history stays
    its list's: the list's activity and completions keep it while the list lasts."""
    Trash.delete().where(Trash.id == entry.id).execute()
    if entry.kind == 'bucketlist':
        Trash.delete().where((Trash.kind == 'item') & (Trash.bucketlist_id == entry.object_id)).execute()
        activity.forget_lists([entry.object_id])
