"""Every field a body sends or an answer shows, declared once: its rules, its JSON, its schema, its input.

Validation (``web.clean_body``), PUT's resets, the serialisers, the OpenAPI document's schemas and
bodies, the browsable page's forms and the Peewee models read these declarations; adding a field
to a resource is one ``Field`` here (plus its migration step and tests). CONTRIBUTING.md shows how.
"""
import importlib.resources
import json
import re
import unicodedata
from datetime import date
from html import escape

from peewee import BooleanField, CharField, DateField, DateTimeField, IntegerField, TextField

import recurrence

# --- Limits --------------------------------------------------------------------------------------

# PostgreSQL int4: an id past this can name no row, so it is a 404 and never reaches the database.
MAX_ID = 2**31 - 1
NAME_MAX_LENGTH = 255  # a bucketlist's, an item's or an API token's name
TEXT_MAX_LENGTH = 8192  # a bucketlist's description, an item's notes
EMAIL_MAX_LENGTH = 254  # RFC 5321's longest path
QUERY_VALUE_MAX_LENGTH = 255  # a query parameter's (q= no longer than a name; a cursor is far shorter)
# The text (names, descriptions, notes) one answer embeds at most, in characters: GET one's items
# and a sync's page stop before passing it, so that no answer is more than a few MiB (six bytes a
# character at worst, escaped, and a few hundred bytes an object besides).
ANSWER_TEXT_MAX = 512 * 1024


def text_size(row):
    """The characters of text a row of a bucketlist or an item brings to an answer, as ANSWER_TEXT_MAX counts."""
    return sum(len(getattr(row, name, None) or '') for name in ('name', 'description', 'notes'))


def within_text_max(sizes, used=0):
    """(How many rows of these ``sizes`` (``text_size``), from the first, fit in ANSWER_TEXT_MAX with
    ``used`` characters taken already; the characters then taken): the first row always fits when
    nothing is taken yet, so that an answer is never empty."""
    for count, size in enumerate(sizes):
        if used + size > ANSWER_TEXT_MAX and (count or used):
            return count, used
        used += size
    return len(sizes), used


def items_within_text_max(items):
    """How many of ``items`` (rows of the item fields), from the first, fit in ANSWER_TEXT_MAX: all
    of them, uncounted, when they would even at their longest (GET one's usual few)."""
    if len(items) * (NAME_MAX_LENGTH + TEXT_MAX_LENGTH) <= ANSWER_TEXT_MAX:
        return len(items)
    return within_text_max([len(item.name) + len(item.notes) for item in items])[0]
PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 8, 1024
LABEL_NAME_MAX_LENGTH = 64
MAX_LABELS_PER_ITEM = 20  # of one account's
USER_AGENT_MAX_LENGTH = 255  # a session's, as its owner sees it in their list of sessions
API_TOKEN_MAX_DAYS = 3650  # the longest expires_in_days; without it a token lasts until revoked

# --- Enumerations --------------------------------------------------------------------------------

ROLES = ('owner', 'editor', 'viewer')  # a caller's role in a bucketlist, the most allowed first
MEMBER_ROLES = {'viewer': 'reads', 'editor': 'also writes items'}  # the roles the owner gives, and what they may do
MEMBER_STATUSES = ('active', 'pending')  # a member who accepted the owner's invitation, or one who has not yet
# An API token reads, or also writes; or reads and manages webhooks, which send the account's changes
# to a URL of its choosing (so neither of the others may).
API_TOKEN_SCOPES = ('read', 'write', 'webhooks')
BUCKETLIST_SORTS = ('id', 'name', 'date_created', 'date_modified')  # ?sort=, each also with a leading -
ITEM_SORTS = ('position', 'name', 'due_date', 'priority', 'date_created', 'date_modified', 'done_at')
PRIORITIES = (1, 2, 3, 4)  # an item's priority: 1 the highest, as in most to-do apps
DUE_WINDOWS = ('today', 'overdue', 'next7days')  # GET /items/?due=
TRASH_KINDS = ('bucketlist', 'item')  # what the trash holds
# What a list's activity records: each change to it, by kind (GET /bucketlists/<id>/activity).
ACTIVITY_KINDS = ('bucketlist.created', 'bucketlist.renamed', 'bucketlist.updated', 'bucketlist.trashed',
                  'bucketlist.restored', 'item.created', 'item.updated', 'item.completed', 'item.moved',
                  'item.trashed', 'item.restored', 'item.purged', 'step.created', 'step.updated', 'step.deleted',
                  'member.invited', 'member.uninvited', 'member.joined', 'member.declined', 'member.changed',
                  'member.left', 'member.removed')
# What webhooks and GET /events send: {event type: the activity kinds it is made of}. Invitations are
# the owner's business only, and a purge follows a deletion already sent.
EVENT_KINDS = {'bucketlist.created': ('bucketlist.created',),
               'bucketlist.updated': ('bucketlist.renamed', 'bucketlist.updated'),
               'bucketlist.deleted': ('bucketlist.trashed',),
               'bucketlist.restored': ('bucketlist.restored',),
               'item.created': ('item.created',), 'item.updated': ('item.updated',),
               'item.completed': ('item.completed',), 'item.moved': ('item.moved',),
               'item.deleted': ('item.trashed',), 'item.restored': ('item.restored',),
               'step.created': ('step.created',), 'step.updated': ('step.updated',),
               'step.deleted': ('step.deleted',),
               'member.joined': ('member.joined',), 'member.left': ('member.left', 'member.removed'),
               'member.changed': ('member.changed',)}
EVENT_TYPES = tuple(EVENT_KINDS)
EVENT_OF_KIND = {kind: event for event, kinds in EVENT_KINDS.items() for kind in kinds}
WEBHOOK_URL_MAX_LENGTH = 2048
FORM_BOOLEANS = {'true': True, 'false': False, '1': True, '0': False}
DATE_TEXT = re.compile(r'[0-9]{4}-[0-9]{2}-[0-9]{2}', re.ASCII)  # a due date, YYYY-MM-DD
TIME_TEXT = re.compile(r'([01][0-9]|2[0-3]):[0-5][0-9]', re.ASCII)  # a due time, HH:MM on a 24-hour clock
TIME_ZONE_MAX_LENGTH = 64  # the longest IANA name is 32
EMAIL_TEXT = re.compile(r'[^@\s]+@[^@\s]+\.[^@\s]+')
COLOUR_TEXT = re.compile(r'#[0-9a-fA-F]{6}', re.ASCII)

