"""Sessions: a login opens one, refresh tokens keep it going (rotated, reuse detected), and a user
sees and ends their sessions; changing the password ends the others (RFC 9700 §4.14)."""
import hashlib
import threading
from datetime import timedelta

import jwt
from helpers import ON_POSTGRESQL, PASSWORD, DocumentedTestApp, accept_invitations, new_list, register_and_login

import auth
import bucketlist
import settings
from models import RefreshToken, Session, ThrottleEvent, User, db, utcnow


def login(email='alice@example.com', password=PASSWORD, user_agent='tests/1.0'):
    """A new client with a session of its own, and the login's answer."""
    client = DocumentedTestApp(bucketlist.app)
    answer = client.post_json('/auth/login', {'email': email, 'password': password},
                              headers={'User-Agent': user_agent}, status=200).json
    client.authorization = ('Bearer', answer['access_token'])
    return client, answer


def refresh(client, refresh_token, status=200):
    return client.post_json('/auth/refresh', {'refresh_token': refresh_token}, status=status)


def as_used_long_ago(refresh_token):
    """The refresh token's rotation put further back than the grace window."""
    RefreshToken.update(used_at=utcnow() - timedelta(seconds=settings.REFRESH_GRACE_SECONDS + 1)).where(
        RefreshToken.token_hash == hashlib.sha256(refresh_token.encode()).hexdigest()).execute()


def test_login_opens_a_session_and_returns_a_refresh_token(user):
    client, answer = login()
    assert answer['message'] == 'You logged in successfully.'
    assert answer['token_type'] == 'Bearer' and answer['expires_in'] == settings.TOKEN_TTL_SECONDS
    assert isinstance(answer['refresh_token'], str) and len(answer['refresh_token']) >= 40
    claims = jwt.decode(answer['access_token'], options={'verify_signature': False})
    assert Session.get_by_id(claims['sid']).user_id == int(claims['sub'])
    client.get('/bucketlists/', status=200)


def test_refresh_tokens_are_stored_only_as_hashes(user):
    _, answer = login()
    stored = [row.token_hash for row in RefreshToken.select()]
    assert answer['refresh_token'] not in stored
    assert hashlib.sha256(answer['refresh_token'].encode()).hexdigest() in stored


def test_a_refresh_rotates_both_tokens(user):
    client, answer = login()
    renewed = refresh(client, answer['refresh_token']).json
    assert set(renewed) == {'access_token', 'refresh_token', 'token_type', 'expires_in'}
    assert renewed['refresh_token'] != answer['refresh_token']
    client.authorization = ('Bearer', renewed['access_token'])
    client.get('/bucketlists/', status=200)
    refresh(client, renewed['refresh_token'])  # the new one works in turn
    # Same session: the new access token names it.
    sid = jwt.decode(renewed['access_token'], options={'verify_signature': False})['sid']
    assert sid == jwt.decode(answer['access_token'], options={'verify_signature': False})['sid']


def test_refresh_takes_a_form_body_too(user):
    client, answer = login()
    client.post('/auth/refresh', {'refresh_token': answer['refresh_token']}, status=200)


def test_a_reused_refresh_token_ends_the_whole_session(user):
    client, answer = login()
    renewed = refresh(client, answer['refresh_token']).json
    as_used_long_ago(answer['refresh_token'])
    res = refresh(client, answer['refresh_token'], status=401)  # the thief, or the victim, replays it
    assert 'session' in res.json['detail']
    refresh(client, renewed['refresh_token'], status=401)  # the newest refresh token is dead too
    client.authorization = ('Bearer', renewed['access_token'])
    client.get('/bucketlists/', status=401)  # and its newest access token
    user.get('/bucketlists/', status=200)  # another session is untouched


