"""The account routes (registration, login, logout, the account itself) and the operator's command
line for accounts."""
import secrets
import sys
from datetime import timedelta

from bottle import request, response
from peewee import IntegrityError

import auth
import settings
from models import THROTTLE_SUBJECT_MAX_LENGTH, ThrottleEvent, User, utcnow
from web import (
    APIError,
    address_key,
    app,
    clean_body,
    clean_email,
    clean_new_password,
    clean_text,
    client_address,
    normalized_email,
    request_fields,
    throttle_attempt,
    throttle_check,
    timestamp,
)

# How long an address the owner logged in from stays known to the login throttle.
KNOWN_ADDRESS_WINDOW = timedelta(days=30)


def legacy_email(text):
    """An email as accounts made before NFKC normalisation were stored: trimmed and lower-cased
    only. Such an account still logs in by it, and nobody may register its twin."""
    return text.strip().lower()


@app.post('/auth/register', public=True)
def register():
    fields = clean_body({'email': clean_email, 'password': clean_new_password},
                        required=('email', 'password'))
    address = address_key(client_address())
    window = timedelta(seconds=settings.REGISTRATION_WINDOW_SECONDS)
    with auth.hashing_slot(address):
        throttle_attempt([('register-address', address, settings.REGISTRATIONS_PER_ADDRESS, window)])
        legacy = legacy_email(request_fields()[0]['email'])  # as sent: clean_email normalised it
        if legacy != fields['email'] and User.select().where(User.email == legacy).exists():
            raise APIError(409, 'User already exists. Please login.')
        try:
            User.create(email=fields['email'], password_hash=auth.hash_password(fields['password']))
        except IntegrityError:
            raise APIError(409, 'User already exists. Please login.')
    response.status = 201
    return {'message': 'You registered successfully. Please login.'}


@app.post('/auth/login', public=True)
def login():
    """Failed logins lock an account only for the address they come from (OWASP): from all
    addresses together they only slow it down, since past LOGIN_FAILURES_PER_ACCOUNT only the
    addresses that have already failed on it are refused; its owner elsewhere still gets in."""
    fields = clean_body({'email': clean_text, 'password': clean_text}, required=('email', 'password'))
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
            raise APIError(401, 'Invalid email or password, Please try again')
        ThrottleEvent.forget_events(event_ids[1:])  # no failure after all; still a login of the address
        ThrottleEvent.forget('login-failure-pair', pair)
        ThrottleEvent.record([('login-known-pair', pair, 1, KNOWN_ADDRESS_WINDOW)], utcnow())
    return {'message': 'You logged in successfully.', 'access_token': auth.issue_token(user.id)}


@app.post('/auth/logout')
def logout():
    auth.revoke_token(request.token_claims)
    return {'message': 'You logged out successfully.'}


# --- The account itself ------------------------------------------------------------------------------

def account_json(user):
    return {'id': user.id, 'email': user.email, 'date_created': timestamp(user.date_created)}


def current_user():
    """The caller's account (the token plugin has checked it exists; it may be gone since)."""
    user = User.get_or_none(User.id == request.user_id)
    if user is None:
        raise APIError(401, 'The access token has been revoked. Please log in again.')
    return user


@app.get('/users/me')
def me():
    return account_json(current_user())


@app.delete('/users/me')
def delete_me():
    """The account and everything it owns, for good (GDPR Art. 17); its password confirms it.
    Every token of it is refused at once: the token check finds no user."""
    fields = clean_body({'password': clean_text}, required=('password',))
    user = current_user()
    address = address_key(client_address())
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    failures = [('login-failure-pair', f'{address} {user.email}'[:THROTTLE_SUBJECT_MAX_LENGTH],
                 settings.LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, window)]
    with auth.hashing_slot(address):
        # An address locked out of the account is refused before its guess is checked; a wrong
        # guess counts as a failed login (a right one costs no throttle writes).
        throttle_check(failures)
        if not auth.check_password(user, fields['password']):
            ThrottleEvent.record(failures, utcnow())
            raise APIError(401, 'The password is not right.')
    user.delete_instance()  # its bucketlists, items and idempotency keys go with it (ON DELETE CASCADE)
    return {'message': 'Your account was deleted.'}


# --- The operator's command line ---------------------------------------------------------------------

def main(argv):
    """python accounts.py reset-password EMAIL | delete-user EMAIL

    For hosts without email: reset-password prints a new random password and refuses every token
    issued before; delete-user deletes the account and everything it owns."""
    if len(argv) != 2 or argv[0] not in ('reset-password', 'delete-user'):
        sys.exit(main.__doc__.splitlines()[0])
    command, email = argv
    user = User.get_or_none(User.email == normalized_email(email))
    if user is None:
        sys.exit(f'No account has the email {email!r}.')
    if command == 'delete-user':
        user.delete_instance()
        print(f'Deleted {user.email} and everything it owned.')
        return
    password = secrets.token_urlsafe(18)
    user.password_hash = auth.password_hasher.hash(password)
    user.tokens_valid_after = utcnow()
    user.save(only=[User.password_hash, User.tokens_valid_after])
    print(f'New password of {user.email} (tokens issued before are refused from now on):')
    print(password)


if __name__ == '__main__':
    main(sys.argv[1:])
