"""Webhooks: an account's endpoints (the /webhooks routes), and how the worker delivers their messages.

Each change to a list leaves an activity entry, and a trigger on ``activity`` (migration 23) turns
it, in the same transaction, into a message to every enabled endpoint that wants its event type:
the outbox. ``worker.py`` claims due messages (``claim``), sends them signed as the Standard
Webhooks specification says (``deliver``) and records the outcome (``record``): at least once,
again after each of WEBHOOK_RETRY_SECONDS until the receiver answers 2xx, then the endpoint is
turned off. A receiver is reached only at a public address checked when it is connected to.
"""
import base64
import http.client
import ipaddress
import json
import secrets
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from bottle import request, response
from peewee import fn
from standardwebhooks import Webhook as Signer

import settings
from fields import ACTIVITY_ENTRY, DELIVERY, EVENT_KINDS, EVENT_OF_KIND, WEBHOOK, serializer, timestamp
from models import (
    ON_POSTGRESQL,
    Activity,
    Bucketlist,
    User,
    WebhookCounter,
    WebhookMessage,
    db,
    locked,
    own_row,
    utcnow,
    visible_to,
)
from models import Webhook as Endpoint  # (Webhook is the signer's name, as the standardwebhooks package has it)
from problems import (
    NO_SUCH_DELIVERY,
    NO_SUCH_WEBHOOK,
    UNSEEN_WEBHOOK_LIST,
    WEBHOOK_DELETED,
    WEBHOOK_QUOTA,
    WEBHOOK_URL_REFUSED,
)
from web import app, clean_body, idempotent, page_and_limit, set_page_headers, throttle_attempt

webhook_json = serializer(WEBHOOK)
delivery_json = serializer(DELIVERY)
activity_json = serializer(ACTIVITY_ENTRY)

SECRET_BYTES = 24  # whsec_ and 32 base64 characters, as the standardwebhooks package makes them
PREVIOUS_SECRET_HOURS = 24  # how long the secret before a rotation still signs
RESPONSE_EXCERPT = 1024  # characters of a receiver's answer kept in the delivery log
RESPONSE_READ_MAX = 64 * 1024  # bytes read of it at most
OUTCOMES = ('delivered', 'failed', 'refused', 'gave_up')
SENDS_PER_HOUR = 60  # pings and redeliveries of one account (each a message the worker sends), then 429
IN_FLIGHT_PER_ACCOUNT = 2  # deliveries to one account's webhooks at once: its receivers hold no more threads


# --- Endpoints -----------------------------------------------------------------------------------

def new_secret():
    return 'whsec_' + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def kinds_of(events):
    """What ``Webhook.kinds`` holds for these event types: the activity kinds, between commas."""
    return ',' + ','.join(kind for event in events for kind in EVENT_KINDS[event]) + ','


def refused_address(address):
    """Why a receiver must not be at ``address`` (an IP address's text), or None: it is public."""
    ip = ipaddress.ip_address(address.split('%')[0])
    wrapped = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())] if ip.version == 6 else []
    for each in [*filter(None, wrapped), ip]:  # (an address an IPv6 one carries reaches it too)
        if each.is_loopback:
            return 'a loopback address'
        if each.is_link_local:
            return 'a link-local address (cloud metadata services live there)'
        if (each.is_private or each.is_reserved or each.is_multicast or each.is_unspecified or not each.is_global
                or getattr(each, 'is_site_local', False)):
            return 'a private or reserved address'
    return None


