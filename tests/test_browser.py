"""The browsable API in real headless Chromium, used as a person would, with screenshots of
each step in test-artifacts/."""
import os
import re
import threading
import time
from datetime import timedelta
from pathlib import Path
from socketserver import ThreadingMixIn
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from helpers import PASSWORD, accept_invitations, mint_token, new_item, new_list, register_and_login, user_id_of

import bucketlist
import settings

sync_api = pytest.importorskip('playwright.sync_api', reason='Playwright for Python is not installed')
expect = sync_api.expect

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync']
ARTIFACTS = Path(__file__).resolve().parent.parent / 'test-artifacts'


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    # The page, its script and its stylesheet load at once.
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope='module')
def base_url():
    """The app served on a free localhost port by a background thread."""
    server = make_server('127.0.0.1', 0, bucketlist.app, server_class=ThreadingWSGIServer,
                         handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_port}'
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(scope='module')
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f'{CHROMIUM} is absent: install the Debian package chromium')
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def problems():
    """Dialogs, script errors and refusals (CSP) the page ran into; a test expects none."""
    return []


@pytest.fixture
def page(browser, base_url, problems):
    """A new tab with its own sessionStorage, so nobody is logged in."""
    context = browser.new_context(base_url=base_url)
    page = context.new_page()

    def on_dialog(dialog):
        # A delete asks first, and the person means it; any other dialog is a problem.
        if dialog.type == 'confirm' and dialog.message.startswith('Delete '):
            page.confirmed.append(dialog.message)
            dialog.accept()
        else:
            problems.append(f'dialog: {dialog.message}')
            dialog.dismiss()

    def on_console(message):
        # Chromium logs each 4xx the page fetches; those are expected. Others are not.
        if message.type == 'error' and not message.text.startswith('Failed to load resource'):
            problems.append(f'console: {message.text}')

    page.confirmed = []
    page.on('dialog', on_dialog)
    page.on('console', on_console)
    page.on('pageerror', lambda error: problems.append(f'page error: {error}'))
    yield page
    context.close()


def screenshot(page, name):
    page.screenshot(path=ARTIFACTS / f'{name}.png', full_page=True)


def form(page, title):
    return page.locator('form').filter(has=page.get_by_role('heading', name=title, exact=True))


def log_in(page, email):
    login = form(page, 'Log in')
    login.get_by_label('Email').fill(email)
    login.get_by_label('Password').fill(PASSWORD)
    login.get_by_role('button', name='Log in').click()
    expect(page.locator('#signed-in')).to_have_text(re.compile(f'Logged in as {email}'))


