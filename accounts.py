"""The account routes (registration, login and sessions, the account itself, its API tokens) and
the operator's command line for accounts."""
import argparse
import secrets
import sys
from contextlib import contextmanager
from datetime import timedelta

from bottle import request, response
from peewee import IntegrityError

import activity
import auth
import settings
import sync
from fields import (
    ACCOUNT,
    API_TOKEN,
    LOGIN,
    PASSWORD_CHANGE,
    PASSWORD_CONFIRMATION,
    REFRESH,
    REGISTRATION,
    SESSION,
    normalized_email,
    serializer,
)
from models import (
    THROTTLE_SUBJECT_MAX_LENGTH,
    USER_AGENT_MAX_LENGTH,
    ApiToken,
    Bucketlist,
    Session,
    ThrottleEvent,
    User,
    db,
    locked,
    utcnow,
)
from problems import (
    ACCOUNT_DELETED,
    ACCOUNT_EXISTS,
    API_TOKEN_QUOTA,
    API_TOKEN_REVOKED,
    LOGGED_IN,
    LOGGED_OUT,
    NO_SUCH_API_TOKEN,
    NO_SUCH_SESSION,
    PASSWORD_CHANGED,
    REFRESH_TOKEN_INVALID,
    REGISTERED,
    SESSION_ENDED,
    SESSION_ENDED_BY_YOU,
    WRONG_CREDENTIALS,
    WRONG_PASSWORD,
    APIError,
)
from web import (
    address_key,
    app,
    clean_body,
    client_address,
    request_fields,
    throttle_attempt,
    throttle_check,
)

# How long an address the owner logged in from stays known to the login throttle.
KNOWN_ADDRESS_WINDOW = timedelta(days=30)


def legacy_email(text):
    """An email as accounts made before NFKC normalisation were stored: trimmed and lower-cased
    only. Such an account still logs in by it, and nobody may register its twin."""
    return text.strip().lower()


@app.post('/auth/register', public=True)
def register():
    fields = clean_body(REGISTRATION,
                        required=('email', 'password'))
    address = address_key(client_address())
    window = timedelta(seconds=settings.REGISTRATION_WINDOW_SECONDS)
    with auth.hashing_slot(address):
        throttle_attempt([('register-address', address, settings.REGISTRATIONS_PER_ADDRESS, window)])
        # Checked before hashing, so a taken email is a quick 409 and racing registrations of one
        # email queue behind a single hash rather than one each.
        legacy = legacy_email(request_fields()[0]['email'])  # as sent: clean_email normalised it
        if User.select().where(User.email.in_({fields['email'], legacy})).exists():
            raise ACCOUNT_EXISTS()
        try:
            User.create(email=fields['email'], password_hash=auth.hash_password(fields['password']))
        except IntegrityError:
            raise ACCOUNT_EXISTS() from None
    response.status = 201
    return REGISTERED()


@app.post('/auth/login', public=True)
def login():
    """Failed logins lock an account only for the address they come from (OWASP): from all
    addresses together they only slow it down, since past LOGIN_FAILURES_PER_ACCOUNT only the
    addresses that have already failed on it are refused; its owner elsewhere still gets in."""
    fields = clean_body(LOGIN, required=('email', 'password'))
    email, address = normalized_email(fields['email']), address_key(client_address())
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    pair = f'{address} {email}'[:THROTTLE_SUBJECT_MAX_LENGTH]
    limits = [('login-address', address, settings.LOGINS_PER_ADDRESS, window),
              ('login-failure-pair', pair, settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, window),
              ('login-failure-address', address, settings.LOGIN_FAILURES_PER_ADDRESS, window)]
    with auth.hashing_slot(address):
        since = utcnow()
        # The account-wide ceiling refuses addresses that failed on it, but not those its owner
        # logged in from before: a typo at home must not lock the owner out during an attack.
        if (ThrottleEvent.recent('login-failure-pair', pair, since - window, 1)
                and not ThrottleEvent.recent('login-known-pair', pair, since - KNOWN_ADDRESS_WINDOW, 1)):
            limits.append(('login-failure-account', email[:THROTTLE_SUBJECT_MAX_LENGTH],
                           settings.LOGIN_FAILURES_PER_ACCOUNT, window))
        # Every attempt counts as a failure until its password checks out: racing guesses count too.
        event_ids = throttle_attempt(limits)
        user = User.get_or_none(User.email == email)
        if user is None and legacy_email(fields['email']) != email:
            user = User.get_or_none(User.email == legacy_email(fields['email']))
        if not auth.check_password(user, fields['password']):
            raise WRONG_CREDENTIALS()
        ThrottleEvent.forget_events(event_ids[1:])  # no failure after all; still a login of the address
        ThrottleEvent.forget('login-failure-pair', pair)
        ThrottleEvent.record([('login-known-pair', pair, 1, KNOWN_ADDRESS_WINDOW)], utcnow())
    tokens = auth.open_session(user, user_agent())
    if tokens is None:  # the password changed since it was checked
        raise WRONG_CREDENTIALS()
    return {**LOGGED_IN(), **tokens_json(*tokens)}


