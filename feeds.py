"""The calendar feed: a secret URL per account that Google Calendar, Apple Calendar and Thunderbird
subscribe to, serving the open items the account sees that are due, as iCalendar (RFC 5545).

The secret is a MAC of the account's id and its feed's version under SECRET: nothing to store,
and rotating the URL (POST /users/me/calendar) moves the version, which retires the old one. The
feed shows each item's name and due (recurring ones with their RRULE), nothing else.
"""
import base64
import functools
import hashlib
import hmac
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import icalendar
from bottle import request, response

import recurrence
import settings
from fields import MAX_ID
from models import Bucketlist, Item, User, db, locked, visible_to
from problems import FEED_NOT_FOUND
from web import app

FEED_ITEMS_MAX = 1000  # the soonest due; a calendar app shows no more anyway
# The most zones a feed places events by (with a VTIMEZONE each, tens of milliseconds to build the
# first time); the recurring timed items of further zones repeat in UTC.
FEED_ZONES_MAX = 20


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
    zones = []  # of the events placed by their zone (recurring, timed): a VTIMEZONE for each
    for item in items:
        local = (item.recurrence is not None and item.due_time is not None
                 and (item.time_zone in zones or len(zones) < FEED_ZONES_MAX))
        if local and item.time_zone not in zones:
            zones.append(item.time_zone)
        calendar.add_component(event(item, local))
    for zone in zones:
        calendar.add_component(vtimezone(zone))
    return calendar.to_ical()


def event(item, local):
    """An item's VEVENT: all-day on a date-only due; at its instant (UTC) on a timed one, or at its
    local time in its zone when ``local``, which a recurring one needs to keep its local time
    across the changes of clocks."""
    event = icalendar.Event()
    event.add('uid', f'item-{item.id}@bucketlist')
    event.add('summary', item.name)
    if item.due_time is None:
        event.add('dtstart', item.due_date)
    elif local:
        event.add('dtstart', datetime.combine(item.due_date, time.fromisoformat(item.due_time),
                                              ZoneInfo(item.time_zone)))
    else:
        event.add('dtstart', item.due_at.replace(tzinfo=UTC))
    event.add('dtstamp', item.date_modified.replace(tzinfo=UTC))
    event.add('last-modified', item.date_modified.replace(tzinfo=UTC))
    if item.recurrence is not None:
        zone = item.time_zone if local else 'UTC'
        event.add('rrule', icalendar.vRecur.from_ical(recurrence.in_calendar(item.recurrence, item.due_time, zone)))
    return event


@functools.cache  # (one each for a process's life: building one costs tens of milliseconds)
def vtimezone(zone):
    """The VTIMEZONE of an IANA zone, this century's changes of clocks."""
    return icalendar.Timezone.from_tzinfo(ZoneInfo(zone), tzid=zone, first_date=date(2000, 1, 1),
                                          last_date=date(2100, 1, 1))