def test_a_person_keeps_a_bucketlist_in_the_browser(page, problems):
    result, head, body = page.locator('#result'), page.locator('#head'), page.locator('#body')

    page.goto('/bucketlists/')
    expect(head).to_contain_text('HTTP 401 Unauthorized')
    expect(body).to_contain_text('"title": "Access token missing"')
    expect(page.locator('#sign-in')).to_be_visible()
    expect(page.locator('#forms')).to_be_hidden()
    screenshot(page, 'browser-01-logged-out')

    register = form(page, 'Register')
    register.get_by_label('Email').fill('ada@example.com')
    register.get_by_label('Password').fill(PASSWORD)
    register.get_by_role('button', name='Register').click()
    expect(result).to_have_text('POST /auth/register: 201 Created. You registered successfully. Please login.')
    # Registering logs you in.
    expect(page.locator('#signed-in')).to_have_text(re.compile('Logged in as ada@example.com'))
    screenshot(page, 'browser-02-registered')
    expect(head).to_contain_text('HTTP 200 OK')
    expect(head).to_contain_text('x-total-count: 0')
    expect(body).to_have_text('[]')
    expect(page.locator('#sign-in')).to_be_hidden()
    screenshot(page, 'browser-03-logged-in')

    create = form(page, 'New bucketlist')
    create.get_by_label('Name', exact=True).fill('Go to Borabora')
    create.get_by_role('button', name='Create').click()
    expect(create.locator('.result')).to_contain_text('POST /bucketlists/: 201 Created')
    expect(body).to_contain_text('"name": "Go to Borabora"')
    expect(create.get_by_label('Name', exact=True)).to_have_value('')
    screenshot(page, 'browser-04-created')

    create.locator('.result').get_by_role('link').click()
    expect(page).to_have_url(re.compile(r'/bucketlists/[0-9]+$'))
    bucketlist_path = '/' + page.url.split('/', 3)[3]
    expect(body).to_contain_text('"items": []')
    expect(form(page, 'Edit').get_by_label('Name')).to_have_value('Go to Borabora')

    for name in ['Book the flights', 'Pack the bags']:
        add = form(page, 'New item')
        add.get_by_label('Name', exact=True).fill(name)
        add.get_by_role('button', name='Add item').click()
        expect(body).to_contain_text(f'"name": "{name}"')
    expect(body).not_to_contain_text('"done": true')
    screenshot(page, 'browser-05-two-items')

    # Items are listed in order of creation: the first item link is the flights.
    body.locator('a[href*="/items/"]').first.click()
    expect(page).to_have_url(re.compile(r'/bucketlists/[0-9]+/items/[0-9]+$'))
    edit = form(page, 'Edit')
    expect(edit.get_by_label('Name')).to_have_value('Book the flights')
    expect(edit.get_by_label('Done')).not_to_be_checked()
    edit.get_by_label('Notes').fill('A window seat')
    edit.get_by_label('Due date').fill('2027-03-01')
    edit.get_by_label('Done').check()
    edit.get_by_label('Priority').select_option('2')
    edit.get_by_label('Due time').fill('09:30')
    edit.get_by_label('Time zone').fill('Europe/Paris')
    edit.get_by_role('button', name='Save').click()
    expect(edit.locator('.result')).to_contain_text('200 OK')
    expect(body).to_contain_text('"done": true')
    expect(body).to_contain_text('"notes": "A window seat"')
    expect(body).to_contain_text('"due_date": "2027-03-01"')
    expect(body).to_contain_text('"priority": 2')
    expect(body).to_contain_text('"due_at": "2027-03-01T08:30:00Z"')
    expect(body).to_contain_text(re.compile(r'"done_at": "2[0-9-]+T[0-9:.]+Z"'))
    expect(edit.get_by_label('Due date')).to_have_value('2027-03-01')
    screenshot(page, 'browser-06-item-done')

    # First of two: it moves down, then back up.
    expect(body).to_contain_text('"position": 0')
    form(page, 'Order').get_by_role('button', name='Move down').click()
    expect(form(page, 'Order').locator('.result')).to_contain_text(
        re.compile(r'POST /bucketlists/[0-9]+/items/[0-9]+/move: 200 OK'))
    expect(body).to_contain_text('"position": 1')
    form(page, 'Order').get_by_role('button', name='Move up').click()
    expect(body).to_contain_text('"position": 0')
    expect(edit.get_by_label('Priority')).to_have_value('2')
    edit.get_by_label('Due date').fill('')
    edit.get_by_label('Due time').fill('')
    edit.get_by_label('Time zone').fill('')
    edit.get_by_label('Priority').select_option('')
    edit.get_by_role('button', name='Save').click()
    expect(body).to_contain_text('"due_date": null')
    expect(body).to_contain_text('"priority": null')

    page.locator(f'.breadcrumbs a[href="{bucketlist_path}"]').click()
    expect(page).to_have_url(re.compile(f'{bucketlist_path}$'))
    expect(body).to_contain_text(re.compile(r'"name": "Book the flights",\s*"done": true'))
    expect(body).to_contain_text(re.compile(r'"name": "Pack the bags",\s*"done": false'))

    rename = form(page, 'Edit')
    rename.get_by_label('Name').fill('Go to Tahiti')
    rename.get_by_role('button', name='Save').click()
    expect(rename.locator('.result')).to_contain_text('200 OK')
    expect(body).to_contain_text('"name": "Go to Tahiti"')
    expect(body).not_to_contain_text('Borabora')
    screenshot(page, 'browser-07-renamed')

    form(page, 'Delete this bucketlist and its items (to the trash)').get_by_role('button', name='Delete').click()
    # It asked first (the dialog), then went back to the list, saying what happened.
    expect(page).to_have_url(re.compile(r'/bucketlists/$'))
    expect(result).to_contain_text(re.compile(r'DELETE /bucketlists/[0-9]+: 200 OK\. bucketlist [0-9]+ '
                                              r'deleted successfully'))
    expect(body).to_have_text('[]')
    assert page.confirmed == [f'Delete {bucketlist_path}? It goes to the trash, where you can restore it.']
    screenshot(page, 'browser-08-deleted')

    # Not for good: the trash has it, and brings it back whole.
    page.get_by_role('link', name='Trash').click()
    expect(body).to_contain_text('"name": "Go to Tahiti"')
    restore = form(page, 'Restore a bucketlist')
    restore.get_by_label('Its id (in the list above)').fill(bucketlist_path.rsplit('/', 1)[1])
    restore.get_by_role('button', name='Restore').click()
    expect(restore.locator('.result')).to_contain_text('200 OK')
    page.goto(bucketlist_path)
    expect(body).to_contain_text(re.compile(r'"name": "Book the flights",\s*"done": true'))
    page.locator('.activity a').click()
    expect(body).to_contain_text('"kind": "bucketlist.restored"')
    screenshot(page, 'browser-08b-restored')

    page.get_by_role('button', name='Log out').click()
    expect(result).to_contain_text('POST /auth/logout: 200 OK. You logged out successfully.')
    expect(head).to_contain_text('HTTP 401 Unauthorized')
    expect(page.locator('#sign-in')).to_be_visible()
    screenshot(page, 'browser-09-logged-out')
    assert problems == []