# --- Cleaners: (value, from_form) -> the clean value, or ValueError with a message for the client ---

# Names are trimmed of white space and of invisible format characters (category Cf, such as
# U+200B), so a name of nothing else is blank. Tag characters (U+E0000 on, the only ones past
# U+1FFFF) stay: they end some emoji flags.
TRIMMED_FROM_NAMES = ''.join(character for character in map(chr, range(0x20000))
                             if character.isspace() or unicodedata.category(character) == 'Cf')


def clean_text(value, from_form=False):
    if not isinstance(value, str):
        raise ValueError('Must be a string.')
    if '\x00' in value:
        raise ValueError('Must not contain NUL characters.')
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise ValueError('Must be valid Unicode text.') from None
    return value


def clean_name(value, from_form=False):
    name = clean_text(value).strip(TRIMMED_FROM_NAMES)
    if not name:
        raise ValueError('Must not be blank.')
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f'Must be at most {NAME_MAX_LENGTH} characters.')
    return name


def clean_long_text(value, from_form=False):
    """A description or notes: any text up to TEXT_MAX_LENGTH characters, kept as sent."""
    text = clean_text(value)
    if len(text) > TEXT_MAX_LENGTH:
        raise ValueError(f'Must be at most {TEXT_MAX_LENGTH} characters.')
    return text


def clean_date(value, from_form=False):
    """A calendar date as YYYY-MM-DD, or None (JSON null; an empty form field)."""
    if value is None or (from_form and value == ''):
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise ValueError('Must be a date as YYYY-MM-DD, or null.') from None


def parse_date(text):
    """The date ``text`` spells as YYYY-MM-DD in ASCII digits, or ValueError."""
    if not (isinstance(text, str) and DATE_TEXT.fullmatch(text)):
        raise ValueError(text)
    return date.fromisoformat(text)


def or_null(clean):
    """The cleaner of a field that may also be None: JSON null, or an empty form field."""
    def clean_or_null(value, from_form=False):
        return None if value is None or (from_form and value == '') else clean(value, from_form)
    return clean_or_null


def clean_time_of_day(value, from_form=False):
    """A time of day as HH:MM (24-hour)."""
    if not (isinstance(value, str) and TIME_TEXT.fullmatch(value)):
        raise ValueError('Must be a time as HH:MM (24-hour), or null.')
    return value


def time_zone_names():
    """The IANA time zone names of the tzdata package, whose version requirements.txt pins: the
    same list on every machine (zoneinfo.available_timezones() adds the system's)."""
    return importlib.resources.files('tzdata').joinpath('zones').read_text().split()


TIME_ZONES = time_zone_names()
TIME_ZONE_SET = frozenset(TIME_ZONES)


def clean_time_zone(value, from_form=False):
    """An IANA time zone name, such as Europe/Berlin."""
    if not (isinstance(value, str) and value in TIME_ZONE_SET):
        raise ValueError('Must be an IANA time zone name, such as Europe/Berlin or UTC.')
    return value


def clean_priority(value, from_form=False):
    """A priority from 1 (the highest) to 4."""
    return clean_whole_number(value, from_form, minimum=PRIORITIES[0], maximum=PRIORITIES[-1])


def clean_label_name(value, from_form=False):
    name = clean_name(value)
    if len(name) > LABEL_NAME_MAX_LENGTH:
        raise ValueError(f'Must be at most {LABEL_NAME_MAX_LENGTH} characters.')
    return name


def clean_colour(value, from_form=False):
    """A colour as #rrggbb, stored lower-cased."""
    if not (isinstance(value, str) and COLOUR_TEXT.fullmatch(value)):
        raise ValueError('Must be a colour as #rrggbb (hexadecimal), or null.')
    return value.lower()


def clean_label_ids(value, from_form=False):
    """The ids of labels, in order, each once; a form sends them separated by commas."""
    if from_form and isinstance(value, str):
        value = [part.strip() for part in value.split(',') if part.strip()] if len(value) <= 1000 else None
    if not isinstance(value, list) or len(value) > MAX_LABELS_PER_ITEM:
        raise ValueError(f'Must be a list of at most {MAX_LABELS_PER_ITEM} label ids.')
    ids = [clean_id(label_id, from_form) for label_id in value]
    if len(set(ids)) < len(ids):
        raise ValueError('Must name each label once.')
    return sorted(ids)


def clean_position(value, from_form=False):
    """A 0-based position; past the end means last."""
    return clean_whole_number(value, from_form, minimum=0, maximum=MAX_ID)


def clean_id(value, from_form=False):
    return clean_whole_number(value, from_form, minimum=1, maximum=MAX_ID)


def clean_days(value, from_form=False):
    return clean_whole_number(value, from_form, minimum=1, maximum=API_TOKEN_MAX_DAYS, unit='days')


def clean_whole_number(value, from_form, minimum, maximum, unit=None):
    # (The length first: int() of thousands of digits is slow, then an error of Python's own.
    # Leading zeros do not count: a form's 007 is 7.)
    if from_form and isinstance(value, str) and value.isascii() and value.isdigit():
        digits = value.lstrip('0')
        if len(digits) <= 10:
            value = int(digits or '0')
    if isinstance(value, float) and value.is_integer():  # 3.0 is a whole number to JSON Schema too
        value = int(value)
    if type(value) is not int or not minimum <= value <= maximum:
        raise ValueError(f'Must be a whole number{f" of {unit}" if unit else ""} from {minimum} to {maximum}.')
    return value