def test_two_refreshes_racing_with_one_token_keep_the_user_logged_in(user):
    client, answer = login()
    first = refresh(client, answer['refresh_token']).json
    second = refresh(client, answer['refresh_token']).json  # a retry, within the grace window
    for renewed in (first, second):  # whichever answer the client kept works
        client.authorization = ('Bearer', renewed['access_token'])
        client.get('/bucketlists/', status=200)
    renewed = refresh(client, second['refresh_token']).json
    refresh(client, renewed['refresh_token'])


def test_a_refresh_token_forked_in_the_grace_window_ends_the_session_once_both_lineages_move_on(user):
    # The owner and a thief each refresh the same token within the grace window, then each
    # their own answer: the second lineage to move on is the other holder's, and the session ends,
    # where both used to rotate for ever.
    client, answer = login()
    owners = refresh(client, answer['refresh_token']).json
    thiefs = refresh(client, answer['refresh_token']).json
    owners = refresh(client, owners['refresh_token']).json
    refresh(client, thiefs['refresh_token'], status=401)
    refresh(client, owners['refresh_token'], status=401)
    client.authorization = ('Bearer', owners['access_token'])
    client.get('/bucketlists/', status=401)


def test_the_copies_a_retry_got_become_reuse_once_one_of_them_is_used(user):
    # The client retried a refresh: it got two answers. It keeps one; the other, presented
    # later (a thief who captured it), is reuse.
    client, answer = login()
    kept = refresh(client, answer['refresh_token']).json
    captured = refresh(client, answer['refresh_token']).json
    refresh(client, kept['refresh_token'])
    as_used_long_ago(captured['refresh_token'])
    refresh(client, captured['refresh_token'], status=401)
    client.authorization = ('Bearer', kept['access_token'])
    client.get('/bucketlists/', status=401)  # the session is over


def test_a_used_refresh_token_gets_a_few_retries_at_most(user):
    client, answer = login()
    for _ in range(auth.EXCHANGES_PER_REFRESH_TOKEN):
        refresh(client, answer['refresh_token'])
    refresh(client, answer['refresh_token'], status=401)
    assert Session.select().count() == 1  # the fixture's: this one ended