MARKUP = ['<script>alert(1)</script>', '<img src=x onerror=alert(2)>']


def test_the_page_renews_an_expired_access_token_instead_of_asking_to_log_in(page, problems):
    user = register_and_login('grace@example.com')
    new_list(user, 'Still here')
    page.goto('/bucketlists/')
    log_in(page, 'grace@example.com')
    expect(page.locator('#body')).to_contain_text('Still here')
    # An hour later: the access token has expired, the session has not.
    page_session = user.get('/auth/sessions').json[-1]['id']
    expired = mint_token(user_id_of(user), page_session, lifetime=timedelta(seconds=-1))
    page.evaluate('token => sessionStorage.setItem("bucketlist.token", token)', expired)
    page.reload()
    expect(page.locator('#head')).to_contain_text('HTTP 200 OK')
    expect(page.locator('#body')).to_contain_text('Still here')
    expect(page.locator('#signed-in')).to_have_text(re.compile('Logged in as grace@example.com'))
    assert page.evaluate('sessionStorage.getItem("bucketlist.token")') != expired
    assert not problems


def test_an_invitee_accepts_an_invitation_from_the_page(page, problems):
    owner = register_and_login('olive@example.com')
    trip, _ = new_list(owner, 'Shared trip')
    milo = register_and_login('milo@example.com')
    owner.post_json(f'/bucketlists/{trip["id"]}/members', {'email': 'milo@example.com', 'role': 'viewer'})
    (invitation,) = milo.get('/invitations').json
    page.goto('/bucketlists/')
    log_in(page, 'milo@example.com')
    page.get_by_role('link', name='Invitations').click()
    expect(page.locator('#body')).to_contain_text('"bucketlist_name": "Shared trip"')
    accept = form(page, 'Accept an invitation')
    accept.get_by_label("Invitation's id").fill(str(invitation['id']))
    accept.get_by_role('button', name='Accept').click()
    expect(accept.locator('.result')).to_contain_text(f'POST /invitations/{invitation["id"]}/accept: 200 OK')
    page.goto(f'/bucketlists/{trip["id"]}')
    expect(page.locator('#body')).to_contain_text('"role": "viewer"')
    assert problems == []