def clean_boolean(value, from_form=False):
    if isinstance(value, bool):
        return value
    if from_form and value in FORM_BOOLEANS:
        return FORM_BOOLEANS[value]
    raise ValueError('Must be a boolean (true or false).')


def one_of(choices):
    """The cleaner of a value that must be one of ``choices``."""
    def clean_choice(value, from_form=False):
        if not isinstance(value, str) or value not in choices:  # (a JSON object is no key of a dict)
            raise ValueError(f'Must be one of {", ".join(choices)}.')
        return value
    return clean_choice


def is_email(text):
    return (len(text) <= EMAIL_MAX_LENGTH and EMAIL_TEXT.fullmatch(text) is not None
            and not any(unicodedata.category(character) in ('Cc', 'Cf') for character in text))


# Longer text is no address, however it normalises: NFKC (U+FDFA alone becomes 18 characters)
# cost a login 250 ms of CPU for a megabyte of it, before any throttle could refuse it.
NORMALISED_EMAIL_MAX_INPUT = 4 * EMAIL_MAX_LENGTH


def normalized_email(text):
    """An address as stored and looked up: trimmed, lower-cased and, when that is still a valid
    address, NFKC-normalised, so that fullwidth ａda@example.com is ada@example.com. Text longer
    than NORMALISED_EMAIL_MAX_INPUT is only trimmed and lower-cased: it is nobody's address."""
    email = text.strip().lower()
    if len(email) > NORMALISED_EMAIL_MAX_INPUT:
        return email
    folded = unicodedata.normalize('NFKC', email).lower()
    return folded if is_email(folded) else email


def clean_email(value, from_form=False):
    text = clean_text(value)
    if not is_email(text.strip().lower()):
        raise ValueError('Must be a valid email address (no invisible or control characters).')
    return normalized_email(text)


def clean_new_password(value, from_form=False):
    password = clean_text(value)
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise ValueError(f'Must be from {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters.')
    return password


# An http(s) URL a webhook may name: a host name or an IP literal, a port, a path and query of
# printable ASCII; no user name or password (the signature proves who sends) and no fragment.
WEBHOOK_URL_PATTERN = (r'^https?://(?:[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.?|\[[0-9A-Fa-f:.]+\])'
                       r'(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?'
                       r'(?:[/?][!-"$-~]*)?$')


def clean_webhook_url(value, from_form=False):
    """A URL of WEBHOOK_URL_PATTERN; whether its scheme and host may receive webhooks is
    webhooks.py's to say, which knows the settings."""
    url = clean_text(value).strip()
    if len(url) > WEBHOOK_URL_MAX_LENGTH or not re.fullmatch(WEBHOOK_URL_PATTERN, url):
        raise ValueError(f'Must be an http or https URL of at most {WEBHOOK_URL_MAX_LENGTH} ASCII characters, '
                         'without a user name, password or fragment (a host in Unicode in its xn-- form).')
    return url


def clean_event_types(value, from_form=False):
    """A non-empty list of event types, each once, in EVENT_TYPES' order."""
    if not isinstance(value, list) or not value or len(value) > len(EVENT_TYPES):
        raise ValueError(f'Must be a list of 1 to {len(EVENT_TYPES)} event types.')
    unknown = [event for event in value if not isinstance(event, str) or event not in EVENT_KINDS]
    if unknown:
        raise ValueError(f'Must hold event types only ({", ".join(EVENT_TYPES)}).')
    if len(set(value)) < len(value):
        raise ValueError('Must not name an event type twice.')
    return [event for event in EVENT_TYPES if event in value]


# --- How answers show values ---------------------------------------------------------------------

def timestamp(moment):
    """A stored (naive UTC) time as ISO 8601 with microseconds and a Z."""
    return moment.isoformat(timespec='microseconds') + 'Z'


def instant(moment):
    """A stored (naive UTC) time to the second, as ISO 8601 with a Z: a due time's instant."""
    return moment.isoformat(timespec='seconds') + 'Z'


def iso_date(day):
    return day.isoformat()


# --- JSON Schemas of the values ------------------------------------------------------------------

# What names are trimmed of (white space and invisible format characters), spelled out instead of
# trusting each regex engine's own, different, idea of \s.
SPACE = ''.join(f'\\u{ord(c):04x}' if ord(c) < 0x10000 else c for c in TRIMMED_FROM_NAMES)
def name_pattern(most):
    """1 to ``most`` characters, no NUL, once the surrounding space is trimmed."""
    return f'^[{SPACE}]*[^{SPACE}\\x00]([^\\x00]{{0,{most - 2}}}[^{SPACE}\\x00])?[{SPACE}]*$'


NAME_PATTERN = name_pattern(NAME_MAX_LENGTH)
# The app's rule for an address (it also forgives surrounding space, which the document does not
# offer): no control or format character, the tag characters that names keep included (the Tags
# block, U+E0000 to U+E007F, holds the only format characters past U+1FFFF).
TAGS = ''.join(chr(code) for code in range(0xE0000, 0xE0080) if unicodedata.category(chr(code)) == 'Cf')
EMAIL_PART = f'[^@{SPACE}{TAGS}\\x00-\\x1f\\x7f-\\x9f]+'
EMAIL_PATTERN = f'^{EMAIL_PART}@{EMAIL_PART}\\.{EMAIL_PART}$'
NO_NUL_PATTERN = '^[^\\x00]*$'

ID = {'type': 'integer', 'minimum': 1, 'maximum': MAX_ID}
VERSION = {'type': 'integer', 'minimum': 0, 'description': 'Of the write that last changed it: a new write, a new '
                                                          'version (compare it for equality, not order). '
                                                          "POST /sync's if_version names it."}
