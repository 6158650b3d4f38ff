"""Prometheus metrics of every gunicorn worker at once (multiprocess mode), served at /metrics when
METRICS_TOKEN is set; without it nothing is recorded."""
import settings

ENABLED = bool(settings.METRICS_TOKEN)

if ENABLED:
    # Under gunicorn, gunicorn.conf.py points PROMETHEUS_MULTIPROC_DIR at a fresh directory before
    # the workers start, so each writes its values there and any of them can add them all up.
    import os

    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        Counter,
        Gauge,
        Histogram,
        generate_latest,
        multiprocess,
    )
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    REQUESTS = Counter('bucketlist_requests_total', 'Requests answered, by route pattern, method and status.',
                       ['route', 'method', 'status'])
    DURATION = Histogram('bucketlist_request_duration_seconds', 'Time to answer a request, by route pattern.',
                         ['route'], buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
    SERVER_ERRORS = Counter('bucketlist_server_errors_total', 'Answers with a 5xx status, by route pattern.',
                            ['route'])
    THROTTLED = Counter('bucketlist_throttle_refusals_total', 'Requests refused by a throttle (429), by kind.',
                        ['kind'])
    POOL_IN_USE = Gauge('bucketlist_database_connections_in_use', 'Pooled database connections in use.',
                        multiprocess_mode='livesum')
    POOL_WAITING = Gauge('bucketlist_database_connections_waiting',
                         'Requests waiting for a pooled database connection.', multiprocess_mode='livesum')
    OPEN_STREAMS = Gauge('bucketlist_event_streams_open', 'Open event streams (GET /events).',
                         multiprocess_mode='livesum')
    HASHES_QUEUED = Gauge('bucketlist_password_hashes_queued',
                          'Logins and registrations holding or waiting for a hashing place.',
                          multiprocess_mode='livesum')


def record_request(route, method, status, seconds, pool_in_use, pool_waiting, hashes_queued):
    """Count an answered request (the caller checks ENABLED first: it costs it the arguments)."""
    REQUESTS.labels(route, method, str(status)).inc()
    DURATION.labels(route).observe(seconds)
    if status >= 500:
        SERVER_ERRORS.labels(route).inc()
    POOL_IN_USE.set(pool_in_use)
    POOL_WAITING.set(pool_waiting)
    HASHES_QUEUED.set(hashes_queued)


def record_throttled(kind):
    if ENABLED:
        THROTTLED.labels(kind).inc()


class WebhookCollector:
    """Webhook deliveries by outcome, and the outbox's depth and lag: read from the database at each
    scrape, since the worker processes (worker.py) that deliver are not the web's."""

    def collect(self):
        import webhooks
        from database import answer_within, db
        try:  # (within /health's time: the process's own metrics must not wait on the database)
            with db.connection_context(), answer_within(settings.HEALTH_SECONDS):
                counts, (depth, lag) = webhooks.counts(), webhooks.queue_state()
        except Exception:
            return
        delivered = CounterMetricFamily('bucketlist_webhook_deliveries', 'Webhook delivery attempts, by outcome '
                                        '(delivered, failed, refused, gave_up).', labels=['outcome'])
        for outcome in webhooks.OUTCOMES:
            delivered.add_metric([outcome], counts.get(outcome, 0))
        yield delivered
        yield GaugeMetricFamily('bucketlist_webhook_queue_depth', 'Webhook messages waiting to be delivered (to '
                                'enabled webhooks).', depth)
        yield GaugeMetricFamily('bucketlist_webhook_queue_lag_seconds', 'How long the oldest due webhook message '
                                'has waited.', lag)


def exposition():
    """(content type, body) of every worker's metrics, and the webhooks', in Prometheus' text format."""
    if 'PROMETHEUS_MULTIPROC_DIR' in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    webhook_registry = CollectorRegistry()
    webhook_registry.register(WebhookCollector())
    return CONTENT_TYPE_LATEST, generate_latest(registry) + generate_latest(webhook_registry)
