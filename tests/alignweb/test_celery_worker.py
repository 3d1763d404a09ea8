"""A real Celery worker on Redis answers the health task and /healthz sees it."""

import pytest
from django.urls import reverse

from alignweb.celery import app


@pytest.mark.services
@pytest.mark.xdist_group("live_worker")  # one Redis: live workers run serially
def test_live_worker_runs_health_task(live_worker, client):
    result = app.send_task("alignweb.health", queue="default")
    assert result.get(timeout=10, disable_sync_subtasks=False) == "ok"
    body = client.get(reverse("healthz")).json()
    assert body["broker"]["ok"] is True
    assert body["workers"]["count"] >= 1


def test_celery_reliability_settings():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