TIMESTAMP = {'type': 'string', 'format': 'date-time', 'description': 'UTC, ISO 8601 with microseconds and a Z.'}
NULLABLE_TIMESTAMP = {'type': ['string', 'null'], 'format': 'date-time'}
NAME = {'$ref': '#/components/schemas/Name'}  # (openapi.py's)
STORED_NAME = {'type': 'string', 'minLength': 1, 'maxLength': NAME_MAX_LENGTH, 'description': 'Trimmed.'}
LONG_TEXT = {'type': 'string', 'maxLength': TEXT_MAX_LENGTH, 'pattern': NO_NUL_PATTERN}
TEXT = {'type': 'string', 'pattern': NO_NUL_PATTERN}
# A calendar date (format: date); year 0000 is one to RFC 3339, not to Python.
DATE = {'type': 'string', 'format': 'date', 'pattern': '^(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}$'}
PRIORITY = {'type': 'integer', 'minimum': PRIORITIES[0], 'maximum': PRIORITIES[-1]}
TIME = {'type': 'string', 'pattern': '^([01][0-9]|2[0-3]):[0-5][0-9]$'}
COLOUR = {'type': 'string', 'pattern': '^#[0-9a-fA-F]{6}$'}
LABEL_NAME = {'type': 'string', 'pattern': name_pattern(LABEL_NAME_MAX_LENGTH)}
LABEL_IDS = {'type': 'array', 'items': ID, 'maxItems': MAX_LABELS_PER_ITEM, 'uniqueItems': True}
RRULE = {'type': 'string', 'maxLength': recurrence.MAX_LENGTH, 'pattern': recurrence.PATTERN}

# (data-integer: the browsable page sends its value as a number, or null for none.)
PRIORITY_SELECT = ('<select name="priority" data-integer><option value="">None</option>'
                   + ''.join(f'<option value="{p}">{p}{" (the highest)" if p == PRIORITIES[0] else ""}</option>'
                             for p in PRIORITIES) + '</select>')
# The common rules to pick from, and any other to type (a datalist: no script needed).
COMMON_RECURRENCES = {'FREQ=DAILY': 'Every day', 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR': 'Every weekday',
                      'FREQ=WEEKLY': 'Every week', 'FREQ=WEEKLY;INTERVAL=2': 'Every two weeks',
                      'FREQ=MONTHLY': 'Every month', 'FREQ=MONTHLY;BYMONTHDAY=-1': 'On the last day of each month',
                      'FREQ=YEARLY': 'Every year'}
RECURRENCE_INPUT = (f'<input name="recurrence" list="recurrences" maxlength="{recurrence.MAX_LENGTH}" '
                    'placeholder="FREQ=WEEKLY;BYDAY=MO" data-optional><datalist id="recurrences">'
                    + ''.join(f'<option value="{rule}" label="{said}"></option>'
                              for rule, said in COMMON_RECURRENCES.items()) + '</datalist>')
EXAMPLE_TIME = '2026-11-25T15:43:58.721104Z'
EXAMPLE_INSTANT = '2027-03-01T08:30:00Z'


def component(name):
    """The schema ``name`` of the OpenAPI document's components (SHARED_SCHEMAS, or openapi.py's)."""
    return {'$ref': f'#/components/schemas/{name}'}


def sort_values(sorts):
    """The values of a ?sort= of ``sorts``: each field, ascending and (a leading -) descending."""
    return [f'{sign}{name}' for name in sorts for sign in ('', '-')]


def enum_schema(values, description, names=None):
    """A string enum, with the names generated code gives its values (x-enum-varnames): the
    values upper-cased unless ``names``."""
    return {'type': 'string', 'enum': list(values), 'description': description,
            'x-enum-varnames': list(names or (value.upper() for value in values))}


def zone_name_in_code(zone):
    """Europe/Berlin as generated code names it: EUROPE_BERLIN (Etc/GMT-1: ETC_GMT_MINUS_1)."""
    return re.sub(r'[^A-Z0-9]+', '_', zone.upper().replace('+', '_PLUS_').replace('GMT-', 'GMT_MINUS_'))


# The enums as the OpenAPI document shares them: a generated client names each once.
SHARED_SCHEMAS = {
    'Role': enum_schema(ROLES, "A role in a bucketlist: its owner's, or a member's."),
    'MemberRole': enum_schema(MEMBER_ROLES, 'The role the owner gives a member: '
                                            + '; '.join(f'{role} {does}' for role, does in MEMBER_ROLES.items()) + '.'),
    'Scope': enum_schema(API_TOKEN_SCOPES, 'What an API token may do: read only, also write, or read and manage '
                                           'webhooks.'),
    'MemberStatus': enum_schema(MEMBER_STATUSES, 'A member who accepted, or one invited who has not yet.'),
    'TrashKind': enum_schema(TRASH_KINDS, 'What was deleted: a bucketlist (with its items) or an item.'),
    'EventType': enum_schema(EVENT_TYPES, 'What happened: an object and what happened to it.',
                             [event.replace('.', '_').upper() for event in EVENT_TYPES]),
    'ActivityKind': enum_schema(ACTIVITY_KINDS, 'What changed in a list: an object and what happened to it.',
                                [kind.replace('.', '_').upper() for kind in ACTIVITY_KINDS]),
    'DueWindow': enum_schema(DUE_WINDOWS, 'When items are due, in your time zone: today, before now (and not done), '
                                          'or today and the six days after.'),
    'TimeZone': enum_schema(TIME_ZONES, 'An IANA time zone name (tzdata, as requirements.txt pins it).',
                            [zone_name_in_code(zone) for zone in TIME_ZONES]),
    **{name: enum_schema(sort_values(sorts), 'The order: a field, a leading - for descending.',
                         [value.lstrip('-').upper() + ('_DESC' if value.startswith('-') else '')
                          for value in sort_values(sorts)])
       for name, sorts in [('BucketlistSort', BUCKETLIST_SORTS), ('ItemSort', ITEM_SORTS)]},
}
ROLE, MEMBER_ROLE, SCOPE = component('Role'), component('MemberRole'), component('Scope')
TIME_ZONE = component('TimeZone')


# --- Field declarations --------------------------------------------------------------------------

MISSING = object()  # no reset (PUT keeps what a required field gets anyway), or no example


