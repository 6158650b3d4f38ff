"""The formatters of every log line, the service's and gunicorn's: text, or one JSON object a line
(LOG_FORMAT), with RFC 3339 UTC times to the millisecond (``2026-12-07T01:35:56.761Z``)."""
import logging
import time

from pythonjsonlogger.json import JsonFormatter

import settings


class UTCTimes:
    """logging's own time formatting, in UTC and RFC 3339 (logging.Formatter's documented hooks)."""
    converter = time.gmtime
    default_time_format = '%Y-%m-%dT%H:%M:%S'
    default_msec_format = '%s.%03dZ'


class TextFormatter(UTCTimes, logging.Formatter):
    pass


class JSONFormatter(UTCTimes, JsonFormatter):
    pass


def formatter():
    """LOG_FORMAT's formatter (the text one names the request id, which the service's records carry)."""
    if settings.LOG_FORMAT == 'json':
        return JSONFormatter('%(asctime)s %(levelname)s %(name)s %(process)d %(message)s',
                             rename_fields={'asctime': 'time', 'levelname': 'level', 'name': 'logger'})
    return TextFormatter('%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s %(message)s')
