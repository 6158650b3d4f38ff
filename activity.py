"""A list's activity, and its items' completions.

Every change to a bucketlist leaves one entry: who, when, by which request, and the fields it
changed as [old, new] (``fields.ACTIVITY_ENTRY``), written in the same transaction as the change.
The busiest writes (creating a list or an item, editing or ticking one) record theirs in their
own statement (sql.py's ``logged``); the others call ``record``. Entries are kept ACTIVITY_DAYS;
completions (``fields.COMPLETION``) while their list lasts. Both go with the list's owner's account,
and with the list when it is deleted for good."""
from datetime import timedelta

from bottle import request
from peewee import SQL, chunked

import settings
from models import Activity, Bucketlist, Completion, ForgottenList, Trash, locked, utcnow, visible_ids


def request_id():
    return request.environ.get('bucketlist.request_id', '-')


def record(kind, bucketlist_id, item_id=None, changes=None, **about):
    """An entry of the caller's change to the bucketlist, in the caller's transaction (``about``: its
    step_id, member_id or moved_from)."""
    Activity.record(request.user_id, utcnow(), request_id(), kind, bucketlist_id, item_id, changes, **about)


def kept_since():
    return utcnow() - timedelta(days=settings.ACTIVITY_DAYS)


PURGE_BATCH = 1000  # entries past ACTIVITY_DAYS that one read forgets (anybody's): a bounded cost each
# Invitations are the owner's to see (GET …/members shows members the pending ones to nobody else).
OWNER_ONLY_KINDS = ('member.invited', 'member.uninvited', 'member.declined')


def purge():
    """Forget some of the entries past ACTIVITY_DAYS, anybody's: from the oldest (ids grow with time,
    so no index on ``at`` is needed, which every write would pay for); and some of the activity and
    completions of a list gone for good (``forget_lists``)."""
    oldest = Activity.select(Activity.at).order_by(Activity.id).limit(1).scalar()
    if oldest is not None and oldest < kept_since():
        Activity.delete().where(Activity.id.in_(Activity.select(Activity.id).order_by(Activity.id).limit(PURGE_BATCH))
                                & (Activity.at < kept_since())).execute()
    gone = locked(ForgottenList.select().limit(1), 'FOR UPDATE SKIP LOCKED').scalar()
    if gone is not None:
        deleted = sum(model.delete().where(model.id.in_(
            model.select(model.id).where(model.bucketlist_id == gone).limit(PURGE_BATCH))).execute()
            for model in (Activity, Completion))
        if not deleted:
            ForgottenList.delete().where(ForgottenList.bucketlist_id == gone).execute()


def of_owner(user_id):
    """The ids of the lists ``user_id`` owns, those in their trash too."""
    return (Bucketlist.select(Bucketlist.id).where(Bucketlist.owner == user_id)
            + Trash.select(Trash.object_id).where((Trash.owner == user_id) & (Trash.kind == 'bucketlist')))


def page(user_id, of_lists, kind, since, until, page_number, limit):
    """(one page of the entries of the lists ``of_lists`` (a query of their ids) and of the items
    moved out of them, newest first; how many there are), of ``kind``, from ``since`` to ``until``
    (each None: any), as ``user_id`` sees them: the invitations of lists they own only."""
    purge()
    where = (Activity.at >= kept_since()) & (Activity.kind.not_in(OWNER_ONLY_KINDS)
                                             | Activity.bucketlist_id.in_(of_owner(user_id)))
    for condition, wanted in ((Activity.kind == kind, kind), (Activity.at >= since, since),
                              (Activity.at <= until, until)):
        if wanted is not None:
            where &= condition
    # Two reads, each through its own index (an OR of the two made PostgreSQL scan the table).
    query = (Activity.select().where(Activity.bucketlist_id.in_(of_lists) & where)
             | Activity.select().where(Activity.moved_from.in_(of_lists) & where))
    entries = list(query.order_by(SQL('id').desc()).paginate(page_number, limit))
    return entries, query.count() if entries or page_number > 1 else 0


def completions(user_id, since, until, page_number, limit):
    """(one page of the completions in the lists ``user_id`` sees, the newest first; how many there are)."""
    where = Completion.bucketlist_id.in_(visible_ids(user_id))
    if since is not None:
        where &= Completion.completed_at >= since
    if until is not None:
        where &= Completion.completed_at <= until
    query = Completion.select().where(where)
    found = list(query.order_by(Completion.completed_at.desc(), Completion.id.desc()).paginate(page_number, limit))
    return found, query.count() if found or page_number > 1 else 0


def forget_lists(bucketlist_ids):
    """Lists gone for good: their activity and completions go too, a batch at a time as activity is
    read and lists are deleted (``purge``), so that no request pays for a long history at once."""
    for batch in chunked(list(bucketlist_ids), 100):
        ForgottenList.insert_many([(bucketlist_id,) for bucketlist_id in batch],
                                  fields=[ForgottenList.bucketlist_id]).on_conflict_ignore().execute()


def forget_owner(user_id):
    """An account about to be deleted: the lists it owns go, in its trash too."""
    forget_lists([row.id for row in of_owner(user_id)])
