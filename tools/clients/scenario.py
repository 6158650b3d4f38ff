"""Drive a running bucketlist service through the Python client generated from its OpenAPI document.

    python scenario.py BASE_URL CLIENT_DIR

CLIENT_DIR holds the package `bucketlist_client` that openapi-python-client generated (check.sh makes it).
Every call goes through the generated functions and models: no hand-written request, no raw JSON parsing.
One line per step; exit status 1 at the first mismatch.
"""

import datetime
import importlib
import sys
import uuid
from typing import Any

STEP = 0


class Mismatch(Exception):
    pass


def step(text: str) -> None:
    global STEP
    STEP += 1
    print(f'py {STEP:2d}. {text}', flush=True)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise Mismatch(what)


def main(base_url: str, client_dir: str) -> None:
    sys.path.insert(0, client_dir)
    bc = importlib.import_module('bucketlist_client')
    api = {name: importlib.import_module(f'bucketlist_client.api.{tag}.{name}') for tag, name in [
        ('accounts', 'register'), ('accounts', 'login'), ('accounts', 'refresh'), ('accounts', 'get_account'),
        ('accounts', 'export_account'), ('accounts', 'delete_account'),
        ('bucketlists', 'create_bucketlist'), ('bucketlists', 'get_bucketlist'), ('bucketlists', 'list_bucketlists'),
        ('bucketlists', 'sync_changes'), ('bucketlists', 'push_changes'), ('bucketlists', 'delete_bucketlist'),
        ('trash', 'list_trash'), ('trash', 'restore_bucketlist'),
        ('activity', 'list_bucketlist_activity'), ('activity', 'list_completions'),
        ('items', 'create_item'), ('items', 'get_item'), ('items', 'update_item'), ('items', 'move_item'),
        ('items', 'list_items'), ('items', 'list_every_item'), ('items', 'create_step'),
        ('labels', 'create_label'),
        ('members', 'add_member'), ('members', 'list_members'), ('members', 'list_invitations'),
        ('members', 'accept_invitation'),
    ]}
    m = importlib.import_module('bucketlist_client.models')
    errors = importlib.import_module('bucketlist_client.errors')

    def detailed(name: str, status: int, client: Any, kind: Any, **kwargs: Any) -> Any:
        """Call operation `name` through its generated sync_detailed; check the status and the parsed type."""
        try:
            response = api[name].sync_detailed(client=client, **kwargs)
        except errors.UnexpectedStatus as unexpected:  # a status the document does not list for it
            raise Mismatch(f'{name}: status {unexpected.status_code} is not in the document: '
                           f'{unexpected.content[:300]!r}') from unexpected
        if response.status_code != status:
            raise Mismatch(f'{name}: status {int(response.status_code)}, expected {status}: '
                           f'{response.content[:300]!r}')
        check(isinstance(response.parsed, kind), f'{name}: parsed {type(response.parsed).__name__}, expected {kind}')
        return response

    def call(name: str, status: int, client: Any, kind: Any, **kwargs: Any) -> Any:
        return detailed(name, status, client, kind, **kwargs).parsed

    def problem(name: str, status: int, client: Any, problem_type: Any, **kwargs: Any) -> Any:
        """A refusal: the generated client's typed Problem model, its `type_` the ProblemType member expected."""
        response = detailed(name, status, client, m.Problem, **kwargs)
        parsed = response.parsed
        content_type = response.headers.get('content-type')
        check(content_type == 'application/problem+json', f'{name}: content type {content_type}')
        check(parsed.type_ is problem_type, f'{name}: problem type {parsed.type_!r}, expected {problem_type!r}')
        check(parsed.status == status, f'{name}: problem status {parsed.status}, expected {status}')
        return parsed

    anonymous = bc.Client(base_url=base_url, raise_on_unexpected_status=True)
    run = uuid.uuid4().hex[:12]
    email, password = f'py-owner-{run}@example.com', f'py-owner-password-{run}'
    viewer_email, viewer_password = f'py-viewer-{run}@example.com', f'py-viewer-password-{run}'

    call('register', 201, anonymous, m.Message, body=m.Registration(email=email, password=password))
    step(f'registered {email}')
    logged_in = call('login', 200, anonymous, m.LoggedIn, body=m.Login(email=email, password=password))
    check(logged_in.token_type == 'Bearer' and logged_in.expires_in > 0, f'login: {logged_in!r}')
    step('logged in')
    tokens = call('refresh', 200, anonymous, m.Tokens, body=m.Refresh(refresh_token=logged_in.refresh_token))
    check(tokens.access_token != logged_in.access_token, 'refresh: the same access token again')
    check(tokens.refresh_token != logged_in.refresh_token, 'refresh: the same refresh token again')
    owner = bc.AuthenticatedClient(base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True)
    account = call('get_account', 200, owner, m.Account)
    check(account.email == email, f'get_account: {account.email}')
    step('refreshed; the new access token works')

    bucketlist = call('create_bucketlist', 201, owner, m.BucketlistWithItems, body=m.BucketlistCreate(
        name=f'Trips {run}', description='Places to see before 40'))
    check(bucketlist.description == 'Places to see before 40', f'create_bucketlist: {bucketlist!r}')
    check(bucketlist.role is m.Role.OWNER, f'create_bucketlist: role {bucketlist.role!r}')
    bid = bucketlist.id
    books = call('create_bucketlist', 201, owner, m.BucketlistWithItems, body=m.BucketlistCreate(
        name=f'Books {run}', description='To read'))
    step(f'created bucketlist {bid} with a description (and a second one)')

    due = [datetime.date(2027, 3, 1), datetime.date(2027, 6, 15), datetime.date(2028, 1, 31)]
    names = ['Book the flights', 'Pack the bags', 'Learn to dive']
    items = [call('create_item', 201, owner, m.Item, bucketlist_id=bid, body=m.ItemCreate(
        name=name, notes=f'notes on {name}', due_date=day)) for name, day in zip(names, due, strict=True)]
    for item, name, day, position in zip(items, names, due, range(3), strict=True):
        check(item.name == name and item.notes == f'notes on {name}' and item.due_date == day
              and item.position == position and item.done is False and item.done_at is None,
              f'create_item: {item!r}')
    step(f'added {len(items)} items with notes and due dates')

    ticked = call('update_item', 200, owner, m.Item, bucketlist_id=bid, item_id=items[0].id,
                  body=m.ItemPatch(done=True))
    check(ticked.done is True and ticked.done_at is not None, f'update_item done: {ticked!r}')
    step(f'ticked item {ticked.id} done at {ticked.done_at.isoformat()}')

    patch = m.ItemPatch(name='Book the flights to Tahiti')
    check(patch.to_dict() == {'name': 'Book the flights to Tahiti'}, f'ItemPatch sends {patch.to_dict()}')
    renamed = call('update_item', 200, owner, m.Item, bucketlist_id=bid, item_id=items[0].id, body=patch)
    check(renamed.name == 'Book the flights to Tahiti', f'rename: name {renamed.name!r}')
    check(renamed.done is True and renamed.done_at == ticked.done_at, f'rename: done changed: {renamed!r}')
    check(renamed.notes == items[0].notes and renamed.due_date == items[0].due_date,
          f'rename: notes or due date changed: {renamed!r}')
    step('renamed the ticked item with a PATCH of name alone: still done, notes and due date unchanged')

    moved = call('move_item', 200, owner, m.Item, bucketlist_id=bid, item_id=items[2].id, body=m.ItemMove(position=0))
    check(moved.position == 0, f'move_item: position {moved.position}')
    order = call('list_items', 200, owner, list, bucketlist_id=bid)
    check([item.id for item in order] == [items[2].id, items[0].id, items[1].id],
          f'list_items after the move: {[(item.id, item.position) for item in order]}')
    step(f'moved item {moved.id} to the top: order {[item.id for item in order]}')

    errands = call('create_label', 201, owner, m.Label, body=m.LabelCreate(name=f'Errands {run}', colour='#FF8800'))
    check(errands.colour == '#ff8800', f'create_label: {errands!r}')
    swim = call('create_item', 201, owner, m.Item, bucketlist_id=books.id, body=m.ItemCreate(
        name='Swim', due_date=datetime.date(2027, 3, 22), due_time='09:00', time_zone=m.TimeZone.EUROPE_BERLIN,
        recurrence='FREQ=WEEKLY;COUNT=3', labels=[errands.id], priority=2))
    check(swim.due_at == datetime.datetime(2027, 3, 22, 8, tzinfo=datetime.UTC) and swim.labels == [errands.id],
          f'create_item recurring: {swim!r}')
    swum = call('update_item', 200, owner, m.Item, bucketlist_id=books.id, item_id=swim.id,
                body=m.ItemPatch(done=True))
    check(swum.done is False and swum.due_date == datetime.date(2027, 3, 29)
          and swum.recurrence == 'FREQ=WEEKLY;COUNT=2'
          and swum.due_at == datetime.datetime(2027, 3, 29, 7, tzinfo=datetime.UTC)
          and swum.last_completed_at is not None, f'update_item tick of a recurring item: {swum!r}')
    towel = call('create_step', 201, owner, m.Step, bucketlist_id=books.id, item_id=swim.id,
                 body=m.StepCreate(name='Pack a towel'))
    with_steps = call('get_item', 200, owner, m.ItemWithSteps, bucketlist_id=books.id, item_id=swim.id)
    check([s.id for s in with_steps.steps] == [towel.id], f'get_item steps: {with_steps!r}')
    labelled = call('list_every_item', 200, owner, list, label=errands.id)
    check([i.id for i in labelled] == [swim.id], f'list_every_item label: {labelled!r}')
    step('a label, a weekly item at 09:00 in Berlin ticked across the change of clocks (07:00Z), a step, '
         'and the item found across lists by its label')

    page = call('list_bucketlists', 200, owner, list, sort=m.BucketlistSort.NAME_DESC, limit=1, page=1)
    check([b.name for b in page] == [f'Trips {run}'], f'list_bucketlists -name page 1: {[b.name for b in page]}')
    page = call('list_bucketlists', 200, owner, list, sort=m.BucketlistSort.NAME_DESC, limit=1, page=2)
    check([b.name for b in page] == [f'Books {run}'], f'list_bucketlists -name page 2: {[b.name for b in page]}')
    found = call('list_bucketlists', 200, owner, list, q='trips')
    check([b.id for b in found] == [bid], f'list_bucketlists q=trips: {[b.id for b in found]}')
    open_items = call('list_items', 200, owner, list, bucketlist_id=bid, done=False, sort=m.ItemSort.NAME_DESC)
    check([item.name for item in open_items] == ['Pack the bags', 'Learn to dive'],
          f'list_items done=false sort=-name: {[item.name for item in open_items]}')
    step('listed with pagination (limit=1, pages 1 and 2), search (q) and sort (-name), items filtered by done')

    call('register', 201, anonymous, m.Message, body=m.Registration(email=viewer_email, password=viewer_password))
    viewer_login = call('login', 200, anonymous, m.LoggedIn,
                        body=m.Login(email=viewer_email, password=viewer_password))
    viewer = bc.AuthenticatedClient(base_url=base_url, token=viewer_login.access_token,
                                    raise_on_unexpected_status=True)
    member = call('add_member', 201, owner, m.Member, bucketlist_id=bid,
                  body=m.MemberAdd(email=viewer_email, role=m.MemberRole.VIEWER))
    check(member.email == viewer_email and member.role is m.Role.VIEWER and member.status is m.MemberStatus.PENDING,
          f'add_member: {member!r}')
    call('get_bucketlist', 404, viewer, m.Problem, bucketlist_id=bid)  # nothing of it before accepting
    (invitation,) = call('list_invitations', 200, viewer, list)
    check(invitation.bucketlist_id == bid and invitation.invited_by == email, f'list_invitations: {invitation!r}')
    joined = call('accept_invitation', 200, viewer, m.Bucketlist, invitation_id=invitation.id)
    check(joined.id == bid and joined.role is m.Role.VIEWER, f'accept_invitation: {joined!r}')
    members = call('list_members', 200, owner, list, bucketlist_id=bid)
    check(sorted(x.email for x in members) == sorted([email, viewer_email]), f'list_members: {members!r}')
    step(f'shared bucketlist {bid} with {viewer_email} as viewer, who accepted the invitation')

    shared = call('get_bucketlist', 200, viewer, m.BucketlistWithItems, bucketlist_id=bid)
    check(shared.role is m.Role.VIEWER and len(shared.items) == 3, f'viewer get_bucketlist: {shared!r}')
    seen = call('get_item', 200, viewer, m.ItemWithSteps, bucketlist_id=bid, item_id=items[0].id)
    check(seen.name == renamed.name and seen.steps == [], f'viewer get_item: {seen!r}')
    viewer_lists = call('list_bucketlists', 200, viewer, list, role=m.Role.VIEWER)
    check([b.id for b in viewer_lists] == [bid], f'viewer list_bucketlists role=viewer: {viewer_lists!r}')
    step('the viewer reads the list, an item and its shared lists')

    refused = problem('create_item', 403, viewer, m.ProblemType.VIEWER, bucketlist_id=bid,
                      body=m.ItemCreate(name='Sneak in'))
    problem('update_item', 403, viewer, m.ProblemType.VIEWER, bucketlist_id=bid, item_id=items[1].id,
            body=m.ItemPatch(done=True))
    step(f'a viewer write is 403 {refused.type_.value}: {refused.detail}')

    first = call('sync_changes', 200, owner, m.Sync)
    check(bid in [b.id for b in first.bucketlists], 'sync: the bucketlist missing from a full sync')
    check(not first.has_more, 'sync: has_more on a small account')
    changed = call('update_item', 200, owner, m.Item, bucketlist_id=bid, item_id=items[1].id,
                   body=m.ItemPatch(notes='Only carry-on', due_date=None))
    check(changed.notes == 'Only carry-on' and changed.due_date is None, f'update_item notes: {changed!r}')
    later = call('sync_changes', 200, owner, m.Sync, cursor=first.cursor)
    check([item.id for item in later.items] == [items[1].id], f'sync since cursor: items {later.items!r}')
    check(later.items[0].notes == 'Only carry-on' and later.items[0].due_date is None, f'sync: {later.items[0]!r}')
    check(later.bucketlists == [] and later.deleted.items == [] and later.deleted.bucketlists == [],
          f'sync since cursor: more than the change: {later!r}')
    step(f'sync: a full sync, one change, then ?cursor= gives just item {items[1].id}')

    seen = next(item for item in first.items if item.id == items[1].id)  # (as the full sync showed it)
    commands = [
        m.BucketlistCreateCommand(uuid=uuid.uuid4(), type_=m.BucketlistCreateCommandType.BUCKETLIST_CREATE,
                                  temp_id='trip', args=m.BucketlistCreateCommandArgs(name=f'Offline {run}')),
        m.ItemCreateCommand(uuid=uuid.uuid4(), type_=m.ItemCreateCommandType.ITEM_CREATE, temp_id='visa',
                            args=m.ItemCreateCommandArgs(bucketlist_id='trip', name='Get a visa')),
        m.StepCreateCommand(uuid=uuid.uuid4(), type_=m.StepCreateCommandType.STEP_CREATE,
                            args=m.StepCreateCommandArgs(bucketlist_id='trip', item_id='visa', name='Photos')),
        m.ItemUpdateCommand(uuid=uuid.uuid4(), type_=m.ItemUpdateCommandType.ITEM_UPDATE, if_version=seen.version,
                            args=m.ItemUpdateCommandArgs(bucketlist_id=bid, item_id=seen.id, notes='Stale')),
    ]
    pushed = call('push_changes', 200, owner, m.PushAnswer, body=m.Push(commands=commands, cursor=later.cursor))
    check([result.status for result in pushed.results] == [201, 201, 201, 412], f'push_changes: {pushed.results!r}')
    check(pushed.temp_ids['visa'] in [item.id for item in pushed.items], f'push_changes: {pushed.items!r}')
    check(pushed.results[3].current['notes'] == 'Only carry-on', f'push_changes 412: {pushed.results[3]!r}')
    again = call('push_changes', 200, owner, m.PushAnswer, body=m.Push(commands=commands, cursor=later.cursor))
    check(all(result.replayed for result in again.results) and again.temp_ids.to_dict() == pushed.temp_ids.to_dict(),
          f'push_changes again: {again.results!r}')
    step('pushed an offline batch (a list, its item and step by temp ids; a stale edit 412), then again: replayed')

    export = call('export_account', 200, owner, m.Export)
    check(export.account.email == email, f'export: {export.account!r}')
    exported = {b.id: b for b in export.bucketlists}
    check(bid in exported and len(exported[bid].items) == 3, f'export: {sorted(exported)}')
    step(f'exported the account: {len(export.bucketlists)} bucketlists, {len(export.sessions)} sessions')

    call('delete_bucketlist', 200, owner, m.Message, bucketlist_id=books.id)
    trashed = call('list_trash', 200, owner, list)
    check([(e.kind, e.id, e.bucketlist_id) for e in trashed] == [(m.TrashKind.BUCKETLIST, books.id, None)],
          f'list_trash: {trashed!r}')
    back = call('restore_bucketlist', 200, owner, m.BucketlistWithItems, bucketlist_id=books.id)
    check(back.name == books.name and [i.id for i in back.items] == [swim.id], f'restore_bucketlist: {back!r}')
    entries = call('list_bucketlist_activity', 200, owner, list, bucketlist_id=bid)  # (kind=: call's own name)
    completed = [e for e in entries if e.kind is m.ActivityKind.ITEM_COMPLETED]
    check([(e.item_id, e.changes.additional_properties) for e in completed] == [(items[0].id, {'done': [False, True]})],
          f'list_bucketlist_activity: {entries!r}')
    done = call('list_completions', 200, owner, list)
    check(items[0].id in [c.item_id for c in done], f'list_completions: {done!r}')
    step(f'deleted bucketlist {books.id} to the trash and restored it whole; its activity and completions read')

    problem('delete_account', 403, owner, m.ProblemType.WRONG_PASSWORD,
            body=m.PasswordConfirmation(password='not-the-password'))
    call('get_account', 200, owner, m.Account)
    step('deleting the account with a wrong password is 403 /problems/wrong-password; the session stays')

    for client, secret in ((owner, password), (viewer, viewer_password)):
        call('delete_account', 200, client, m.Message, body=m.PasswordConfirmation(password=secret))
    gone = call('get_account', 401, owner, m.Problem)
    step(f'deleted both accounts; the old access token is 401 {gone.type_.value}')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    try:
        main(sys.argv[1].rstrip('/'), sys.argv[2])
    except Mismatch as mismatch:
        print(f'py FAILED after step {STEP}: {mismatch}', file=sys.stderr)
        sys.exit(1)
    print(f'py scenario passed: {STEP} steps')
