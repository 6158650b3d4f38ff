"""Each field is declared once (fields.py): what the document says of it is what the service does."""

import pytest
from helpers import new_list

import fields
import openapi


def test_answers_mark_what_a_body_may_not_set_read_only():
    for name, declared in [('Item', fields.ITEM), ('Bucketlist', fields.BUCKETLIST), ('Member', fields.MEMBER)]:
        schema = openapi.SCHEMAS[name]['properties']
        read_only = {field for field, value in schema.items() if value.get('readOnly')}
        assert read_only == {field for field, spec in declared.items() if spec.read_only and spec.shown}, name


def test_sending_a_bucketlists_items_back_is_refused_as_read_only(user):
    bucketlist, _ = new_list(user, items=['Skydive'])
    shown = user.get(f'/bucketlists/{bucketlist["id"]}').json
    res = user.put_json(f'/bucketlists/{bucketlist["id"]}', {'name': 'Renamed', 'items': shown['items']}, status=400)
    assert res.json['errors'] == {'items': 'This field is read-only.'}


def test_a_body_field_says_what_leaving_it_out_gives():
    body = openapi.DOCUMENT['paths']['/bucketlists/{bucketlist_id}/items/']['post']['requestBody']
    done = openapi.resolve(body['content']['application/json']['schema'])['properties']['done']
    assert 'default' not in done  # a generated client would send it, and un-tick an item on rename
    assert done['description'] == 'Left out: false on create and PUT; PATCH keeps it.'


@pytest.mark.parametrize('role', [{}, [], None, 1, 'owner'])
def test_a_role_that_is_not_one_of_the_roles_is_a_400_whatever_its_type(user, role):
    bucketlist, _ = new_list(user)
    res = user.post_json(f'/bucketlists/{bucketlist["id"]}/members', {'email': 'x@example.com', 'role': role},
                         status=400)
    assert res.json['errors'] == {'role': 'Must be one of viewer, editor.'}