def tokens_json(access_token, refresh_token, expires_in):
    return {'access_token': access_token, 'refresh_token': refresh_token, 'token_type': 'Bearer',
            'expires_in': expires_in}


def user_agent():
    """The client's User-Agent as its owner will see it among their sessions: printable, bounded."""
    text = request.get_header('User-Agent') or ''
    return ''.join(character for character in text if character.isprintable())[:USER_AGENT_MAX_LENGTH]


@app.post('/auth/refresh', public=True)
def refresh():
    fields = clean_body(REFRESH, required=('refresh_token',))
    try:
        return tokens_json(*auth.refresh_session(fields['refresh_token']))
    except auth.RefreshRefused as refusal:
        raise APIError(401, str(refusal), kind=REFRESH_TOKEN_INVALID.kind) from None


@app.post('/auth/logout', scope='session')
def logout():
    """Ends the caller's session: its access and refresh tokens are refused from now on."""
    auth.end_session(request.session_id, request.user_id)
    return LOGGED_OUT()


# --- Sessions ------------------------------------------------------------------------------------

_session_fields_json = serializer(SESSION)


def session_json(session):
    return {**_session_fields_json(session), 'current': session.id == request.session_id}


def open_sessions(user_id):
    """The user's sessions that may still be used, oldest first (at most MAX_SESSIONS_PER_USER)."""
    return Session.select().where((Session.user == user_id) & Session.is_alive(utcnow())).order_by(Session.id)


@app.get('/auth/sessions', scope='session')
def session_list():
    return [session_json(session) for session in open_sessions(request.user_id)]


@app.delete('/auth/sessions/<session_id:id>', scope='session')
def session_end(session_id):
    """Refuses that session's access and refresh tokens at once, on every instance."""
    if not auth.end_session(session_id, request.user_id):
        raise NO_SUCH_SESSION(session_id=session_id)
    return SESSION_ENDED_BY_YOU()


# --- The account itself ------------------------------------------------------------------------------

account_json = serializer(ACCOUNT)


def current_user():
    """The caller's account (the token plugin has checked it exists; it may be gone since)."""
    user = User.get_or_none(User.id == request.user_id)
    if user is None:
        raise SESSION_ENDED()
    return user


@app.get('/users/me')
def me():
    return account_json(current_user())


@app.patch('/users/me', scope='session')
def change_me():
    """The account's settings: its time zone, that of due times whose items name none."""
    fields = clean_body(ACCOUNT)
    user = current_user()
    for name, value in fields.items():
        setattr(user, name, value)
    if fields:
        user.save(only=list(fields))
    return account_json(user)


@contextmanager
def password_confirmed(user, password):
    """Go on only if ``password`` is the user's, else 403 (the wrong-password problem, not a 401 a
    client would take for an ended session); holds a hashing place meanwhile, for more password
    work in the block. An address locked out of the account is refused before its guess is
    checked (429), and a wrong guess counts as a failed login (a right one costs no throttle
    writes)."""
    address = address_key(client_address())
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    failures = [('login-failure-pair', f'{address} {user.email}'[:THROTTLE_SUBJECT_MAX_LENGTH],
                 settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, window)]
    with auth.hashing_slot(address):
        throttle_check(failures)
        if not auth.check_password(user, password):
            ThrottleEvent.record(failures, utcnow())
            raise WRONG_PASSWORD()
        yield


@app.delete('/users/me', scope='session')
def delete_me():
    """The account and everything it owns, for good (GDPR Art. 17); its password confirms it.
    Every token of it is refused at once: its sessions and API tokens go with it."""
    fields = clean_body(PASSWORD_CONFIRMATION, required=('password',))
    user = current_user()
    with password_confirmed(user, fields['password']):
        delete_account(user)
    return ACCOUNT_DELETED()


