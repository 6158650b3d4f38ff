"""The worker process (the Procfile's ``worker:``): delivers the webhook messages of the outbox.

``python worker.py`` runs WEBHOOK_CONCURRENCY delivery threads until SIGTERM or SIGINT, when each
finishes the delivery in hand. Any number of workers may run on PostgreSQL, where each claims its
messages with FOR UPDATE SKIP LOCKED (webhooks.claim); on SQLite, run one. A worker killed midway
loses nothing: a message it held is claimed again once its lease ends, and sent again.
"""
import argparse
import logging
import select
import signal
import sys
import threading
import time
from functools import partial

import settings
import webhooks
from database import ON_POSTGRESQL, db, listening
from migrations import EVENTS_CHANNEL

log = logging.getLogger('bucketlist.worker')  # (written by web.py's handler of bucketlist, as LOG_FORMAT says)
FORGET_EVERY_SECONDS = 60  # how often the delivery log past WEBHOOK_KEEP_DAYS is trimmed


class Worker:
    def __init__(self, concurrency):
        self.concurrency = concurrency
        self.stopping = threading.Event()
        self.work = threading.Event()  # set: there may be due messages (a wake, or a claim that found one)

    def run(self):
        threads = [threading.Thread(target=self.deliver_forever, name=f'delivery-{number}')
                   for number in range(self.concurrency)]
        if ON_POSTGRESQL and settings.DATABASE_POOLER == 'none':
            threading.Thread(target=self.listen, daemon=True, name='listen').start()
        for thread in threads:
            thread.start()
        last_forget = 0.0
        while not self.stopping.wait(1):
            if time.monotonic() - last_forget > FORGET_EVERY_SECONDS:
                last_forget = time.monotonic()
                self.guarded(webhooks.forget_old)
        for thread in threads:
            thread.join()

    def stop(self, *_):
        log.info('stopping: finishing the deliveries in hand')
        self.stopping.set()
        self.work.set()

    def deliver_forever(self):
        while not self.stopping.is_set():
            claimed = self.guarded(webhooks.claim)
            if not claimed:
                self.work.clear()
                self.work.wait(settings.WEBHOOK_POLL_SECONDS)
                continue
            self.work.set()  # (another thread may find one more)
            message, endpoint = claimed
            status, error, latency_ms, excerpt = webhooks.deliver(message, endpoint)
            outcome = self.guarded(partial(webhooks.record, message, endpoint, status, error, latency_ms, excerpt))
            log.info('webhook %s %s to endpoint %s (attempt %s): %s, %s ms', message.message_id, message.event_type,
                     endpoint.id, message.attempts, outcome or 'not recorded (the database?)',
                     latency_ms)

    def guarded(self, work):
        """``work()`` with a connection; None, logged, when the database fails it (the next try may not)."""
        try:
            with db.connection_context():
                return work()
        except Exception:
            log.exception('worker: the database failed; trying again in a second')
            self.stopping.wait(1)
            return None

    def listen(self):
        """Wake the delivery threads when a change is committed (PostgreSQL's NOTIFY of each activity entry)."""
        while not self.stopping.is_set():
            connection = None
            try:
                connection = listening(EVENTS_CHANNEL)
                while not self.stopping.is_set():
                    if select.select([connection], [], [], 5)[0]:
                        connection.poll()
                        connection.notifies.clear()
                        self.work.set()
            except Exception:
                log.warning('worker: listening failed; polling meanwhile', exc_info=True)
                self.stopping.wait(5)
            finally:
                if connection is not None:
                    connection.close()


def main(argv):
    parser = argparse.ArgumentParser(prog='python worker.py', description=__doc__.split('\n\n')[0])
    parser.add_argument('--concurrency', type=int, default=settings.WEBHOOK_CONCURRENCY,
                        help='deliveries at once (default: WEBHOOK_CONCURRENCY, %(default)s)')
    args = parser.parse_args(argv)
    worker = Worker(max(1, args.concurrency))
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    log.info('worker started: %s deliveries at once', worker.concurrency)
    worker.run()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
