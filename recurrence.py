"""Recurring due dates: the RFC 5545 RRULEs items may hold, and their next occurrence (python-dateutil).

A rule is read in two steps. ``clean`` (the field's cleaner) takes its text: the parts and values
of the grammar below, upper case, at most MAX_LENGTH characters; anything else is a 400. ``parse``
then takes its meaning: FREQ once, each part once, only the parts its frequency may have here,
COUNT or UNTIL but not both; a rule that breaks those is refused (``Unsupported``, a 422), as is one
that never occurs. The grammar is the OpenAPI document's ``pattern``: a body it accepts is never a
400.

The parts each frequency may have keep every search for the next occurrence short: dateutil steps
through every period until one matches, and for a rule that never matches it would step until
year 9999. Day filters go only on the frequencies that step by weeks, months or years, and the
search starts in the last 400-year cycles of the calendar (which repeats every 400 years,
weekdays included), so that even a rule that never occurs is known not to within 800 years.
"""
import functools
import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

MAX_LENGTH = 255
MOST = 999  # the largest INTERVAL and COUNT

_WEEKDAY = '(MO|TU|WE|TH|FR|SA|SU)'
_NUMBER = '[1-9][0-9]{0,2}'  # 1 to MOST
_PARTS = {
    'FREQ': '(HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)',
    'INTERVAL': _NUMBER,
    'COUNT': _NUMBER,
    'UNTIL': '[0-9]{4}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]Z)?',
    'WKST': _WEEKDAY,
    'BYDAY': f'[+-]?([1-9]|[1-4][0-9]|5[0-3])?{_WEEKDAY}',
    'BYMONTHDAY': '[+-]?([1-9]|[12][0-9]|3[01])',
    'BYMONTH': '([1-9]|1[0-2])',
    'BYSETPOS': '[+-]?([1-9]|[1-9][0-9]|[12][0-9]{2}|3[0-5][0-9]|36[0-6])',
}
_LISTS = ('BYDAY', 'BYMONTHDAY', 'BYMONTH', 'BYSETPOS')  # comma-separated values
_PART = '|'.join(f'{name}={value}(,{value})*' if name in _LISTS else f'{name}={value}'
                 for name, value in _PARTS.items())
PATTERN = f'^(RRULE:)?({_PART})(;({_PART}))*$'
_TEXT = re.compile(PATTERN)

# Besides FREQ, INTERVAL, COUNT, UNTIL and WKST: the parts of each frequency (see above).
FILTERS = {'HOURLY': (), 'DAILY': (), 'WEEKLY': ('BYDAY',), 'MONTHLY': ('BYDAY', 'BYMONTHDAY', 'BYSETPOS'),
           'YEARLY': ('BYMONTH', 'BYDAY', 'BYMONTHDAY', 'BYSETPOS')}
_ORDINAL_DAY = re.compile(r'[+-]?([0-9]+)')
# The most values of a list: dateutil's work per period grows with them (BYSETPOS most of all).
MOST_VALUES = {'BYDAY': 14, 'BYMONTHDAY': 31, 'BYSETPOS': 4}
LAST_YEAR, CYCLE = 9999, 400


class Unsupported(ValueError):
    """A rule of the grammar that this service does not keep: its message says why."""


def clean(value, from_form=False):
    """A rule's text, upper case, without its optional RRULE: prefix."""
    if not (isinstance(value, str) and len(value) <= MAX_LENGTH and _TEXT.fullmatch(value)):
        raise ValueError(f'Must be an RFC 5545 RRULE in upper case, such as FREQ=WEEKLY;BYDAY=MO, of at most '
                         f'{MAX_LENGTH} characters, or null; FREQ is HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY.')
    return value.removeprefix('RRULE:')


def parse(text):
    """{part: value} of a clean rule, in its order; Unsupported if this service does not keep it."""
    parts = {}
    for part in text.split(';'):
        name, value = part.split('=')
        if name in parts:
            raise Unsupported(f'{name} is given twice.')
        parts[name] = value
    frequency = parts.get('FREQ')
    if frequency is None:
        raise Unsupported('FREQ is missing.')
    others = [name for name in parts if name not in ('FREQ', 'INTERVAL', 'COUNT', 'UNTIL', 'WKST', *FILTERS[frequency])]
    if others:
        raise Unsupported(f'FREQ={frequency} takes no {others[0]} here'
                          + (f' (it takes {", ".join(FILTERS[frequency])}).' if FILTERS[frequency] else '.'))
    if 'COUNT' in parts and 'UNTIL' in parts:
        raise Unsupported('COUNT and UNTIL do not go together (RFC 5545): give one.')
    for name in ('BYDAY', 'BYMONTHDAY', 'BYSETPOS'):
        values = parts.get(name, '').split(',')
        if len(values) > MOST_VALUES[name]:
            raise Unsupported(f'{name} takes at most {MOST_VALUES[name]} values here.')
    most_position = 31 if frequency == 'MONTHLY' or 'BYMONTH' in parts else 366
    if 'BYSETPOS' in parts and max(abs(int(value)) for value in parts['BYSETPOS'].split(',')) > most_position:
        raise Unsupported(f'BYSETPOS: FREQ={frequency} takes positions up to {most_position} here.')
    most_ordinal = {'MONTHLY': 5, 'YEARLY': 5 if 'BYMONTH' in parts else 53}.get(frequency, 0)
    for day in parts.get('BYDAY', '').split(','):
        ordinal = _ORDINAL_DAY.match(day)
        if ordinal and int(ordinal.group(1)) > most_ordinal:
            raise Unsupported(f'BYDAY={day}: FREQ={frequency}{" with BYMONTH" if "BYMONTH" in parts else ""} '
                              + (f'takes ordinals up to {most_ordinal}.' if most_ordinal else 'takes no ordinals.'))
    until(parts)
    return parts


