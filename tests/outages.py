"""Simulated outages shared by the fault-injection and snapshot-task tests."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock


def down_redis_url() -> str:
    """A Redis URL on a loopback port nothing listens on (bound, then released).

    The unique password keeps kombu's process-wide pools (keyed by host, port and
    credentials) from handing a later test the pool of an earlier outage.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://:outage-{uuid.uuid4().hex[:12]}@127.0.0.1:{port}/0"


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point the Celery app at another broker (not eager); its pools follow."""
    from alignweb.celery import app

    saved = (app.conf.broker_url, app.conf.task_always_eager, app._pool, app.amqp._producer_pool)
    app.conf.broker_url, app.conf.task_always_eager = url, False
    app._pool = app.amqp._producer_pool = None  # both were bound to the old broker
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    env = {"CELERY_BROKER_URL": url, "CELERY_BROKER_WRITE_URL": url}
    try:
        with mock.patch.dict(os.environ, env):
            yield
    finally:
        (
            app.conf.broker_url,
            app.conf.task_always_eager,
            app._pool,
            app.amqp._producer_pool,
        ) = saved