class Field:
    """One field of a resource or a body.

    - ``schema``: its JSON Schema in bodies (and answers); ``shown_schema`` in answers, where it
      differs (a stored name is trimmed already). A form sends the same values as text.
    - ``clean``: (value, from_form) -> the clean value or ValueError. None: read-only (answers
      show it, bodies refuse it).
    - ``reset``: what a PUT writes when the body leaves the field out.
    - ``show``: the stored value -> its JSON (None: as it is); ``attr``: the row's attribute
      holding it (default: the field's name); ``shown=False``: a body's only, never in answers.
    - ``column``: the Peewee field storing a field bodies write (models.py adds it to the model,
      and the SQL reads and writes it with the others).
    - ``label`` and ``html``: the browsable page's input (``html`` for one of its own making).
    - ``example``: its value in the OpenAPI document's examples; ``description``: what the
      document says of it beyond its schema.
    """
    __slots__ = ('schema', 'clean', 'shown_schema', 'example', 'reset', 'show', 'attr', 'shown',
                 'column', 'label', 'html', 'description')

    def __init__(self, schema, clean=None, *, shown_schema=None, example=MISSING, reset=MISSING,
                 show=None, attr=None, shown=True, column=None, label=None, html=None, description=None):
        self.schema, self.clean = schema, clean
        self.shown_schema = shown_schema or schema
        self.example, self.reset, self.show, self.attr, self.shown = example, reset, show, attr, shown
        self.column, self.label, self.html, self.description = column, label, html, description

    @property
    def read_only(self):
        return self.clean is None


def read_only(schema, example, show=None, attr=None, description=None):
    return Field(schema, example=example, show=show, attr=attr, description=description)


BUCKETLIST = {
    'id': read_only(ID, 1),
    'name': Field(NAME, clean_name, shown_schema=STORED_NAME, example='Go to Borabora for vacation',
                  column=CharField(max_length=NAME_MAX_LENGTH), label='Name'),
    # (No reset: a PUT keeps the description, as the tutorial's clients send only the name.)
    'description': Field(LONG_TEXT, clean_long_text, example='By my 40th birthday', column=TextField(default=''),
                         label='Description'),
    'created_by': read_only(ID, 1, attr='owner_id', description='Its owner.'),
    'role': read_only(ROLE, 'owner', description="Yours: the owner, or a member's role."),
    'date_created': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'date_modified': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'version': read_only(VERSION, 1),
    'items': Field({'type': 'array'}, shown=False),  # GET one's, read-only: items change at their own URLs
    'has_more_items': Field({'type': 'boolean'}, shown=False),  # (with the items: more than the answer holds)
}

ITEM = {
    'id': read_only(ID, 1),
    'name': Field(NAME, clean_name, shown_schema=STORED_NAME, example='Book the flights',
                  column=CharField(max_length=NAME_MAX_LENGTH), label='Name'),
    'done': Field({'type': 'boolean'}, clean_boolean, example=False, reset=False,
                  column=BooleanField(default=False), label='Done'),
    'bucketlist_id': read_only(ID, 1),
    'date_created': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'date_modified': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'notes': Field(LONG_TEXT, clean_long_text, example='A window seat', reset='', column=TextField(default=''),
                   label='Notes'),
    'due_date': Field({'anyOf': [DATE, {'type': 'null'}]}, clean_date,
                      example='2027-03-01', reset=None,
                      show=iso_date, column=DateField(null=True), label='Due date',
                      description='YYYY-MM-DD, or null (in a form: empty).'),
    'done_at': read_only(NULLABLE_TIMESTAMP, None, show=timestamp,
                         description='When done last became true (UTC); null while not done.'),
    'position': read_only({'type': 'integer', 'minimum': 0}, 0,
                          description="Its 0-based place in its bucketlist's order: move it with POST …/move."),
    'created_by': read_only({'type': ['integer', 'null'], 'minimum': 1, 'maximum': MAX_ID}, 1, attr='created_by_id',
                            description='Who added it; null once their account is deleted.'),
    'priority': Field({'anyOf': [PRIORITY, {'type': 'null'}]}, or_null(clean_priority), example=1, reset=None,
                      column=IntegerField(null=True), label='Priority', html=PRIORITY_SELECT,
                      description='1 (the highest) to 4, or null: none (in a form: empty).'),
    'due_time': Field({'anyOf': [TIME, {'type': 'null'}]}, or_null(clean_time_of_day), example='09:30', reset=None,
                      column=CharField(max_length=5, null=True), label='Due time',
                      html='<input type="time" name="due_time">',
                      description='HH:MM on a 24-hour clock, local to time_zone, or null: due on the date, '
                                  'at no time. Needs a due_date.'),
    'time_zone': Field({'anyOf': [TIME_ZONE, {'type': 'null'}]}, or_null(clean_time_zone), example='Europe/Berlin',
                       reset=None,
                       column=CharField(max_length=TIME_ZONE_MAX_LENGTH, null=True), label='Time zone',
                       html=f'<input name="time_zone" maxlength="{TIME_ZONE_MAX_LENGTH}" placeholder="Europe/Berlin" '
                            'data-optional>',
                       description="The due time's IANA zone. Left out or null with a due_time: the writer's "
                                   "account's zone, stored with the item."),
    # Read-only, but stored: the service writes it with the due fields (bucketlist.with_due_at).
    'due_at': Field(NULLABLE_TIMESTAMP, example=EXAMPLE_INSTANT, show=instant, column=DateTimeField(null=True),
                    description='The instant of due_date and due_time in time_zone (UTC, to the second), or '
                                'null without a due_time. A local time that a change of clocks skips counts '
                                'with the offset before the change.'),
    'recurrence': Field({'anyOf': [RRULE, {'type': 'null'}]}, or_null(recurrence.clean),
                        example='FREQ=WEEKLY;BYDAY=MO', reset=None,
                        column=CharField(max_length=recurrence.MAX_LENGTH, null=True), label='Repeats (RRULE)',
                        html=RECURRENCE_INPUT,
                        description='An RFC 5545 RRULE (the RRULE: prefix optional), or null: it does not repeat. '
                                    'Needs a due_date. Ticking the item done moves its due to the next '
                                    'occurrence, local to time_zone, and leaves it open; after the last (COUNT, '
                                    'UNTIL) it is done. COUNT counts the due, and says how many are left. '
                                    'FREQ=HOURLY (which needs a due_time) and DAILY take no BY parts, WEEKLY takes '
                                    'BYDAY, MONTHLY BYDAY, BYMONTHDAY and BYSETPOS (up to 4 positions, of at most '
                                    '31), YEARLY those and BYMONTH. A tick sent twice moves the due twice: send '
                                    'If-Match to tick once.'),
    'last_completed_at': Field(NULLABLE_TIMESTAMP, example=None, show=timestamp, column=DateTimeField(null=True),
                               description="When a recurring item was last ticked done (UTC), or null: never."),
    'version': read_only(VERSION, 1),
    'steps': Field({'type': 'array'}, shown=False),  # GET one's, read-only: steps change at their own URLs
    # (No reset: a PUT keeps them unless it sends them, as the tutorial's clients send only the name.)
    'labels': Field(LABEL_IDS, clean_label_ids, example=[1], label='Label ids',
                    html='<input name="labels" placeholder="1,2" data-ids>',
                    description="The ids of your labels on it, in order: each member's labels are theirs alone. "
                                'A PATCH of labels alone is open to viewers too. Left out: none on create; PUT '
                                'and PATCH keep them.'),
}