def test_an_owner_shares_a_bucketlist_from_the_page(page, problems):
    owner = register_and_login('olive@example.com')
    trip, _ = new_list(owner, 'Shared trip')
    milo = register_and_login('milo@example.com')
    member_id = user_id_of(milo)
    page.goto(f'/bucketlists/{trip["id"]}')
    log_in(page, 'olive@example.com')
    share = form(page, 'Share')
    share.get_by_label('Email').fill('milo@example.com')
    share.get_by_label('Role').select_option('editor')
    share.get_by_role('button', name='Share').click()
    expect(share.locator('.result')).to_contain_text(f'POST /bucketlists/{trip["id"]}/members: 201 Created')
    accept_invitations(milo)  # (milo, elsewhere: test_an_invitee_accepts_an_invitation_from_the_page)
    page.get_by_role('link', name='Who shares this bucketlist').click()
    expect(page.locator('#body')).to_contain_text('"email": "milo@example.com"')
    expect(page.locator('#body')).to_contain_text('"role": "editor"')
    screenshot(page, 'browser-10-members')
    change = form(page, "Change a member's role")
    change.get_by_label("Member's user_id").fill(str(member_id))
    change.get_by_label('Role').select_option('viewer')
    change.get_by_role('button', name='Change').click()
    expect(page.locator('#body')).to_contain_text('"role": "viewer"')
    remove = form(page, 'Remove a member, withdraw an invitation (or leave: your own user_id)')
    remove.get_by_label("Member's user_id").fill(str(member_id))
    remove.get_by_role('button', name='Remove').click()
    expect(page).to_have_url(re.compile(f'/bucketlists/{trip["id"]}/members$'))
    expect(page.locator('#result')).to_contain_text('is no longer a member')
    expect(page.locator('#body')).not_to_contain_text('milo@example.com')
    assert problems == []


def test_a_bucketlist_named_like_markup_shows_as_text(page, problems):
    api = register_and_login('mallory@example.com')
    bucketlist_id = new_list(api, MARKUP[0], [MARKUP[1]])[0]['id']

    page.goto(f'/bucketlists/{bucketlist_id}')
    log_in(page, 'mallory@example.com')
    body = page.locator('#body')
    for name in MARKUP:
        expect(body).to_contain_text(f'"name": "{name}"')
    expect(form(page, 'Edit').get_by_label('Name')).to_have_value(MARKUP[0])
    screenshot(page, 'browser-markup-as-text')
    assert page.locator('script').count() == 1
    assert page.locator('img').count() == 0
    assert problems == []


def test_the_pages_of_a_long_list_are_links(page, problems):
    api = register_and_login('grace@example.com')
    for name in ['Learn COBOL', 'Find a moth', 'Sail the Pacific']:
        new_list(api, name)

    page.goto('/bucketlists/?limit=2')
    log_in(page, 'grace@example.com')
    expect(page.locator('#pages a')).to_have_text(['first', 'next', 'last'])
    expect(page.locator('#body')).to_contain_text('Find a moth')
    page.locator('#pages').get_by_role('link', name='next').click()
    expect(page).to_have_url(re.compile(r'page=2'))
    expect(page.locator('#pages a')).to_have_text(['first', 'prev', 'last'])
    expect(page.locator('#body')).to_contain_text('Sail the Pacific')
    expect(page.locator('#body')).not_to_contain_text('Learn COBOL')
    screenshot(page, 'browser-pages')
    assert problems == []


def test_swagger_ui_tries_an_operation_with_a_real_token(page, problems):
    api = register_and_login('ada@example.com')
    new_list(api, 'Go to Borabora')  # the q example: bora
    token = api.authorization[1]

    page.goto('/docs')
    operation = page.locator('#operations-bucketlists-listBucketlists')
    expect(operation).to_be_visible()
    page.locator('.auth-wrapper .authorize').click()
    bearer = page.locator('.auth-container').filter(has_text='bearerAuth')  # (not the metrics token's)
    bearer.locator('input').fill(token)
    bearer.get_by_role('button', name='Apply credentials').click()
    bearer.get_by_role('button', name='Close').click()

    operation.locator('.opblock-summary').first.click()
    operation.get_by_role('button', name='Try it out').click()
    operation.get_by_role('button', name='Execute').click()
    live = operation.locator('.live-responses-table .response')
    expect(live.locator('.response-col_status')).to_have_text('200')
    expect(live.locator('.response-col_description')).to_contain_text('Go to Borabora')
    screenshot(page, 'docs-try-it-out')
    assert problems == []


# --- Live updates ------------------------------------------------------------------------------
# The page follows GET /events. The server thread serves it with the tests' settings (conftest.py):
# streams of 0.2 s, after each of which the page waits the stream's retry (2 s) and opens another.

LIVE_MS = 6000  # a change shows within one wait between streams and a fetch