def check_url(url):
    """422 for a URL the settings do not allow, or whose host is itself a refused address."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (checks it)
    except ValueError:  # ([1:2], no IPv6 address)
        raise WEBHOOK_URL_REFUSED(reason='its host is not an address') from None
    if parts.scheme != 'https' and not settings.WEBHOOK_ALLOW_HTTP:
        raise WEBHOOK_URL_REFUSED(reason='it must be https (WEBHOOK_ALLOW_HTTP allows http, for development)')
    if settings.WEBHOOK_ALLOW_PRIVATE:
        return
    host = parts.hostname.rstrip('.')
    if host == 'localhost' or host.endswith('.localhost'):
        raise WEBHOOK_URL_REFUSED(reason='its host is this machine')
    try:
        why = refused_address(host)
    except ValueError:
        try:  # (127.1, 0x7f.1, 2130706433: what the resolver reads as an IPv4 address)
            why = refused_address(str(ipaddress.IPv4Address(socket.inet_aton(host))))
        except OSError:  # a name: checked each time it is resolved, at delivery
            return
    if why:
        raise WEBHOOK_URL_REFUSED(reason=f'its host is {why}')


def own_webhook(webhook_id, for_update=False):
    found = own_row(Endpoint, webhook_id, request.user_id, for_update)
    if found is None:
        raise NO_SUCH_WEBHOOK(webhook_id=webhook_id)
    return found


def check_list(bucketlist_id):
    if bucketlist_id is not None and not Bucketlist.select().where(
            (Bucketlist.id == bucketlist_id) & visible_to(request.user_id)).exists():
        raise UNSEEN_WEBHOOK_LIST(bucketlist_id=bucketlist_id)


def write(endpoint, fields):
    """Put the body's ``fields`` on ``endpoint`` (checked first)."""
    if 'url' in fields:
        check_url(fields['url'])
    if 'bucketlist_id' in fields:
        check_list(fields['bucketlist_id'])
    for name in ('url', 'bucketlist_id'):
        if name in fields:
            setattr(endpoint, name, fields[name])
    if 'events' in fields:
        endpoint.events, endpoint.kinds = json.dumps(fields['events']), kinds_of(fields['events'])
    if fields.get('enabled') is True:
        endpoint.disabled_at = endpoint.disabled_reason = None
    elif fields.get('enabled') is False and endpoint.disabled_at is None:
        endpoint.disabled_at, endpoint.disabled_reason = utcnow(), 'Turned off by its owner.'


@app.post('/webhooks', scope='webhooks')
def webhook_create():
    """A new endpoint, and its signing secret: shown this once."""
    fields = clean_body(WEBHOOK, required=('url', 'events'))

    def create():
        with db.atomic():
            locked(User.select(User.id).where(User.id == request.user_id)).get_or_none()  # creates take turns
            if Endpoint.select().where(Endpoint.user == request.user_id).count() >= settings.MAX_WEBHOOKS_PER_USER:
                raise WEBHOOK_QUOTA(most=settings.MAX_WEBHOOKS_PER_USER)
            endpoint = Endpoint(user=request.user_id, secret=new_secret(), date_created=utcnow(), bucketlist_id=None)
            write(endpoint, fields)
            endpoint.save(force_insert=True)
        response.status = 201
        return {**webhook_json(endpoint), 'secret': endpoint.secret}
    return idempotent(create)


@app.get('/webhooks', scope='webhooks')
def webhook_list():
    """The caller's endpoints, oldest first (at most MAX_WEBHOOKS_PER_USER: no pages)."""
    return [webhook_json(endpoint) for endpoint in
            Endpoint.select().where(Endpoint.user == request.user_id).order_by(Endpoint.id)]


@app.get('/webhooks/<webhook_id:id>', scope='webhooks')
def webhook_show(webhook_id):
    return webhook_json(own_webhook(webhook_id))


@app.patch('/webhooks/<webhook_id:id>', scope='webhooks')
def webhook_update(webhook_id):
    """Change the URL, the events or the list; ``enabled: true`` turns an endpoint the service turned
    off back on, and what waits for it is sent."""
    fields = clean_body(WEBHOOK)
    with db.atomic():
        endpoint = own_webhook(webhook_id, for_update=True)
        write(endpoint, fields)
        endpoint.save()
    return webhook_json(endpoint)


@app.delete('/webhooks/<webhook_id:id>', scope='webhooks')
def webhook_delete(webhook_id):
    """The endpoint goes, and its messages with it, delivered or not."""
    with db.atomic():
        own_webhook(webhook_id, for_update=True).delete_instance()
    return WEBHOOK_DELETED(webhook_id=webhook_id)


@app.post('/webhooks/<webhook_id:id>/secret', scope='webhooks')
def webhook_rotate_secret(webhook_id):
    """A new signing secret, shown this once; for PREVIOUS_SECRET_HOURS the old one signs too (a
    second signature in webhook-signature), so that receivers can change theirs meanwhile."""
    with db.atomic():
        endpoint = own_webhook(webhook_id, for_update=True)
        endpoint.previous_secret, endpoint.secret = endpoint.secret, new_secret()
        endpoint.secret_rotated_at = utcnow()
        endpoint.save()
    return {**webhook_json(endpoint), 'secret': endpoint.secret}