STEP = {
    'id': read_only(ID, 1),
    'item_id': read_only(ID, 1),
    'name': Field(NAME, clean_name, shown_schema=STORED_NAME, example='Renew the passport',
                  column=CharField(max_length=NAME_MAX_LENGTH), label='Name'),
    'done': Field({'type': 'boolean'}, clean_boolean, example=False, column=BooleanField(default=False),
                  label='Done'),
    'position': Field({'type': 'integer', 'minimum': 0, 'maximum': MAX_ID}, clean_position, example=0,
                      shown_schema={'type': 'integer', 'minimum': 0},
                      description="Its 0-based place in its item's order. On create, left out or past the end: "
                                  'last; a PATCH moves it there.'),
    'date_created': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'date_modified': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'version': read_only(VERSION, 1),
}

LABEL = {
    'id': read_only(ID, 1),
    'name': Field(LABEL_NAME, clean_label_name, shown_schema={**STORED_NAME, 'maxLength': LABEL_NAME_MAX_LENGTH},
                  example='Errands', column=CharField(max_length=LABEL_NAME_MAX_LENGTH), label='Name',
                  description='Unique among your labels, ignoring case.'),
    'colour': Field({'anyOf': [COLOUR, {'type': 'null'}]}, or_null(clean_colour), example='#ff8800', reset=None,
                    column=CharField(max_length=7, null=True), label='Colour',
                    html='<input name="colour" placeholder="#ff8800" pattern="#[0-9a-fA-F]{6}" data-optional>',
                    description='#rrggbb, stored lower-cased, or null: none.'),
    'date_created': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'date_modified': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'version': read_only(VERSION, 1),
}

# POST …/items/<id>/move
MOVE = {
    'position': Field({'type': 'integer', 'minimum': 0, 'maximum': MAX_ID}, clean_position, example=0,
                      description='0-based; default, or past the end: last.'),
    'bucketlist_id': Field(ID, clean_id, example=1,
                           description='Another bucketlist you may write to, to move it into; default: its own.'),
}

MEMBER = {
    'user_id': read_only(ID, 2),
    'email': Field(TEXT, clean_text, shown_schema={'type': 'string'}, example='grace@example.com', label='Email',
                   html='<input type="email" name="email" required>'),
    'role': Field(MEMBER_ROLE, one_of(MEMBER_ROLES), shown_schema=ROLE,
                  example='editor', label='Role', column=CharField(max_length=max(map(len, MEMBER_ROLES))),
                  html='<select name="role">' + ''.join(f'<option value="{role}">{role}: {MEMBER_ROLES[role]}</option>'
                                                         for role in MEMBER_ROLES) + '</select>'),
    'date_added': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp,
                            description="When they were invited; the owner's: when the list was made."),
    'status': read_only(component('MemberStatus'), 'active',
                        description='pending: invited, not accepted yet (only the owner sees those).'),
}
MEMBER_CHANGE = {'role': MEMBER['role']}  # what the owner's change of a member's role may send

# GET /invitations: an invitation as its invitee sees it.
INVITATION = {
    'id': read_only(ID, 1),
    'bucketlist_id': read_only(ID, 1),
    'bucketlist_name': read_only(STORED_NAME, 'Go to Borabora for vacation'),
    'role': read_only(MEMBER_ROLE, 'editor'),
    'invited_by': read_only({'type': 'string'}, 'ada@example.com', description="The owner's email."),
    'date_added': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
}

ACCOUNT = {
    'id': read_only(ID, 1),
    'email': read_only({'type': 'string'}, 'ada@example.com'),
    'date_created': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'time_zone': Field(TIME_ZONE, clean_time_zone, example='Europe/Berlin',
                       column=CharField(max_length=TIME_ZONE_MAX_LENGTH, default='UTC'),
                       description="The zone of the account's due times where an item names none (default UTC)."),
}

SESSION = {
    'id': read_only(ID, 1),
    'date_created': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'last_used': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp, description='Its last login or refresh.'),
    'expires_at': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp,
                            description='Its absolute end (SESSION_MAX_AGE_SECONDS after login).'),
    'user_agent': read_only({'type': 'string', 'maxLength': USER_AGENT_MAX_LENGTH}, 'curl/8.5.0',
                            description='The User-Agent of its login, printable characters only.'),
}

# GET /trash: a deleted bucketlist or item, until it is restored or purged.
TRASH_ENTRY = {
    'kind': read_only(component('TrashKind'), 'item'),
    'id': read_only(ID, 7, attr='object_id', description="The bucketlist's or the item's id, which a restore keeps."),
    'name': read_only(STORED_NAME, 'Visit Kyoto'),
    'bucketlist_id': read_only({**ID, 'type': ['integer', 'null']}, 1,
                               description="An item's bucketlist, where a restore puts it back; null for a list."),
    'deleted_at': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'deleted_by': read_only({**ID, 'type': ['integer', 'null']}, 2, attr='deleted_by_id',
                            description='The user who deleted it (null: an account deleted since).'),
    'purge_at': read_only(TIMESTAMP, '2026-12-25T15:43:58.721104Z', show=timestamp,
                          description='When it goes for good (TRASH_DAYS after deleted_at).'),
}

