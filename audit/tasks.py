"""Celery tasks of the audit app: agreement snapshots after submissions, debounced.

``snapshot_request(study_id)`` is called after every submission commits (and by the
agreement pages when they find the latest snapshot behind). It queues at most one
``agreement_snapshot`` per study:

- Fast path: ``cache.add("snapshot-req:<study>")`` with a timeout of the countdown. While
  the key exists a snapshot is already queued and the call returns without touching the
  database. The key expires before the queued task can start (its countdown runs from a
  later moment), and the task deletes it as it starts, so no submission is left behind.
  If the cache is down the call falls through to the database path.
- Database path: a ``SnapshotRequest`` row (unique per study) is the flag, inserted with
  get_or_create and enqueued on commit with a short countdown so a burst of submissions
  costs one computation. The task deletes the flag as its first step, so a submission
  made while it computes queues exactly one follow-up run. A flag older than
  ``STALE_AFTER`` (its task was lost) is taken over by a compare-and-set update.
- Adaptive delay: the countdown is at least ten times what the study's last snapshot
  took (``DUTY_FACTOR``), so under continuous coding a large study's snapshots use at
  most about a tenth of the worker's time instead of recomputing back to back.
- Publishing fails fast: one connection attempt and no publish retries (kombu would
  otherwise sleep ~0.6 s per submission while the broker is down). A failed publish
  releases the flag and the cache key, and opens a per-process circuit breaker: for
  ``BREAKER_SECONDS`` later requests skip publishing (and the database) entirely. The
  next submission or dashboard visit after that queues the snapshot again.

No request computes a snapshot: the agreement pages show the latest one with the
number of submissions since (or a "computing" state that polls) and request a refresh,
undelayed when there is nothing to show yet or the study is closed (see
``audit.services.snapshot_current``).
"""

from __future__ import annotations

import logging
import math
import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from coding.models import Study

from .models import SnapshotRequest

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)
BREAKER_SECONDS = 30.0
URGENT_SECONDS = 10  # at most one undelayed snapshot per study this often
DUTY_FACTOR = 10  # wait at least this many times the last computation's duration
# Broker URL -> time.monotonic() until which publishing is skipped. Per process: while
# Redis is down the shared cache is down too, so it could not hold this state.
_broker_down_until: dict[str, float] = {}


def _countdown() -> int:
    return int(getattr(settings, "AGREEMENT_SNAPSHOT_COUNTDOWN", 5))


def _cache_key(study_id: int) -> str:
    return f"snapshot-req:{study_id}"


def _cost_key(study_id: int) -> str:
    return f"snapshot-seconds:{study_id}"


def _delay(study_id: int) -> int:
    """Seconds before the queued snapshot runs: the countdown, stretched for costly ones."""
    try:
        last = float(cache.get(_cost_key(study_id)) or 0.0)
    except Exception:  # noqa: BLE001 - without the cache, the plain countdown
        last = 0.0
    return max(_countdown(), math.ceil(DUTY_FACTOR * last))


def _eager() -> bool:
    return bool(agreement_snapshot.app.conf.task_always_eager)


def _broker_key() -> str:
    conf = agreement_snapshot.app.conf
    return str(conf.broker_write_url or conf.broker_url or "")


def publishing_paused() -> bool:
    """Whether a recent broker failure makes snapshot requests skip publishing for now."""
    if _eager():
        return False
    return _broker_down_until.get(_broker_key(), 0.0) > time.monotonic()


