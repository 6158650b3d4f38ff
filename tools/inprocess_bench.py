"""CPU and wall time per request of POST create, PATCH item done and GET one, in-process (WebTest on
the WSGI app, no HTTP server, no wrk): a check of a change's cost with less of the machine's noise
than bench.py, to run alternately in two worktrees of the code before and after it.

    DATABASE_URL=postgresql://…/micro_x LOG_LEVEL=WARNING MAX_BUCKETLISTS_PER_USER=100000 \\
        .venv/bin/python tools/inprocess_bench.py [WORKTREE]

The database must exist and be migrated (python migrations.py); each run adds an account and its lists.
"""
import argparse
import os
import sys
import time
import uuid

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument('worktree', nargs='?', default=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'),
                    help='the checkout whose code to measure (default: this one)')
root = os.path.abspath(parser.parse_args().worktree)
os.chdir(root)
sys.path.insert(0, root)
from webtest import TestApp  # noqa: E402

import bucketlist  # noqa: E402 (from the worktree named)

app = TestApp(bucketlist.app)
email, password = f'inprocess-{uuid.uuid4().hex[:8]}@example.com', 'inprocess-password'
app.post('/auth/register', {'email': email, 'password': password})
app.authorization = ('Bearer', app.post('/auth/login', {'email': email, 'password': password}).json['access_token'])
bucketlist_id = app.post('/bucketlists/', {'name': 'in-process'}).json['id']
items = [app.post(f'/bucketlists/{bucketlist_id}/items/', {'name': f'item {n}'}).json['id'] for n in range(50)]
run = uuid.uuid4().hex[:6]


def measure(label, call, count=300):
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(count):
        call(n)
    print(f'{label}: {(time.process_time() - cpu) / count * 1e6:,.0f} µs CPU, '
          f'{(time.perf_counter() - wall) / count * 1e6:,.0f} µs wall')


measure('POST create', lambda n: app.post('/bucketlists/', {'name': f'created {run} {n}'}))
measure('PATCH item done', lambda n: app.patch(f'/bucketlists/{bucketlist_id}/items/{items[n % 50]}', {'done': 'true'}))
measure('GET one', lambda n: app.get(f'/bucketlists/{bucketlist_id}'))
