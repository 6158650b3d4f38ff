"""Labels: each account's own, which it puts on the items it sees (``labels`` of an item, written by
its PATCH and PUT in bucketlist.py). On a shared list a member's labels are theirs alone."""
import unicodedata

from bottle import request, response
from peewee import IntegrityError

import settings
import sync
from fields import LABEL, serializer
from models import ItemLabel, Label, User, db, locked, own_row, utcnow, violated_constraint
from problems import LABEL_DELETED, LABEL_NAME_TAKEN, LABEL_NOT_FOUND, LABEL_QUOTA, UNKNOWN_LABEL
from web import app, check_if_match, clean_body, idempotent

label_json = serializer(LABEL)


def own_label(label_id, for_update=False):
    """The caller's label, or 404 (another account's too)."""
    found = own_row(Label, label_id, request.user_id, for_update)
    if found is None:
        raise LABEL_NOT_FOUND(label_id=label_id)
    return found


def name_key(name):
    """What makes two names of labels one: case, in every script (Straße is STRASSE), and Unicode's
    ways of writing one character (é, or e and a combining acute)."""
    return unicodedata.normalize('NFKC', unicodedata.normalize('NFKC', name).casefold())


def saved(label, name_changed):
    """Save ``label``; a name the account's labels have already (ignoring case) is 409."""
    try:
        with db.atomic():
            label.save(force_insert=label.id is None)
    except IntegrityError as error:
        if violated_constraint(error) != 'unique' or not name_changed:
            raise
        raise LABEL_NAME_TAKEN(name=label.name) from None
    return label_json(label)


@app.post('/labels')
def label_create():
    fields = clean_body(LABEL, required=('name',))

    def create():
        with db.atomic():
            locked(User.select(User.id).where(User.id == request.user_id)).get_or_none()  # creates take turns
            if Label.select().where(Label.user == request.user_id).count() >= settings.MAX_LABELS_PER_USER:
                raise LABEL_QUOTA(most=settings.MAX_LABELS_PER_USER)
            now = utcnow()
            label = Label(user=request.user_id, name_key=name_key(fields['name']), date_created=now,
                          date_modified=now, **{'colour': None, **fields})
            body = saved(label, name_changed=True)
        response.status = 201
        return body
    return idempotent(create)


@app.get('/labels')
def label_list():
    """The caller's labels, by name (at most MAX_LABELS_PER_USER: no pages)."""
    return [label_json(label) for label in
            Label.select().where(Label.user == request.user_id).order_by(Label.name_key, Label.id)]


@app.get('/labels/<label_id:id>')
def label_show(label_id):
    return label_json(own_label(label_id))


@app.patch('/labels/<label_id:id>')
def label_update(label_id):
    fields = clean_body(LABEL)
    with db.atomic():
        label = own_label(label_id, for_update=True)
        check_if_match(lambda: label_json(label))
        for name, value in fields.items():
            setattr(label, name, value)
        label.name_key, label.date_modified = name_key(label.name), utcnow()
        return saved(label, name_changed='name' in fields)


@app.delete('/labels/<label_id:id>')
def label_delete(label_id):
    """Delete the label, and take it off every item it is on."""
    with db.atomic():
        label = own_label(label_id, for_update=True)
        check_if_match(lambda: label_json(label))
        sync.record_label_deletion(request.user_id, label_id)
        label.delete_instance()
    return LABEL_DELETED(label_id=label_id)


def put_labels(item_id, label_ids):
    """Put the caller's labels ``label_ids`` on the item, in place of those they had on it; 422 if
    one is not theirs. In the caller's transaction."""
    theirs = {label.id for label in Label.select(Label.id).where((Label.user == request.user_id)
                                                                  & Label.id.in_(label_ids))} if label_ids else set()
    missing = [label_id for label_id in label_ids if label_id not in theirs]
    if missing:
        raise UNKNOWN_LABEL(label_id=missing[0], errors={'labels': f'You have no label {missing[0]}.'})
    try:
        with db.atomic():
            ItemLabel.put(item_id, request.user_id, label_ids)
    except IntegrityError:  # (deleted since it was read)
        raise UNKNOWN_LABEL(label_id=label_ids[0], errors={'labels': 'A label was deleted meanwhile.'}) from None