def sent_to(page, *paths):
    """The requests the page's script sends to ``paths`` from now on (fetches, not the document), in order."""
    sent = []
    page.on('request', lambda request: sent.append(request)
            if urlsplit(request.url).path in paths and request.resource_type == 'fetch' else None)
    return sent


def wait_until(page, condition, seconds=5):
    # (page.wait_for_timeout, not time.sleep: Playwright delivers the page's events meanwhile)
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, 'the page did not get there in time'
        page.wait_for_timeout(50)


def test_the_page_shows_changes_made_in_another_tab_and_keeps_what_is_being_typed(page, problems):
    other_tab = register_and_login('ada@example.com')  # the same account, a session of its own
    trip, _ = new_list(other_tab, 'Go to Borabora', ['Book the flights'])
    streams = sent_to(page, '/events')
    page.goto(f'/bucketlists/{trip["id"]}')
    log_in(page, 'ada@example.com')
    body, edit = page.locator('#body'), form(page, 'Edit')
    expect(body).to_contain_text('Book the flights')
    page.evaluate('window.notReloaded = true')

    new_item(other_tab, trip['id'], 'Swim with the rays')
    other_tab.put_json(f'/bucketlists/{trip["id"]}', {'name': 'Go to Tahiti'}, status=200)
    expect(body).to_contain_text('"name": "Swim with the rays"', timeout=LIVE_MS)
    expect(body).to_contain_text('"name": "Go to Tahiti"', timeout=LIVE_MS)
    # A form nobody touched follows, so that saving it would not undo the other tab's rename.
    expect(edit.get_by_label('Name')).to_have_value('Go to Tahiti')
    screenshot(page, 'browser-live-1-updated')

    # What the person is typing stays, in the form filled with the list's values too.
    edit.get_by_label('Name').fill('Go to Moorea')
    add = form(page, 'New item')
    add.get_by_label('Name', exact=True).fill('Rent a boat')
    new_item(other_tab, trip['id'], 'Dive the lagoon')
    expect(body).to_contain_text('"name": "Dive the lagoon"', timeout=LIVE_MS)
    expect(edit.get_by_label('Name')).to_have_value('Go to Moorea')
    expect(add.get_by_label('Name', exact=True)).to_have_value('Rent a boat')
    expect(add.get_by_label('Name', exact=True)).to_be_focused()
    screenshot(page, 'browser-live-2-typing-kept')

    assert page.evaluate('window.notReloaded') is True
    # Streams of 0.2 s: the page opened one after another, each with the token.
    assert len(streams) >= 2
    assert all(stream.header_value('authorization').startswith('Bearer ') for stream in streams)
    assert problems == []


def test_a_change_comes_as_an_event_and_the_next_stream_starts_from_the_last_one(page, problems, monkeypatch):
    # Streams of 3 s: a change made while one is open shows within 2 s only if its event did it
    # (without events the page would find it after the stream, its wait and another stream: 5 s).
    monkeypatch.setattr(settings, 'EVENT_STREAM_MAX_SECONDS', 3)
    other_tab = register_and_login('ada@example.com')
    trip, _ = new_list(other_tab, 'Go to Borabora')
    path = f'/bucketlists/{trip["id"]}'
    streams, sent, finished = sent_to(page, '/events'), sent_to(page, '/events', path), []
    page.on('requestfinished', lambda request: finished.append(request))
    # (Playwright reports a stream the script read to its end as failed, net::ERR_ABORTED: ended all the same.)
    page.on('requestfailed', lambda request: finished.append(request))
    page.goto(path)
    log_in(page, 'ada@example.com')
    body = page.locator('#body')
    expect(body).to_contain_text('"items": []')

    def fetched_again():
        # A stream from now misses what changed before it opened: once open, the page fetched its data again.
        after = sent[sent.index(streams[0]) + 1:] if streams else []
        return any(request in finished for request in after if urlsplit(request.url).path == path)
    wait_until(page, fetched_again)
    new_item(other_tab, trip['id'], 'Swim with the rays')
    expect(body).to_contain_text('"name": "Swim with the rays"', timeout=2000)
    assert len(streams) == 1

    # The stream ends; the next one starts from the last event's id (and the page fetches nothing
    # else): a change made between the two comes in it.
    wait_until(page, lambda: streams[0] in finished)
    new_item(other_tab, trip['id'], 'Dive the lagoon')
    wait_until(page, lambda: len(streams) >= 2)
    assert streams[0].header_value('last-event-id') is None
    assert streams[1].header_value('last-event-id')
    expect(body).to_contain_text('"name": "Dive the lagoon"', timeout=LIVE_MS)
    assert problems == []


