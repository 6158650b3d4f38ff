"""How gunicorn serves the app: read by gunicorn from the working directory (``gunicorn bucketlist:app``).

gevent workers, because the service faces the internet without a buffering proxy on a small
host: a client that sends its request slowly, or connects and sends nothing, costs a greenlet
instead of one of a few threads, so 100 such clients cannot keep anybody else waiting
(gunicorn's own guidance for serving clients directly). PostgreSQL is waited on cooperatively
(models.wait_cooperatively) and passwords are hashed on a real thread (auth.py).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import settings  # noqa: E402  (an invalid setting stops gunicorn here, before any worker, with one line)

bind = f'0.0.0.0:{settings.PORT}'
workers = settings.WEB_CONCURRENCY
worker_class = 'gevent'
# Connections one worker holds at once, idle and slow ones included.
worker_connections = 1000
timeout = 30
graceful_timeout = 20
keepalive = 5
