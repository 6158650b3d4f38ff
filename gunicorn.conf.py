"""How gunicorn serves the app: read by gunicorn from the working directory (``gunicorn bucketlist:app``).

gevent workers, because the service faces the internet without a buffering proxy on a small
host: a client that sends its request slowly, or connects and sends nothing, costs a greenlet
instead of one of a few threads, so 100 such clients cannot keep anybody else waiting
(gunicorn's own guidance for serving clients directly). PostgreSQL is waited on cooperatively
(database.wait_cooperatively) and passwords are hashed on a real thread (auth.py).
"""
import json
import os
import sys
import tempfile

import gunicorn.util

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import settings  # noqa: E402  (an invalid setting stops gunicorn here, before any worker, with one line)

bind = f'0.0.0.0:{settings.PORT}'
workers = settings.WEB_CONCURRENCY
worker_class = 'gevent'
# Connections one worker holds at once, idle and slow ones included.
worker_connections = 1000
timeout = 30
graceful_timeout = 20
# No control socket (gunicorn 27's, one path per user): nothing here uses it, and instances that
# share a host (two behind one proxy, CI's test runs side by side) would fight over that path.
control_socket_disable = True
keepalive = 5

# LOG_FORMAT=json: gunicorn's own lines are JSON objects too, so every line on the stream is one.
# A logger class rather than a logging config: with a config gunicorn turns its access log on,
# and the service writes its own request log, with more in each line.
if settings.LOG_FORMAT == 'json':
    from gunicorn.glogging import Logger

    import logs

    class JSONLogger(Logger):
        def setup(self, cfg):
            super().setup(cfg)
            for handler in self.error_log.handlers:  # the same fields and times as the service's lines
                handler.setFormatter(logs.formatter())

    logger_class = JSONLogger


def write_problem(sock, status, reason, detail):
    """gunicorn's answer to what it refuses before the app (a request line or header too long, a
    malformed request): a problem document with the headers of every answer, where gunicorn
    writes an HTML page (``gunicorn.util.write_error``, which this replaces)."""
    detail = detail[:200]  # (it may quote the request)
    body = json.dumps({'type': 'about:blank', 'title': reason, 'status': status, 'detail': detail,
                       'message': detail}).encode()
    head = (f'HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n'
            f'Content-Length: {len(body)}\r\nX-Request-ID: {os.urandom(16).hex()}\r\n'
            'X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n')
    gunicorn.util.write_nonblock(sock, head.encode('latin1') + body)


gunicorn.util.write_error = write_problem

# /metrics adds up every worker's values, which prometheus-client keeps in files of a directory
# named before the workers start; a dead worker's live gauges are dropped.
if settings.METRICS_TOKEN and 'PROMETHEUS_MULTIPROC_DIR' not in os.environ:
    os.environ['PROMETHEUS_MULTIPROC_DIR'] = tempfile.mkdtemp(prefix='bucketlist-metrics-')


def child_exit(server, worker):
    if settings.METRICS_TOKEN:
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(worker.pid)
