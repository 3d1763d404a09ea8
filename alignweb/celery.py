"""Celery application: Redis broker in production, an embedded file broker under
`make run` (alignweb/local_broker.py), eager in tests and bare development setups."""

import os

from celery import Celery

from .local_broker import register as register_local_broker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignweb.settings")
register_local_broker()  # before any connection: makes localfs:// a known transport

app = Celery("alignweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    broker_connection_retry_on_startup=True,
    # broker_transport_options come from settings (visibility timeout, local broker folders).
    result_backend_transport_options={"visibility_timeout": 3600},
    # task_default_queue and task_queues come from settings (CELERY_QUEUE_PREFIX).
)
app.autodiscover_tasks()


@app.task(name="alignweb.health")
def health() -> str:
    """Round-trip task used by /healthz and the test suite to prove a worker is alive."""
    return "ok"