def snapshot_request(study_id: int, *, urgent: bool = False, by_id: int | None = None) -> bool:
    """Queue one agreement snapshot for the study unless one is already queued.

    Returns True when this call queued it; False when one is already queued or while
    publishing is paused after a broker failure. The enqueue happens on commit of the
    surrounding transaction (immediately in autocommit); a failed enqueue raises there.

    ``urgent`` (a page with nothing to show, a closed study, "Recompute now") queues it
    without the debounce delay, at most once per ``URGENT_SECONDS`` per study; ``by_id``
    is the user on whose behalf it runs (the condition read of an unblinded study is
    logged under their name).
    """
    if publishing_paused():
        return False
    if urgent and _urgent_slot(study_id):
        try:  # debounced requests wait for this one (the task deletes the key as it starts)
            cache.set(_cache_key(study_id), 1, timeout=URGENT_SECONDS)
        except Exception:  # noqa: BLE001
            log.debug("snapshot request cache unavailable", exc_info=True)
        transaction.on_commit(lambda: _enqueue(study_id, 0, by_id))
        return True
    try:
        if not cache.add(_cache_key(study_id), 1, timeout=max(1, _countdown())):
            return False
    except Exception:  # noqa: BLE001 - the cache is an optimisation; the flag decides
        log.debug("snapshot request cache unavailable", exc_info=True)
    now = timezone.now()
    try:
        with transaction.atomic():
            _, created = SnapshotRequest.objects.get_or_create(
                study_id=study_id, defaults={"requested_at": now}
            )
    except IntegrityError:  # the study is gone, or a concurrent insert won the race
        return False
    if not created:
        taken = SnapshotRequest.objects.filter(
            study_id=study_id, requested_at__lt=now - STALE_AFTER
        ).update(requested_at=now)
        if not taken:
            return False
    delay = _delay(study_id)
    if delay > _countdown():
        try:  # the fast-path key covers the whole (longer) wait
            cache.set(_cache_key(study_id), 1, timeout=delay)
        except Exception:  # noqa: BLE001
            log.debug("snapshot request cache unavailable", exc_info=True)
    transaction.on_commit(lambda: _enqueue(study_id, delay, by_id))
    return True


def _urgent_slot(study_id: int) -> bool:
    """Whether an undelayed snapshot may be queued now (one per ``URGENT_SECONDS``).

    Without the cache, False: the debounced database path decides instead.
    """
    try:
        return bool(cache.add(f"snapshot-now:{study_id}", 1, timeout=URGENT_SECONDS))
    except Exception:  # noqa: BLE001
        log.debug("snapshot request cache unavailable", exc_info=True)
        return False


def _release(study_id: int) -> None:
    """Drop the debounce flag and cache key so a later request can queue again."""
    SnapshotRequest.objects.filter(study_id=study_id).delete()
    try:
        cache.delete(_cache_key(study_id))
    except Exception:  # noqa: BLE001 - an unreachable cache holds no key to release
        log.debug("snapshot request cache unavailable", exc_info=True)


def _enqueue(study_id: int, delay: int, by_id: int | None = None) -> None:
    options: dict = {"args": [study_id], "countdown": delay}
    if by_id is not None:
        options["kwargs"] = {"by_id": by_id}
    try:
        if _eager():
            agreement_snapshot.apply_async(**options)
            return
        app = agreement_snapshot.app
        with app.producer_or_acquire() as producer:
            # One connection attempt, no sleeps: an outage costs a submission ~1 ms.
            producer.connection.ensure_connection(max_retries=0)
            agreement_snapshot.apply_async(**options, retry=False, producer=producer)
    except Exception:
        if not _eager():
            _broker_down_until[_broker_key()] = time.monotonic() + BREAKER_SECONDS
        # Release the flag so a request after the pause can try again; the caller logs.
        _release(study_id)
        raise


@shared_task(name="audit.agreement_snapshot", acks_late=True, ignore_result=True)
def agreement_snapshot(study_id: int, by_id: int | None = None) -> int | None:
    """Recompute the study's agreement snapshot if it is stale; returns the snapshot id."""
    from django.contrib.auth import get_user_model

    from .services import snapshot_refresh

    _release(study_id)
    study = Study.objects.select_related("rubric").filter(pk=study_id).first()
    if study is None:
        return None
    started = time.perf_counter()
    by = get_user_model().objects.filter(pk=by_id).first() if by_id is not None else None
    snapshot = snapshot_refresh(study=study, by=by)
    try:
        cache.set(_cost_key(study_id), time.perf_counter() - started, timeout=24 * 3600)
    except Exception:  # noqa: BLE001 - only the next delay depends on it
        log.debug("snapshot cost not recorded", exc_info=True)
    if snapshot is not None:
        log.info("agreement snapshot %s for study %s", snapshot.pk, study_id)
    return snapshot.pk if snapshot else None


@shared_task(name="audit.blinding_check", acks_late=True, ignore_result=True)
def blinding_check_task(check_id: int) -> None:
    """Run one queued blinding check (see ``audit.services_blinding``)."""
    from .services_blinding import blinding_check_run

    blinding_check_run(check_id=check_id)