def test_the_stream_renews_an_expired_access_token_as_the_page_does(page, problems):
    other_tab = register_and_login('grace@example.com')
    trip, _ = new_list(other_tab, 'Still here')
    path = f'/bucketlists/{trip["id"]}'
    streams, fetched = sent_to(page, '/events'), []
    page.on('requestfinished', lambda request: fetched.append(request) if urlsplit(request.url).path == path
            and request.resource_type == 'fetch' else None)
    page.goto(path)
    log_in(page, 'grace@example.com')
    expect(page.locator('#body')).to_contain_text('Still here')
    # An hour later: the access token has expired, the session has not. It expires just after the
    # page fetched its data again (as it does after each stream from now, here): the stream is the
    # next to send it.
    page_session = next(session['id'] for session in other_tab.get('/auth/sessions').json if not session['current'])
    expired = mint_token(user_id_of(other_tab), page_session, lifetime=timedelta(seconds=-1))
    refreshes = len(fetched)
    wait_until(page, lambda: len(fetched) > refreshes)
    page.evaluate('token => sessionStorage.setItem("bucketlist.token", token)', expired)
    opened = len(streams)
    wait_until(page, lambda: len(streams) > opened)
    assert streams[opened].header_value('authorization') == f'Bearer {expired}'
    # Refused, it renewed the token and asked once more, still logged in.
    wait_until(page, lambda: len(streams) > opened + 1)
    assert streams[opened + 1].header_value('authorization') != f'Bearer {expired}'
    new_item(other_tab, trip['id'], 'Swim with the rays')
    expect(page.locator('#body')).to_contain_text('"name": "Swim with the rays"', timeout=LIVE_MS)
    expect(page.locator('#signed-in')).to_have_text(re.compile('Logged in as grace@example.com'))
    assert page.evaluate('sessionStorage.getItem("bucketlist.token")') != expired
    assert problems == []


def test_the_page_stops_following_when_its_session_ends_elsewhere(page, problems):
    other_tab = register_and_login('ada@example.com')
    trip, _ = new_list(other_tab, 'Go to Borabora')
    streams = sent_to(page, '/events')
    page.goto(f'/bucketlists/{trip["id"]}')
    log_in(page, 'ada@example.com')
    expect(page.locator('#body')).to_contain_text('Go to Borabora')
    wait_until(page, lambda: streams)
    # "Log out everywhere else", from the other tab: the page's session ends, and it says so.
    page_session = next(session['id'] for session in other_tab.get('/auth/sessions').json if not session['current'])
    other_tab.delete(f'/auth/sessions/{page_session}', status=200)
    expect(page.locator('#sign-in')).to_be_visible(timeout=LIVE_MS)
    expect(page.locator('#head')).to_contain_text('HTTP 401 Unauthorized')
    opened = len(streams)
    page.wait_for_timeout(3000)  # longer than the wait between streams
    assert len(streams) == opened
    assert problems == []


# --- Accessibility and layout ------------------------------------------------------------------

WIDTHS = {'desktop': 1280, 'phone': 390}


def axe_violations(page):
    """axe-core's violations on the page as it stands (the rules of WCAG 2.2 AA and best practice)."""
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page)
    return sorted(f'{v["id"]} ({len(v["nodes"])}): {v["help"]}' for v in results.response['violations'])


def overflowing(page):
    """What sticks out past the right edge of the window: the page's own width, then elements."""
    return page.evaluate('''() => {
        const width = document.documentElement.clientWidth
        const out = []
        if (document.documentElement.scrollWidth > width) out.push(`page ${document.documentElement.scrollWidth}px`)
        for (const element of document.querySelectorAll('body *')) {
            const box = element.getBoundingClientRect()
            if (box.width && box.right > width + 0.5 && !element.closest('pre'))
                out.push(`${element.tagName.toLowerCase()}#${element.id} ${Math.round(box.right)}px`)
        }
        return out
    }''')


