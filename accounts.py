"""The account routes: registration, login and logout."""
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
)

# How long an address the owner logged in from stays known to the login throttle.
KNOWN_ADDRESS_WINDOW = timedelta(days=30)


def legacy_email():
    """The request's email as accounts made before NFKC normalisation were stored: trimmed and
    lower-cased only. Such an account still logs in by it, and nobody may register its twin."""
    return request_fields()[0]['email'].strip().lower()


@app.post('/auth/register', public=True)
def register():
    fields = clean_body({'email': clean_email, 'password': clean_new_password},
                        required=('email', 'password'))
    address = address_key(client_address())
    window = timedelta(seconds=settings.REGISTRATION_WINDOW_SECONDS)
    with auth.hashing_slot(address):
        throttle_attempt([('register-address', address, settings.REGISTRATIONS_PER_ADDRESS, window)])
        if User.select().where(User.email == legacy_email()).exists():  # its twin, stored before NFKC
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
        user = User.get_or_none(User.email == email) or User.get_or_none(User.email == legacy_email())
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
