"""Celery tasks of the audit app: agreement snapshots after submissions, debounced.

``snapshot_request(study_id)`` is called after every submission commits. It queues at
most one ``agreement_snapshot`` per study: a ``SnapshotRequest`` row (unique per study)
is the flag, inserted with get_or_create and enqueued on commit with a short countdown
so a burst of submissions costs one computation. The task deletes the flag as its first
step, so a submission made while it computes queues exactly one follow-up run. A flag
older than ``STALE_AFTER`` (its task was lost, e.g. a broker outage) is taken over by a
compare-and-set update. The dashboard also recomputes synchronously when the latest
snapshot is stale, so a lost task never shows old numbers.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from coding.models import Study

from .models import SnapshotRequest

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=10)


def _countdown() -> int:
    return int(getattr(settings, "AGREEMENT_SNAPSHOT_COUNTDOWN", 5))


def snapshot_request(study_id: int) -> bool:
    """Queue one agreement snapshot for the study unless one is already queued.

    Returns True when this call queued it. The enqueue happens on commit of the
    surrounding transaction (immediately in autocommit).
    """
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
    transaction.on_commit(lambda: _enqueue(study_id))
    return True


def _enqueue(study_id: int) -> None:
    try:
        agreement_snapshot.apply_async(args=[study_id], countdown=_countdown())
    except Exception:
        # Release the flag so the next submission can try again; the caller logs.
        SnapshotRequest.objects.filter(study_id=study_id).delete()
        raise


@shared_task(name="audit.agreement_snapshot", acks_late=True, ignore_result=True)
def agreement_snapshot(study_id: int) -> int | None:
    """Recompute the study's agreement snapshot if it is stale; returns the snapshot id."""
    from .services import snapshot_refresh

    SnapshotRequest.objects.filter(study_id=study_id).delete()
    study = Study.objects.select_related("rubric").filter(pk=study_id).first()
    if study is None:
        return None
    snapshot = snapshot_refresh(study=study, by=None)
    if snapshot is not None:
        log.info("agreement snapshot %s for study %s", snapshot.pk, study_id)
    return snapshot.pk if snapshot else None
