"""The account routes: registration, login and logout."""
from datetime import timedelta

from bottle import request, response
from peewee import IntegrityError

import auth
import settings
from models import EMAIL_MAX_LENGTH, ThrottleEvent, User
from web import APIError, app, clean_body, clean_email, clean_new_password, clean_text, client_address, throttle


def login_limits(email):
    window = timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    # An address longer than any account's is nobody's: its first characters count as well.
    return [('login-account', email[:EMAIL_MAX_LENGTH], settings.LOGIN_FAILURES_PER_ACCOUNT, window),
            ('login-address', client_address(), settings.LOGIN_FAILURES_PER_ADDRESS, window)]


@app.post('/auth/register', public=True)
def register():
    fields = clean_body({'email': clean_email, 'password': clean_new_password},
                        required=('email', 'password'))
    window = timedelta(seconds=settings.REGISTRATION_WINDOW_SECONDS)
    limits = [('register-address', client_address(), settings.REGISTRATIONS_PER_ADDRESS, window)]
    with auth.hashing_slot():
        throttle(limits)
        ThrottleEvent.record(limits)
        try:
            User.create(email=fields['email'], password_hash=auth.hash_password(fields['password']))
        except IntegrityError:
            raise APIError(409, 'User already exists. Please login.')
    response.status = 201
    return {'message': 'You registered successfully. Please login.'}


@app.post('/auth/login', public=True)
def login():
    fields = clean_body({'email': clean_text, 'password': clean_text}, required=('email', 'password'))
    email = fields['email'].strip().lower()
    limits = login_limits(email)
    with auth.hashing_slot():
        throttle(limits)
        user = User.get_or_none(User.email == email)
        if not auth.check_password(user, fields['password']):
            ThrottleEvent.record(limits)
            raise APIError(401, 'Invalid email or password, Please try again')
        ThrottleEvent.forget('login-account', email)
    return {'message': 'You logged in successfully.', 'access_token': auth.issue_token(user.id)}


@app.post('/auth/logout')
def logout():
    auth.revoke_token(request.token_claims)
    return {'message': 'You logged out successfully.'}