def until(parts):
    """The rule's UNTIL: a date, a UTC datetime (aware), or None."""
    text = parts.get('UNTIL')
    if text is None:
        return None
    try:
        if len(text) == 8:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return datetime.strptime(text, '%Y%m%dT%H%M%SZ').replace(tzinfo=UTC)
    except ValueError:
        raise Unsupported(f'UNTIL={text} is no date.') from None


def next_due(text, due_date, due_time, zone):
    """(date, time as HH:MM or None, the rule to keep) of the occurrence after a due on ``due_date``
    (at ``due_time`` in ``zone``, or on the date alone), local to the zone; None after the last;
    Unsupported if the rule is not one this service keeps, or never occurs after the due.

    The rule's first occurrence is the due itself: COUNT counts it, and the rule kept says how many
    are left. A date-only due's next occurrence is on a later date."""
    parts = parse(text)
    if due_time is None and parts['FREQ'] == 'HOURLY':
        raise Unsupported('FREQ=HOURLY needs a due_time.')
    found = occurrence_after(parts, due_date, due_time)
    ends = until(parts)
    if found is None or parts.get('COUNT') == '1':  # (None: the next would be past year 9999)
        return None
    if isinstance(ends, datetime) and due_time is not None:
        if found.replace(tzinfo=ZoneInfo(zone)) > ends:
            return None
    elif ends is not None and found.date() > (ends.date() if isinstance(ends, datetime) else ends):
        return None
    if 'COUNT' in parts:
        parts['COUNT'] = str(int(parts['COUNT']) - 1)
    return found.date(), due_time and found.strftime('%H:%M'), ';'.join(f'{k}={v}' for k, v in parts.items())


def occurrence_after(parts, due_date, due_time):
    """The first occurrence (naive, local) of the rule from a due, after it, ignoring COUNT and
    UNTIL; None if it would be past year 9999. Unsupported if there is none within 400 years (then
    there is none ever)."""
    start = datetime.combine(due_date, time.fromisoformat(due_time) if due_time else time())
    after = start if due_time else datetime.combine(due_date, time.max)
    # The same search, whole cycles later: dateutil stops at year 9999 at the latest.
    shift = (LAST_YEAR - 2 * CYCLE - start.year) // CYCLE * CYCLE + CYCLE
    rule = ';'.join(f'{name}={value}' for name, value in parts.items() if name not in ('COUNT', 'UNTIL'))
    found = first_after(rule, start.replace(year=start.year + shift), after.replace(year=after.year + shift))
    if found is None:
        raise Unsupported('It never occurs after the due.')
    try:
        return found.replace(year=found.year - shift)
    except ValueError:  # (shifted back, past year 9999)
        return None


@functools.lru_cache(maxsize=256)  # (a write checks a rule, and a refused one is checked again on the long path)
def first_after(rule, start, after):
    """dateutil's first occurrence of ``rule`` from ``start`` after ``after``, or None."""
    try:
        return rrulestr(rule, dtstart=start).after(after)
    except ValueError as error:  # (dateutil's own refusals, should the grammar let one through)
        raise Unsupported(str(error)) from None


def in_calendar(text, due_time, zone):
    """The rule as an iCalendar RRULE from a DTSTART of its due (RFC 5545): its UNTIL a date for a
    date-only due, a UTC time for a timed one (an UNTIL date: the end of that day in ``zone``), so
    that a calendar expands it to the dates ``next_due`` gives."""
    parts = parse(text)
    ends = until(parts)
    if ends is None:
        return text
    if due_time is None:
        parts['UNTIL'] = (ends.date() if isinstance(ends, datetime) else ends).strftime('%Y%m%d')
    elif not isinstance(ends, datetime):
        last = datetime.combine(ends, time(23, 59, 59), ZoneInfo(zone)).astimezone(UTC)
        parts['UNTIL'] = last.strftime('%Y%m%dT%H%M%SZ')
    return ';'.join(f'{name}={value}' for name, value in parts.items())

