"""Celery application: Redis broker in production, eager in local development."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignweb.settings")

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
    # Longer than the longest task (a generation cell is capped well below this).
    broker_transport_options={"visibility_timeout": 3600},
    result_backend_transport_options={"visibility_timeout": 3600},
    task_default_queue="default",
)
app.autodiscover_tasks()


@app.task(name="alignweb.health")
def health() -> str:
    """Round-trip task used by /healthz and the test suite to prove a worker is alive."""
    return "ok"
