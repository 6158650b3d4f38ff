"""schemathesis against the OpenAPI document, in-process over WSGI and logged in, with every check on:
no 5xx, no undocumented status, content type, header or body, bad input refused, good input accepted."""
from datetime import datetime

import hypothesis
import pytest
import schemathesis
from helpers import new_list
from hypothesis import HealthCheck
from schemathesis.config import SchemathesisConfig

import auth
import bucketlist
import sync
from models import ApiToken, Bucketlist, IdempotencyKey, Session, ThrottleEvent, User, utcnow

# alice is user 1 with session 1 in every test (the tables are emptied and their ids restart after
# each). Her token is made here because schemathesis needs it while collecting, before any test has
# a database.
TOKEN = auth.issue_token(1, 1, datetime(2100, 1, 1))

CONFIG = SchemathesisConfig.from_dict({
    # As configured auth, not a header of ours, so schemathesis can leave it out on purpose.
    'auth': {'openapi': {'bearerAuth': {'bearer': TOKEN}}},
    'checks': {
        # A stale If-Match (412) and an Idempotency-Key already used for another body (422) are
        # well-formed requests refused because of what the server holds, as a 409 is.
        'positive_data_acceptance': {'expected-statuses': ['2xx', '3xx', '401', '403', '404', '409',
                                                           '412', '422', '429', '5xx']},
        # A stale If-Match is refused before the body is read (RFC 9110 13.2.1), invalid or not.
        'negative_data_rejection': {'expected-statuses': ['400', '401', '403', '404', '405', '406',
                                                          '409', '412', '415', '422', '428', '429',
                                                          '5xx']},
    },
    # A move's 404 for a target bucketlist that is missing (from its body) is not the moved item
    # missing, which is how this check reads any 404 right after a create.
    'operations': [{'include-operation-id': 'moveItem',
                    'checks': {'ensure_resource_availability': {'enabled': False}}},
                   # A push answers 200 with each command's result, which is its route's: a command
                   # whose args its route refuses (400) is refused alone, the others run.
                   # Its body's cursor is opaque, as GET's is: map_case sends a real one, but the
                   # coverage phase sends some bodies past the hook (a cursor "0": 400).
                   {'include-operation-id': 'pushChanges',
                    'checks': {'negative_data_rejection': {'enabled': False},
                               'positive_data_acceptance': {'expected-statuses': [
                                   '2xx', '400', '401', '403', '404', '409', '412', '422', '429', '5xx']}}},
                   # The stream's cursor is opaque too (map_case sends a real one, past which the
                   # coverage phase sends some).
                   {'include-operation-id': 'streamEvents',
                    'checks': {'positive_data_acceptance': {'expected-statuses': [
                        '2xx', '400', '401', '403', '404', '409', '412', '422', '429', '5xx']}}},
                   # Metrics are off in the tests (METRICS_TOKEN unset): 404 whatever the token.
                   {'include-operation-id': 'getMetrics',
                    'checks': {'missing_required_header': {'enabled': False}}}],
})

schema = schemathesis.openapi.from_wsgi('/openapi.json', bucketlist.app, config=CONFIG)


# A cursor is opaque and checked whole (tests/test_sync.py tries bad ones): schemathesis cannot
# make a valid one, so the cases that send one send a real one, of a finished sync from the start.
REAL_CURSOR = sync.encode(sync.Cursor(0, None, None, None))


@schema.hook
def map_case(context, case):
    if case.path in ('/sync', '/events') and case.query and 'cursor' in case.query:
        case.query['cursor'] = REAL_CURSOR
    if case.path == '/events' and case.headers and 'Last-Event-ID' in case.headers:
        case.headers['Last-Event-ID'] = REAL_CURSOR
    body = case.body if case.path == '/sync' and isinstance(case.body, dict) else {}
    if isinstance(body.get('cursor'), str):
        body['cursor'] = REAL_CURSOR
    return case


@pytest.fixture(autouse=True)
def alice(user):
    """alice owns bucketlist 1 holding item 1, the ids of the document's examples."""
    created, (item,) = new_list(user, 'Go to Borabora for vacation', ['Book the flights'])
    assert created['id'] == item['id'] == 1 and created['created_by'] == 1


@schema.parametrize()
@hypothesis.settings(max_examples=15, deadline=None,  # (x 45 operations x 2 databases in CI)
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.filter_too_much])
def test_api_keeps_its_documented_contract(case):
    case.call_and_validate()


class Workflow(schema.as_state_machine()):
    """Sequences of calls that follow the document's links (create a bucketlist, then read, change
    or delete it, add items...), with the checks that need them: what was created can be read, what
    was deleted is gone."""

    def setup(self):
        # Every sequence starts from the same data, or hypothesis could not replay one: alice,
        # logged in, alone, with nothing yet.
        for model in (Bucketlist, IdempotencyKey, ApiToken, ThrottleEvent):
            model.delete().execute()
        User.delete().where(User.id != 1).execute()
        Session.delete().where(Session.id != 1).execute()
        # Back from a logout, or from ending the session by its id.
        Session.insert(id=1, user=1, date_created=utcnow(), last_used=utcnow(), expires_at=datetime(2100, 1, 1),
                       user_agent='').on_conflict_ignore().execute()


TestWorkflow = Workflow.TestCase
TestWorkflow.settings = hypothesis.settings(max_examples=10, stateful_step_count=8, deadline=None,
                                 suppress_health_check=list(HealthCheck))