NULLABLE_ID = {**ID, 'type': ['integer', 'null']}
# Fields whose changes SQLite records as 0 and 1 (activity's changes show them as JSON booleans).
BOOLEAN_CHANGES = frozenset(('done',))


def show_changes(text):
    """An activity entry's stored changes as JSON: {field: [old, new]}."""
    changes = json.loads(text)
    for name in BOOLEAN_CHANGES.intersection(changes):
        changes[name] = [value if value is None else bool(value) for value in changes[name]]
    return changes


# GET /bucketlists/<id>/activity: one change to a list.
ACTIVITY_ENTRY = {
    'id': read_only(ID, 12),
    'kind': read_only(component('ActivityKind'), 'item.updated'),
    'bucketlist_id': read_only(ID, 1, description='The list it happened in (an item moved: the list it went to).'),
    'item_id': read_only(NULLABLE_ID, 7, description='The item (or the step\'s item) it happened to, if any.'),
    'step_id': read_only(NULLABLE_ID, None, description='The step it happened to, if any.'),
    'member_id': read_only(NULLABLE_ID, None, description='The member (or invitee) it happened to, if any.'),
    'user_id': read_only(NULLABLE_ID, 2, description='Who did it (an account deleted since leaves its id, which no '
                                                     'other account is ever given).'),
    'at': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'request_id': read_only({'type': 'string'}, '5d81b0919472aa25dc91a5e91e3e7706',
                            description='The X-Request-ID of the request that did it, as the logs have it.'),
    'changes': read_only({'type': 'object', 'additionalProperties': {
                             'type': 'array', 'minItems': 2, 'maxItems': 2,
                             'items': {'type': ['string', 'integer', 'boolean', 'null']}}},
                         {'name': ['Visit Kyoto', 'Visit Kyoto and Nara']}, show=show_changes,
                         description='The fields it changed, each as [old, new]; a creation\'s name as [null, '
                                     'name], a deletion\'s as [name, null].'),
}

# A webhook endpoint: where the account's events go (webhooks.py).
WEBHOOK = {
    'id': read_only(ID, 1),
    'url': Field({'type': 'string', 'format': 'uri', 'maxLength': WEBHOOK_URL_MAX_LENGTH,
                  'pattern': WEBHOOK_URL_PATTERN}, clean_webhook_url,
                 example='https://hooks.example.com/bucketlist', column=CharField(max_length=WEBHOOK_URL_MAX_LENGTH),
                 description='https (http only where WEBHOOK_ALLOW_HTTP is set); it must not reach a private, '
                             'loopback or link-local address.'),
    'events': Field({'type': 'array', 'items': component('EventType'), 'minItems': 1, 'uniqueItems': True},
                    clean_event_types, example=['item.created', 'item.completed'], show=json.loads,
                    column=TextField(), description='The event types to send.'),
    'bucketlist_id': Field(NULLABLE_ID, or_null(clean_id), example=None, reset=None,
                           column=IntegerField(null=True),
                           description='Only this list\'s events (one you see); null: every list you see.'),
    'enabled': Field({'type': 'boolean'}, clean_boolean, example=True,
                     description='false: nothing is sent (events meanwhile are not kept). The service sets it '
                                 'false when a delivery fails for about a day; true again sends what waits.'),
    'disabled_reason': read_only({'type': ['string', 'null']}, None,
                                 description='Why the service turned it off, if it did.'),
    'date_created': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'secret_rotated_at': read_only(NULLABLE_TIMESTAMP, None, show=timestamp,
                                   description='The last rotation: the secret before it still signs for 24 hours.'),
}

# A webhook's delivery: one event to one endpoint, tried until the receiver answers 2xx.
DELIVERY = {
    'id': read_only({'type': 'string'}, 'msg_42', attr='message_id',
                    description='The webhook-id header: the same on every attempt, for the receiver to drop repeats.'),
    'event_type': read_only({'type': ['string', 'null']}, 'item.completed',
                            description='An event type, or "ping"; null until its first attempt.'),
    'state': read_only(enum_schema(('pending', 'delivered', 'failed'), 'Waiting for an attempt (or between two), '
                                   'received (2xx), or given up on.'), 'delivered'),
    'attempts': read_only({'type': 'integer', 'minimum': 0}, 1),
    'created_at': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'next_attempt_at': read_only(NULLABLE_TIMESTAMP, None, show=timestamp,
                                 description='null: none is due (delivered, or given up on).'),
    'last_status': read_only({'type': ['integer', 'null']}, 200,
                             description="The receiver's HTTP status at the last attempt (null: none answered)."),
    'last_error': read_only({'type': ['string', 'null']}, None,
                            description='Why the last attempt failed without a status (refused address, timeout…).'),
    'last_latency_ms': read_only({'type': ['integer', 'null']}, 87),
    'last_response': read_only({'type': ['string', 'null']}, 'ok',
                               description='The start of the last answer\'s body (at most 1,024 characters).'),
}

# GET /items/completed: an item ticked done, kept through unticks and deletes.
COMPLETION = {
    'item_id': read_only(ID, 7),
    'bucketlist_id': read_only(ID, 1),
    'name': read_only(STORED_NAME, 'Visit Kyoto', description='Its name when it was completed.'),
    'completed_at': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'completed_by': read_only(NULLABLE_ID, 2, attr='completed_by_id',
                              description='Who ticked it (null: an account deleted since).'),
}

NEW_PASSWORD = component('NewPassword')  # (openapi.py's)


def secret(example):
    """A password or a token a body sends: text, never shown in an answer."""
    return Field(TEXT, clean_text, example=example, shown=False)