@app.get('/webhooks/<webhook_id:id>/deliveries', scope='webhooks', query=('page', 'limit'))
def webhook_deliveries(webhook_id):
    """The endpoint's deliveries of the last WEBHOOK_KEEP_DAYS, the newest first, each with its last attempt."""
    own_webhook(webhook_id)
    page, limit = page_and_limit()
    query = WebhookMessage.select().where(WebhookMessage.webhook == webhook_id)
    found = list(query.order_by(WebhookMessage.id.desc()).paginate(page, limit))
    set_page_headers(query.count() if found or page > 1 else 0, page, limit)
    return [delivery_json(message) for message in found]


@app.post('/webhooks/<webhook_id:id>/deliveries/<message_id:id>/redeliver', scope='webhooks')
def webhook_redeliver(webhook_id, message_id):
    """Send a delivery again (with its webhook-id: a receiver that has it drops it), as soon as a worker can."""
    with db.atomic():
        own_webhook(webhook_id)
        throttle_attempt([('webhook-send', str(request.user_id), SENDS_PER_HOUR, timedelta(hours=1))])
        message = locked(WebhookMessage.select().where((WebhookMessage.id == message_id)
                                                       & (WebhookMessage.webhook == webhook_id))).get_or_none()
        if message is None:
            raise NO_SUCH_DELIVERY(webhook_id=webhook_id, message_id=message_id)
        message.state, message.next_attempt_at, message.attempts = 'pending', utcnow(), 0
        message.save()
    response.status = 202
    return delivery_json(message)


@app.post('/webhooks/<webhook_id:id>/ping', scope='webhooks')
def webhook_ping(webhook_id):
    """A test event (type ``ping``) to the endpoint, as soon as a worker can: its delivery shows how it went."""
    with db.atomic():
        own_webhook(webhook_id)
        throttle_attempt([('webhook-send', str(request.user_id), SENDS_PER_HOUR, timedelta(hours=1))])
        now = utcnow()
        message = WebhookMessage.create(webhook=webhook_id, event_type='ping', created_at=now, next_attempt_at=now,
                                        body=event_body('ping', now, {'webhook_id': webhook_id}))
    response.status = 202
    return delivery_json(message)


# --- Delivery (worker.py) ------------------------------------------------------------------------

def event_body(event_type, at, data):
    return json.dumps({'type': event_type, 'timestamp': timestamp(at), 'data': data}, separators=(',', ':'))


