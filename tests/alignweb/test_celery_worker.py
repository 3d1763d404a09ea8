"""A real Celery worker on Redis answers the health task and /healthz sees it; each test
run has queues of its own on the shared Redis."""

import os

import pytest
from django.urls import reverse

from alignweb.celery import app, health
from alignweb.queues import queue_name
from tests.conftest import need, redis_answers, redis_url
from transcripts.tasks import generation_queue, run_dispatch


@pytest.mark.services
@pytest.mark.xdist_group("live_worker")  # one Redis: live workers run serially
def test_live_worker_runs_health_task(live_worker, client):
    result = app.send_task("alignweb.health", queue=queue_name("default"))
    assert result.get(timeout=10, disable_sync_subtasks=False) == "ok"
    body = client.get(reverse("healthz")).json()
    assert body["broker"]["ok"] is True
    assert body["workers"]["count"] >= 1


def test_celery_reliability_settings():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_tasks_sent_by_the_suite_go_to_this_runs_queues():
    """A stray worker on the plain queues (``-Q default,generation``), or one started by
    another run, never sees this run's tasks: they wait in ``<run prefix><queue>``."""
    import redis

    url = redis_url()
    need(redis_answers(url), "needs Redis (set CELERY_BROKER_URL)", "REQUIRE_SERVICES")
    prefix = os.environ["CELERY_QUEUE_PREFIX"]
    assert prefix.startswith("test-")
    assert app.conf.task_default_queue == f"{prefix}default"
    assert generation_queue() == f"{prefix}generation"
    broker = redis.Redis.from_url(url)
    shared = {name: broker.llen(name) for name in ("default", "generation")}
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        health.delay()  # the default queue, as .delay() in services sends
        run_dispatch.apply_async((0,), queue=generation_queue())  # as run_start sends
        assert broker.llen(f"{prefix}default") == 1
        assert broker.llen(f"{prefix}generation") == 1
        assert {name: broker.llen(name) for name in shared} == shared
    finally:
        app.conf.task_always_eager = eager
        broker.delete(f"{prefix}default", f"{prefix}generation")