API_TOKEN = {
    'id': read_only(ID, 1),
    'name': Field(NAME, clean_name, shown_schema=STORED_NAME, example='Nightly backup',
                  column=CharField(max_length=NAME_MAX_LENGTH)),
    'scope': Field(SCOPE, one_of(API_TOKEN_SCOPES), example='read',
                   column=CharField(max_length=max(map(len, API_TOKEN_SCOPES)))),
    'date_created': read_only(TIMESTAMP, EXAMPLE_TIME, show=timestamp),
    'expires_at': read_only(NULLABLE_TIMESTAMP, None, show=timestamp, description='null: until revoked.'),
    'last_used': read_only(NULLABLE_TIMESTAMP, None, show=timestamp,
                           description='To within a minute; null: never used.'),
    'expires_in_days': Field({'type': 'integer', 'minimum': 1, 'maximum': API_TOKEN_MAX_DAYS}, clean_days,
                             example=90, shown=False, description='Omitted: until revoked.'),
    'password': secret('difference-engine'),
}

# Account bodies: registration, login, refresh, password change, deletion.
REGISTRATION = {
    'email': Field({'$ref': '#/components/schemas/Email'}, clean_email, example='ada@example.com'),
    'password': Field(NEW_PASSWORD, clean_new_password, example='difference-engine'),
}
LOGIN = {'email': secret('ada@example.com'), 'password': secret('difference-engine')}
REFRESH = {'refresh_token': secret('nKQ25V0bPezvqZGcNQWahRw1PED9…')}
PASSWORD_CHANGE = {'current_password': secret('difference-engine'),
                   'new_password': Field(NEW_PASSWORD, clean_new_password, example='analytical-engine')}
PASSWORD_CONFIRMATION = {'password': secret('difference-engine')}


# --- What the declarations give ------------------------------------------------------------------

def resets(declared):
    """{field: value} that a PUT writes for each field its body leaves out."""
    return {name: field.reset for name, field in declared.items() if field.reset is not MISSING}


def columns(declared):
    """{field: its Peewee field} of the fields bodies write that a table stores."""
    return {name: field.column for name, field in declared.items() if field.column is not None}


def serializer(declared):
    """The function turning a row (a model, or a named row with the same attributes) into the JSON
    of what ``declared`` shows, in declaration order.

    It is built as the one dict display a hand-written serialiser would be, the way namedtuple
    builds its classes: every answer runs it once a row, and a loop over the fields cost half as
    much again. Its names are the declarations' own, never a request's."""
    shows, entries = {}, []
    for name, field in declared.items():
        if not field.shown:
            continue
        value = f'row.{field.attr or name}'
        if field.show is not None:
            shows[f'show_{name}'] = field.show
            value = f'(None if (value := {value}) is None else show_{name}(value))'
        entries.append(f'{name!r}: {value}')
    return eval(f'lambda row: {{{", ".join(entries)}}}', shows)  # (names of the declarations only)


def properties(declared, writable=False):
    """The JSON Schema properties of ``declared``: in answers (all shown; those a body may not set
    marked readOnly), or in bodies (``writable``), each saying what a body that leaves it out
    gets."""
    chosen = {}
    for name, field in declared.items():
        if writable and field.read_only or not writable and not field.shown:
            continue
        schema = field.schema if writable else field.shown_schema
        described = ' '.join(filter(None, [schema.get('description'), field.description,
                                           writable and left_out(field)]))
        if described and schema is not NAME:  # (Name's own description says it all)
            schema = {**schema, 'description': described}
        if field.read_only:
            schema = {**schema, 'readOnly': True}
        chosen[name] = schema
    return chosen


def left_out(field):
    """What a body that leaves ``field`` out gets, in words (None: it is required, or kept)."""
    default = field.column.default if field.column is not None else None
    if field.reset is not MISSING:
        return f'Left out: {json.dumps(field.reset)} on create and PUT; PATCH keeps it.'
    if default is not None and not callable(default):
        return f'Left out: {json.dumps(default)} on create; PUT and PATCH keep it.'
    return None


def example(declared, writable=False, only=None):
    """An example of an answer (or of a body, ``writable``), from the fields' examples."""
    return {name: field.example for name, field in declared.items()
            if (only is None or name in only) and field.example is not MISSING
            and (not field.read_only if writable else field.shown)}


def form_input(name, field, required=False):
    """The browsable page's input for a field, inside its label."""
    required_attribute = ' required' if required else ''
    if field.html is not None:
        control = field.html
    elif field.column is not None and isinstance(field.column, BooleanField):
        return f'<label><input type="checkbox" name="{name}"> {escape(field.label)}</label>'
    elif isinstance(field.column, DateField):
        control = f'<input type="date" name="{name}"{required_attribute}>'
    elif isinstance(field.column, TextField):
        control = f'<textarea name="{name}" maxlength="{TEXT_MAX_LENGTH}"{required_attribute}></textarea>'
    elif field.column is not None:
        control = f'<input name="{name}"{required_attribute} maxlength="{field.column.max_length}">'
    else:
        control = f'<input name="{name}"{required_attribute}>'
    return f'<label>{escape(field.label)} {control}</label>'


def form_inputs(declared, required=()):
    """The inputs of every field of ``declared`` the browsable page offers (those with a label),
    check boxes last, where forms usually have them."""
    offered = [(name, field) for name, field in declared.items() if field.label is not None]
    offered.sort(key=lambda pair: isinstance(pair[1].column, BooleanField))
    return ''.join(form_input(name, field, name in required) for name, field in offered)


def body_schema(properties, required=()):
    """The JSON Schema of an object with exactly these ``properties``."""
    return {'type': 'object', 'properties': properties, 'required': list(required), 'additionalProperties': False}


def answer_schema(declared, **more):
    """The JSON Schema of an answer showing ``declared`` (and ``more`` properties), all present."""
    shown = {**properties(declared), **more}
    return body_schema(shown, list(shown))


def request_schema(declared, required=()):
    """The JSON Schema of a body setting the fields of ``declared``."""
    return body_schema(properties(declared, writable=True), required)
