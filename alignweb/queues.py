"""Celery queue names. Every logical queue ("default", "generation") is a broker queue
named ``CELERY_QUEUE_PREFIX + name``: a test run or a second deployment sharing one Redis
uses its own prefix, so no other worker can take its tasks."""

from __future__ import annotations

from collections.abc import Iterable

from kombu import Exchange, Queue


def broker_queues(prefix: str, names: Iterable[str]) -> list[Queue]:
    """One direct exchange and routing key per queue, as Celery creates missing queues."""
    return [
        Queue(f"{prefix}{n}", Exchange(f"{prefix}{n}"), routing_key=f"{prefix}{n}") for n in names
    ]


def queue_name(name: str) -> str:
    """The broker queue for a logical queue name, read at call time."""
    from django.conf import settings

    return f"{settings.CELERY_QUEUE_PREFIX}{name}"


def use_prefix(prefix: str) -> None:
    """Switch this process (settings and the Celery app) to another queue prefix; for test
    runs, which choose theirs after Django has loaded its settings."""
    from django.conf import settings

    from .celery import app

    settings.CELERY_QUEUE_PREFIX = prefix
    settings.CELERY_TASK_DEFAULT_QUEUE = queue_name("default")
    settings.CELERY_TASK_QUEUES = broker_queues(prefix, settings.CELERY_QUEUE_NAMES)
    app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    app.conf.task_queues = settings.CELERY_TASK_QUEUES
    # The queue table and router are built on first use; rebuild them from the new names.
    for cached in ("queues", "default_queue", "default_exchange", "router"):
        app.amqp.__dict__.pop(cached, None)