def states(page):
    """The page in each state a person meets: logged out, a list, an item, a form's error."""
    api = register_and_login('ada@example.com')
    trip, (flights, _) = new_list(api, 'Go to Borabora', ['Book the flights', 'Pack the bags'])
    page.goto('/bucketlists/')
    yield 'logged-out'
    log_in(page, 'ada@example.com')
    page.goto(f'/bucketlists/{trip["id"]}')
    expect(page.locator('#body')).to_contain_text('Book the flights')
    yield 'list'
    page.goto(f'/bucketlists/{trip["id"]}/items/{flights["id"]}')
    expect(form(page, 'Edit').get_by_label('Name')).to_have_value('Book the flights')
    yield 'item'
    edit = form(page, 'Edit')
    edit.get_by_label('Name').fill('   ')
    edit.get_by_label('Name').evaluate('input => input.removeAttribute("required")')  # (what the API says)
    edit.get_by_role('button', name='Save').click()
    expect(edit.locator('.result')).to_contain_text('400 Bad Request')
    yield 'error'


@pytest.mark.parametrize('width', WIDTHS)
def test_every_state_of_the_page_passes_axe_and_fits_the_window(page, problems, width):
    page.set_viewport_size({'width': WIDTHS[width], 'height': 900})
    found = {}
    for state in states(page):
        screenshot(page, f'layout-{state}-{width}')
        found[state] = {'axe': axe_violations(page), 'overflowing': overflowing(page)}
    assert found == {state: {'axe': [], 'overflowing': []} for state in found}
    assert problems == []


def test_swagger_ui_passes_axe(page, problems):
    page.goto('/docs')
    expect(page.locator('#operations-bucketlists-listBucketlists')).to_be_visible()
    assert axe_violations(page) == []


def test_a_form_s_error_shows_beside_it_and_is_announced(page, problems):
    for state in states(page):
        if state == 'error':
            break
    edit = form(page, 'Edit')
    said = edit.locator('.result')
    expect(said).to_contain_text('Must not be blank')
    assert said.get_attribute('aria-live') == 'polite' or said.get_attribute('role') in ('status', 'alert')
    expect(edit.get_by_label('Name')).to_have_attribute('aria-invalid', 'true')
    # Beside the form: inside it, in view once the button was pressed.
    expect(said).to_be_in_viewport()
    assert problems == []


def test_on_a_phone_the_forms_come_before_the_raw_answer(page, problems):
    page.set_viewport_size({'width': WIDTHS['phone'], 'height': 844})
    for state in states(page):
        if state == 'item':
            break
    forms_top = page.locator('#forms').bounding_box()['y']
    assert forms_top < page.locator('#response').bounding_box()['y']
    page.set_viewport_size({'width': WIDTHS['desktop'], 'height': 900})
    notes = form(page, 'Edit').get_by_label('Notes')
    # Text areas take the form's width, under their label.
    assert notes.bounding_box()['width'] >= 0.9 * form(page, 'Edit').bounding_box()['width'] - 32
    assert problems == []


def test_moves_are_two_buttons_and_an_empty_list_has_no_page_links(page, problems):
    api = register_and_login('ada@example.com')
    page.goto('/bucketlists/')
    log_in(page, 'ada@example.com')
    expect(page.locator('#body')).to_have_text('[]')
    expect(page.locator('#pages a')).to_have_count(0)
    trip, (flights, _) = new_list(api, 'Go to Borabora', ['Book the flights', 'Pack the bags'])
    page.goto(f'/bucketlists/{trip["id"]}/items/{flights["id"]}')
    order = form(page, 'Order')
    expect(page.get_by_role('heading', name=re.compile('Move'))).to_have_count(0)
    order.get_by_role('button', name='Move down').click()
    expect(page.locator('#body')).to_contain_text('"position": 1')
    order.get_by_role('button', name='Move up').click()
    expect(page.locator('#body')).to_contain_text('"position": 0')
    assert problems == []


def test_the_page_has_an_icon(page, base_url):
    page.goto('/bucketlists/')
    icon = page.locator('link[rel="icon"]').get_attribute('href')
    answer = page.request.get(base_url + icon)
    assert answer.status == 200 and answer.headers['content-type'].startswith('image/')