def delete_account(user):
    """The account and everything it owns: its bucketlists (for their members too), items,
    memberships, sessions, API tokens and idempotency keys go with it (ON DELETE CASCADE)."""
    with db.atomic():
        # Its lists locked first: a member added meanwhile gets their tombstone too.
        list(locked(Bucketlist.select(Bucketlist.id).where(Bucketlist.owner == user.id).order_by(Bucketlist.id)))
        sync.record_owner_leaving(user.id)
        activity.forget_owner(user.id)
        user.delete_instance()


@app.post('/users/me/password', scope='session')
def change_password():
    """A new password. Every session ends, this one too, with all its tokens: whoever holds one
    (a stolen access token, a refresh token of a lineage of its own) is out. The caller goes on
    in a new session, whose tokens this answer carries; the API tokens stay."""
    fields = clean_body(PASSWORD_CHANGE,
                        required=('current_password', 'new_password'))
    user = current_user()
    with password_confirmed(user, fields['current_password']):
        user.password_hash = auth.hash_password(fields['new_password'])
    with db.atomic():
        user.save(only=[User.password_hash])
        Session.delete().where(Session.user == user.id).execute()
        tokens = auth.open_session(user, user_agent())
    return {**PASSWORD_CHANGED(), **tokens_json(*tokens)}


# --- API tokens ----------------------------------------------------------------------------------

api_token_json = serializer(API_TOKEN)


def api_tokens_of(user_id):
    return ApiToken.select().where(ApiToken.user == user_id).order_by(ApiToken.id)


@app.post('/users/me/tokens', scope='session')
def api_token_create():
    """A token for a script: shown in this answer only, stored as its hash. The password confirms
    it, as for deleting the account: an API token outlives sessions, so a stolen access token
    must not be able to turn itself into one."""
    fields = clean_body(API_TOKEN, required=('name', 'scope', 'password'))
    user = current_user()
    days = fields.get('expires_in_days')
    token, token_hash = auth.new_api_token()
    with password_confirmed(user, fields['password']), db.atomic():
        locked(User.select().where(User.id == user.id)).get_or_none()  # racing creates take turns at the quota
        if api_tokens_of(user.id).count() >= settings.MAX_API_TOKENS_PER_USER:
            raise API_TOKEN_QUOTA(most=settings.MAX_API_TOKENS_PER_USER)
        now = utcnow()
        created = ApiToken.create(user=user.id, name=fields['name'], scope=fields['scope'], token_hash=token_hash,
                                  date_created=now, expires_at=now + timedelta(days=days) if days else None)
    response.status = 201
    return {**api_token_json(created), 'token': token}


@app.get('/users/me/tokens', scope='session')
def api_token_list():
    return [api_token_json(token) for token in api_tokens_of(request.user_id)]


@app.delete('/users/me/tokens/<token_id:id>', scope='session')
def api_token_revoke(token_id):
    if not ApiToken.delete().where((ApiToken.id == token_id) & (ApiToken.user == request.user_id)).execute():
        raise NO_SUCH_API_TOKEN(token_id=token_id)
    return API_TOKEN_REVOKED()


# --- The operator's command line ---------------------------------------------------------------------

def main(argv):
    """For hosts without email: reset-password prints a new random password and ends every session
    and API token of the account; delete-user deletes the account and everything it owns."""
    parser = argparse.ArgumentParser(prog='python accounts.py', description=main.__doc__,
                                     epilog='The database is DATABASE_URL (default sqlite:///bucketlist.db).')
    commands = parser.add_subparsers(dest='command', required=True, metavar='{reset-password,delete-user}')
    for command, text in (('reset-password', 'print a new password; end every session and API token'),
                          ('delete-user', 'delete the account and everything it owns')):
        commands.add_parser(command, help=text).add_argument('email')
    args = parser.parse_args(argv)
    command, email = args.command, args.email
    user = User.get_or_none(User.email == normalized_email(email))
    if user is None:
        sys.exit(f'No account has the email {email!r}.')
    if command == 'delete-user':
        delete_account(user)
        print(f'Deleted {user.email} and everything it owned.')
        return
    password = secrets.token_urlsafe(18)
    user.password_hash = auth.password_hasher.hash(password)
    with db.atomic():
        user.save(only=[User.password_hash])
        Session.delete().where(Session.user == user.id).execute()
        ApiToken.delete().where(ApiToken.user == user.id).execute()
    print(f'New password of {user.email} (its sessions and API tokens were ended):')
    print(password)


if __name__ == '__main__':
    main(sys.argv[1:])