def test_a_refresh_racing_a_logout_never_fails_with_5xx():
    if not ON_POSTGRESQL:
        return  # SQLite runs one writer at a time: nothing races
    register_and_login('racer@example.com')
    statuses = []
    for _ in range(20):
        client, answer = login('racer@example.com')
        barrier = threading.Barrier(2)

        def refresher(barrier=barrier, client=client, answer=answer):  # bound: joined within this iteration
            barrier.wait()
            statuses.append(refresh(client, answer['refresh_token'], status='*').status_int)

        def logger_out(barrier=barrier, client=client):
            barrier.wait()
            statuses.append(client.post('/auth/logout', expect_errors=True).status_int)
        threads = [threading.Thread(target=refresher), threading.Thread(target=logger_out)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert set(statuses) <= {200, 401}


def test_unknown_and_malformed_refresh_tokens_are_401_or_400(client, user):
    refresh(client, 'not-a-refresh-token', status=401)
    client.post_json('/auth/refresh', {}, status=400)
    client.post_json('/auth/refresh', {'refresh_token': 7}, status=400)
    _, answer = login()
    client.post_json('/auth/refresh', {'refresh_token': answer['access_token']}, status=401)


def test_an_expired_refresh_token_is_401(user):
    client, answer = login()
    RefreshToken.update(expires_at=utcnow() - timedelta(seconds=1)).execute()
    refresh(client, answer['refresh_token'], status=401)


def test_a_session_past_its_absolute_lifetime_cannot_be_refreshed(user):
    client, answer = login()
    Session.update(expires_at=utcnow() - timedelta(seconds=1)).execute()
    refresh(client, answer['refresh_token'], status=401)


def test_a_refresh_never_outlives_the_session(user):
    client, answer = login()
    Session.update(expires_at=utcnow() + timedelta(seconds=60)).execute()
    renewed = refresh(client, answer['refresh_token']).json
    assert renewed['expires_in'] <= 60
    claims = jwt.decode(renewed['access_token'], options={'verify_signature': False})
    assert claims['exp'] - claims['iat'] <= 60


def test_sessions_lists_the_callers_open_sessions(user, other_user):
    phone, _ = login(user_agent='Phone app/2.1')
    sessions = phone.get('/auth/sessions').json
    assert len(sessions) == 2
    assert set(sessions[0]) == {'id', 'date_created', 'last_used', 'expires_at', 'user_agent', 'current'}
    assert [s['current'] for s in sessions] == [False, True]
    assert sessions[1]['user_agent'] == 'Phone app/2.1'
    assert [s['current'] for s in user.get('/auth/sessions').json] == [True, False]


def test_ending_a_session_refuses_its_tokens_at_once(user):
    phone, answer = login()
    phone_session = [s for s in user.get('/auth/sessions').json if not s['current']][0]
    assert user.delete(f'/auth/sessions/{phone_session["id"]}').json == {'message': 'The session was ended.'}
    phone.get('/bucketlists/', status=401)
    phone.get(f'/bucketlists/{1}', status=401)
    refresh(phone, answer['refresh_token'], status=401)
    assert [s['current'] for s in user.get('/auth/sessions').json] == [True]


def test_another_users_session_is_404(user, other_user):
    theirs = other_user.get('/auth/sessions').json[0]['id']
    user.delete(f'/auth/sessions/{theirs}', status=404)
    user.delete('/auth/sessions/99999', status=404)
    other_user.get('/bucketlists/', status=200)


def test_logout_ends_the_session_and_its_refresh_token(user):
    client, answer = login()
    client.post('/auth/logout', status=200)
    client.get('/bucketlists/', status=401)
    refresh(client, answer['refresh_token'], status=401)
    assert Session.select().count() == 1  # the fixture's session stays


def test_an_ended_sessions_token_stays_refused_when_new_sessions_open(user):
    client, _ = login()
    client.post('/auth/logout', status=200)
    login()  # a new session must not take the ended one's id
    client.get('/bucketlists/', status=401)


def test_sessions_past_the_most_per_user_end_the_least_recently_used(monkeypatch):
    monkeypatch.setattr(settings, 'MAX_SESSIONS_PER_USER', 3)
    first = register_and_login('many@example.com')
    second, _ = login('many@example.com')
    Session.update(last_used=utcnow() - timedelta(hours=1)).execute()
    second.get('/auth/sessions', status=200)  # touches nothing: last_used moves on login and refresh
    for _ in range(3):
        login('many@example.com')
    assert Session.select().count() == 3
    first.get('/bucketlists/', status=401)
    second.get('/bucketlists/', status=401)


def test_a_long_or_odd_user_agent_is_kept_short_and_printable(user):
    _, _ = login(user_agent='A' * 1000 + '\x7f')
    agents = [s['user_agent'] for s in user.get('/auth/sessions').json]
    assert max(map(len, agents)) == 255 and '\x7f' not in agents[1]


# --- The password -------------------------------------------------------------------------------

def test_changing_the_password_ends_every_session_and_its_tokens_and_answers_new_ones(user):
    laptop, laptop_tokens = login()
    phone, phone_tokens = login()
    forked = refresh(laptop, laptop_tokens['refresh_token']).json  # a thief's lineage of the laptop's session
    changed = laptop.post_json('/users/me/password', {'current_password': PASSWORD,
                                                      'new_password': 'a new passphrase'}, status=200).json
    for client, tokens in [(laptop, laptop_tokens), (phone, phone_tokens), (laptop, forked)]:
        client.authorization = ('Bearer', tokens['access_token'])
        client.get('/bucketlists/', status=401)
        refresh(client, tokens['refresh_token'], status=401)
    laptop.authorization = ('Bearer', changed['access_token'])  # the caller goes on, in a new session
    laptop.get('/bucketlists/', status=200)
    refresh(laptop, changed['refresh_token'], status=200)
    login(password='a new passphrase')
    laptop.post_json('/auth/login', {'email': 'alice@example.com', 'password': PASSWORD}, status=401)


def test_a_wrong_current_password_is_403_and_counts_toward_the_login_throttle(user):
    for _ in range(settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        res = user.post_json('/users/me/password', {'current_password': 'guess', 'new_password': 'a new passphrase'},
                             status=403)
        assert res.json['type'] == '/problems/wrong-password' and 'WWW-Authenticate' not in res.headers
    user.get('/users/me', status=200)  # the session stays
    assert ThrottleEvent.select().where(ThrottleEvent.kind == 'login-failure-pair').count() > 0
    user.post_json('/users/me/password', {'current_password': PASSWORD, 'new_password': 'a new passphrase'},
                   status=429)
    user.post_json('/auth/login', {'email': 'alice@example.com', 'password': PASSWORD}, status=429)


def test_the_new_password_follows_the_registration_rules(user):
    res = user.post_json('/users/me/password', {'current_password': PASSWORD, 'new_password': 'short'},
                         status=400)
    assert 'new_password' in res.json['errors']
    user.post_json('/users/me/password', {'current_password': PASSWORD}, status=400)
    with db.atomic():
        assert User.get().password_hash.startswith('$argon2id$')


def test_deleting_the_account_ends_its_sessions(user):
    phone, answer = login()
    user.delete_json('/users/me', {'password': PASSWORD}, status=200)
    refresh(phone, answer['refresh_token'], status=401)
    assert Session.select().count() == 0 and RefreshToken.select().count() == 0


def test_an_ended_session_reads_nothing_and_writes_nothing_on_the_routes_that_check_it_in_their_query(user):
    """These routes check the session in the query that does their work (one round trip): with
    items or none, on pages with rows or past the end, the owner's and a member's writes."""
    full_list, (dive,) = new_list(user, 'Full', ['Dive'])
    full, item = full_list['id'], dive['id']
    empty = new_list(user, 'Empty')[0]['id']
    invited = register_and_login('member@example.com')
    user.post_json(f'/bucketlists/{full}/members', {'email': 'member@example.com', 'role': 'editor'})
    accept_invitations(invited)
    owner, _ = login()
    member, _ = login('member@example.com')
    cursor = owner.get('/sync').json['cursor']
    for ended in (owner, member):
        ended.post('/auth/logout', status=200)
        for path in ('/bucketlists/', '/bucketlists/?page=9', '/bucketlists/?q=nothing',
                     f'/bucketlists/{full}/items/', f'/bucketlists/{full}/items/?page=9',
                     f'/bucketlists/{empty}/items/', f'/bucketlists/{full}', '/sync', f'/sync?cursor={cursor}'):
            ended.get(path, status=401)
        ended.patch_json(f'/bucketlists/{full}/items/{item}', {'done': True}, status=401)
        ended.put_json(f'/bucketlists/{full}/items/{item}', {'name': 'Gone'}, status=401)
        ended.post_json(f'/bucketlists/{full}/items/', {'name': 'Sneaked in'}, status=401)
        ended.post_json(f'/bucketlists/{full}/items/', {'name': 'Sneaked in'}, status=401,
                        headers={'Idempotency-Key': 'k1'})
        ended.post_json('/bucketlists/', {'name': 'Sneaked in'}, status=401)
        ended.put_json(f'/bucketlists/{full}', {'name': 'Renamed'}, status=401)
        ended.patch_json(f'/bucketlists/{full}', {'description': 'Changed'}, status=401)
        ended.post_json('/bucketlists/', {'name': 'Sneaked in'}, status=401, headers={'Idempotency-Key': 'k2'})
    items = user.get(f'/bucketlists/{full}/items/').json
    assert [(i['name'], i['done']) for i in items] == [('Dive', False)]
    assert [(b['name'], b['description']) for b in user.get('/bucketlists/').json] == [('Full', ''), ('Empty', '')]