def claim(now=None):
    """A due message of an enabled endpoint with none in flight, leased to this worker (another
    takes it once the lease is over: a worker that dies loses nothing), with its endpoint; or None.
    Its body is made now, at its first attempt: a message whose activity is gone is failed, saying
    so, and one whose event type its endpoint no longer wants is dropped."""
    now = now or utcnow()
    lease = now + timedelta(seconds=2 * settings.WEBHOOK_TIMEOUT_SECONDS + 5)
    in_flight = (WebhookMessage.select(WebhookMessage.webhook)
                 .where((WebhookMessage.state == 'pending') & (WebhookMessage.leased_until > now)))
    # An account whose receivers hang (a dozen webhooks that never answer) keeps this many
    # threads, however much it queues: the other accounts' deliveries take the rest.
    busy_accounts = (Endpoint.select(Endpoint.user).join(WebhookMessage)
                     .where((WebhookMessage.state == 'pending') & (WebhookMessage.leased_until > now))
                     .group_by(Endpoint.user).having(fn.COUNT(WebhookMessage.id) >= IN_FLIGHT_PER_ACCOUNT))
    due = (WebhookMessage.select(WebhookMessage.id).join(Endpoint)
           .where((WebhookMessage.state == 'pending') & (WebhookMessage.next_attempt_at <= now)
                  & ((WebhookMessage.leased_until.is_null()) | (WebhookMessage.leased_until <= now))
                  & Endpoint.disabled_at.is_null() & WebhookMessage.webhook.not_in(in_flight)
                  & Endpoint.user.not_in(busy_accounts))
           .order_by(WebhookMessage.next_attempt_at, WebhookMessage.id).limit(1))
    while True:
        with db.atomic():  # (SQLite's transactions are IMMEDIATE: one claim at a time)
            # The message's row and its endpoint's, locked: a claim that read them before another
            # committed its lease sees the lease once it holds the lock (PostgreSQL reads a locked
            # row again), and two claims of one instant cannot take one endpoint. NO KEY UPDATE:
            # the outbox's inserts, which check their foreign key to the endpoint, do not wait.
            message_id = (due.for_update('FOR NO KEY UPDATE OF "t1", "t2" SKIP LOCKED') if ON_POSTGRESQL
                          else due).scalar()
            if message_id is None:
                return None
            message = WebhookMessage.get_by_id(message_id)
            if in_flight.where(WebhookMessage.webhook == message.webhook_id).exists():
                continue  # (leased by a claim that committed after this one's read: read again)
            WebhookMessage.update(leased_until=lease, attempts=WebhookMessage.attempts + 1).where(
                WebhookMessage.id == message_id).execute()
            message.attempts, message.leased_until = message.attempts + 1, lease
            endpoint = Endpoint.get_by_id(message.webhook_id)
            if message.body is None:
                entry = Activity.get_or_none(Activity.id == message.activity_id)
                if entry is None:  # (its list deleted for good, or its account, before a first attempt)
                    message.state, message.next_attempt_at = 'failed', None
                    message.last_error = 'Not sent: its list was deleted for good before a first attempt.'
                    message.save()
                    continue
                event_type = EVENT_OF_KIND.get(entry.kind)
                if event_type not in json.loads(endpoint.events):  # (no longer wanted)
                    message.delete_instance()
                    continue
                message.event_type, message.body = event_type, event_body(event_type, entry.at,
                                                                          activity_json(entry))
                message.save()
            return message, endpoint


class Refused(Exception):
    """The receiver's address is not one a webhook may reach."""


class CheckedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a host's address checked public when it is made (not a second lookup
    that could answer otherwise), within the timeout."""

    def connect(self):
        self.sock = connect_checked(self.host, self.port, self.timeout)


class CheckedHTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        sock = connect_checked(self.host, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def connect_checked(host, port, timeout):
    deadline = time.monotonic() + timeout
    error = None
    for family, kind, protocol, _, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if not settings.WEBHOOK_ALLOW_PRIVATE and refused_address(address[0]):
            # (one message whatever the address is: the log must not map the host's network)
            raise Refused(f'{host} resolves to an address that is not public')
        sock = socket.socket(family, kind, protocol)
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            sock.connect(address)
            return sock
        except OSError as failure:
            sock.close()
            error = failure
    raise error or OSError(f'{host} has no address')


def deliver(message, endpoint, now=None):
    """Send ``message`` to its endpoint once: (status or None, error or None, latency in ms, the
    start of the answer). Redirects are not followed (a 3xx is a failure)."""
    now = now or utcnow()
    url = urlsplit(endpoint.url)
    secrets_signing = [endpoint.secret]
    if endpoint.previous_secret and endpoint.secret_rotated_at and (
            now - endpoint.secret_rotated_at < timedelta(hours=PREVIOUS_SECRET_HOURS)):
        secrets_signing.append(endpoint.previous_secret)
    headers = {'content-type': 'application/json', 'user-agent': f'bucketlist-webhooks/{settings.RELEASE}',
               'webhook-id': message.message_id,
               'webhook-timestamp': str(int(now.replace(tzinfo=UTC).timestamp())),
               'webhook-signature': ' '.join(Signer(secret).sign(message.message_id, now, message.body)
                                             for secret in secrets_signing)}
    started = time.monotonic()
    https = url.scheme == 'https'
    connection = (CheckedHTTPSConnection if https else CheckedHTTPConnection)(
        url.hostname, url.port or (443 if https else 80), timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
    # Each socket operation has the timeout; the whole delivery too: a receiver answering a byte at
    # a time is cut off at it, well within the lease.
    deadline = threading.Timer(settings.WEBHOOK_TIMEOUT_SECONDS, cut, (connection,))
    deadline.start()
    try:
        connection.request('POST', (url.path or '/') + (f'?{url.query}' if url.query else ''),
                           body=message.body.encode(), headers=headers)
        answer = connection.getresponse()
        excerpt = answer.read(RESPONSE_READ_MAX)[:4 * RESPONSE_EXCERPT].decode('utf-8', 'replace')[:RESPONSE_EXCERPT]
        return answer.status, None, elapsed_ms(started), excerpt
    except Refused as refused:
        return None, f'Refused: {refused}', elapsed_ms(started), None
    except Exception as failure:  # (whatever a receiver or its name does, the attempt failed: the worker goes on)
        timed_out = isinstance(failure, (socket.timeout, TimeoutError)) or not deadline.is_alive()
        said = f'{"Timed out" if timed_out else "Failed"}: {type(failure).__name__}: {failure}'
        return None, said[:255], elapsed_ms(started), None
    finally:
        deadline.cancel()
        connection.close()


def cut(connection):
    """End a delivery at its deadline: its socket shut, its read fails at once."""
    if connection.sock is not None:
        try:
            connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def elapsed_ms(started):
    return round((time.monotonic() - started) * 1000)


def record(message, endpoint, status, error, latency_ms, excerpt, now=None):
    """The attempt's outcome: delivered (2xx), tried again after the next of WEBHOOK_RETRY_SECONDS,
    or, past the last, given up on with the endpoint turned off, saying why."""
    now = now or utcnow()
    delivered = status is not None and 200 <= status < 300
    retries = settings.WEBHOOK_RETRY_SECONDS
    gave_up = not delivered and message.attempts > len(retries)
    state = 'delivered' if delivered else 'failed' if gave_up else 'pending'
    next_attempt = None if state != 'pending' else now + timedelta(seconds=retries[message.attempts - 1])
    outcome = ('delivered' if delivered else 'gave_up' if gave_up
               else 'refused' if error and error.startswith('Refused') else 'failed')
    with db.atomic():
        # The claim's own lease: an attempt whose lease ended and was claimed again since says nothing.
        if not WebhookMessage.update(state=state, next_attempt_at=next_attempt, leased_until=None,
                                     last_status=status, last_error=error, last_latency_ms=latency_ms,
                                     last_response=excerpt).where(
                (WebhookMessage.id == message.id) & (WebhookMessage.leased_until == message.leased_until)).execute():
            return None
        count(outcome)
        if gave_up and message.event_type != 'ping':
            said = f'HTTP {status}' if status is not None else error
            Endpoint.update(disabled_at=now, disabled_reason=(
                f'Delivery {message.message_id} failed {message.attempts} times over '
                f'{sum(retries) / 3600:.1f} hours; the last: {said}')[:255]).where(
                (Endpoint.id == endpoint.id) & Endpoint.disabled_at.is_null()).execute()
    return outcome


def count(outcome):
    if not WebhookCounter.update(count=WebhookCounter.count + 1).where(WebhookCounter.outcome == outcome).execute():
        WebhookCounter.insert(outcome=outcome, count=1).on_conflict(
            conflict_target=[WebhookCounter.outcome], update={WebhookCounter.count: WebhookCounter.count + 1}).execute()


def forget_old(now=None):
    """The delivery log past WEBHOOK_KEEP_DAYS goes (a batch at a time), whatever its state."""
    before = (now or utcnow()) - timedelta(days=settings.WEBHOOK_KEEP_DAYS)
    oldest = WebhookMessage.select(WebhookMessage.id).where(WebhookMessage.created_at < before).limit(1000)
    forgotten = 0
    while deleted := WebhookMessage.delete().where(WebhookMessage.id.in_(oldest)).execute():
        forgotten += deleted
    return forgotten


def queue_state(now=None):
    """(messages waiting, seconds the oldest due one has waited) for /metrics."""
    now = now or utcnow()
    depth, oldest = (WebhookMessage.select(fn.COUNT(WebhookMessage.id), fn.MIN(WebhookMessage.next_attempt_at))
                     .join(Endpoint).where((WebhookMessage.state == 'pending') & Endpoint.disabled_at.is_null())
                     .tuples().get())
    if isinstance(oldest, str):  # (SQLite gives an aggregate's time as text)
        oldest = datetime.fromisoformat(oldest)
    return depth, max(0.0, (now - oldest).total_seconds()) if oldest else 0.0


def counts():
    return {row.outcome: row.count for row in WebhookCounter.select()}
