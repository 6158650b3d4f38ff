"""The calendar feed: a secret URL per account that Google Calendar, Apple Calendar and Thunderbird
subscribe to, serving the open items the account sees that are due, as iCalendar (RFC 5545).

The secret is a MAC of the account's id and its feed's version under SECRET: nothing to store,
and rotating the URL (POST /users/me/calendar) moves the version, which retires the old one. The
feed shows each item's name and due (recurring ones with their RRULE), nothing else.
"""
import base64
import hashlib
import hmac
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import icalendar
from bottle import request, response

import settings
from fields import MAX_ID
from models import Bucketlist, Item, User, db, locked, visible_to
from problems import FEED_NOT_FOUND
from web import app

FEED_ITEMS_MAX = 1000  # the soonest due; a calendar app shows no more anyway


def feed_token(user):
    mac = hmac.new(settings.SECRET.encode(), f'calendar {user.id} {user.calendar_version}'.encode(),
                   hashlib.sha256).digest()
    return f'{user.id}.{base64.urlsafe_b64encode(mac).decode().rstrip("=")}'


def feed_url(user):
    return f'{request.urlparts.scheme}://{request.urlparts.netloc}/calendar/{feed_token(user)}.ics'


@app.get('/users/me/calendar', scope='session')
def calendar_url():
    return {'url': feed_url(User.get_by_id(request.user_id))}


@app.post('/users/me/calendar', scope='session')
def calendar_url_rotate():
    """A new secret URL; the old one is 404 from now on."""
    with db.atomic():
        user = locked(User.select().where(User.id == request.user_id)).get()
        user.calendar_version += 1
        user.save(only=[User.calendar_version])
    return {'url': feed_url(user)}


@app.get('/calendar/<feed>', public=True)
def calendar_feed(feed):
    """The account's feed, if ``feed`` is its URL's current secret: else 404, whatever is wrong."""
    user_id = feed.partition('.')[0]
    user = None
    if user_id.isascii() and user_id.isdigit() and len(user_id) <= 10 and 0 < int(user_id) <= MAX_ID:
        user = User.get_or_none(User.id == int(user_id))
    if user is None or not hmac.compare_digest(feed.encode(), f'{feed_token(user)}.ics'.encode()):
        raise FEED_NOT_FOUND()
    response.content_type = 'text/calendar; charset=utf-8'
    return calendar_of(user)


def calendar_of(user):
    """The iCalendar text of the open items ``user`` sees that are due, soonest first."""
    calendar = icalendar.Calendar()
    calendar.add('prodid', '-//bucketlist//calendar feed//EN')
    calendar.add('version', '2.0')
    calendar.add('x-wr-calname', 'Bucketlist')
    items = (Item.select().join(Bucketlist).where(visible_to(user.id) & Item.due_date.is_null(False)
                                                  & (Item.done == False))  # noqa: E712 (SQL)
             .order_by(Item.due_date, Item.due_time, Item.id).limit(FEED_ITEMS_MAX))
    for item in items:
        calendar.add_component(event(item))
    calendar.add_missing_timezones()  # (a VTIMEZONE for each zone the timed items name)
    return calendar.to_ical()


def event(item):
    event = icalendar.Event()
    event.add('uid', f'item-{item.id}@bucketlist')
    event.add('summary', item.name)
    if item.due_time is None:
        event.add('dtstart', item.due_date)
    else:
        event.add('dtstart', datetime.combine(item.due_date, time.fromisoformat(item.due_time),
                                              ZoneInfo(item.time_zone)))
    event.add('dtstamp', item.date_modified.replace(tzinfo=UTC))
    event.add('last-modified', item.date_modified.replace(tzinfo=UTC))
    if item.recurrence is not None:
        event.add('rrule', icalendar.vRecur.from_ical(item.recurrence))
    return event
