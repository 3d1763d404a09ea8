"""After a restart: running runs go on where they stopped (``manage.py generation_recover``).

Cells live in the database with leases, not in the broker, so nothing is lost when a
worker dies: dispatching a running run again starts fresh slots, which reclaim the dead
worker's cells once their leases end, or at once when ``expire_leases`` says no worker of
before survives (``make run`` starts its only worker after this).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from .cells import finish_run_if_done
from .models import GenerationRun, Transcript
from .services import _enqueue_on_commit, _history_add


def runs_recover(*, expire_leases: bool) -> int:
    """After a restart: dispatch every running run again; returns how many.

    ``expire_leases``: no worker that ran before is still alive, so cells they had claimed
    are reclaimable now instead of when their lease runs out. Each such cell's lost call
    counts as an attempt.
    """
    running = GenerationRun.objects.filter(status=GenerationRun.Status.RUNNING)
    for run_id in running.values_list("pk", flat=True):
        finish_run_if_done(run_id)  # the worker may have died right after the last cell
    runs = list(running.filter(transcripts__state__in=Transcript.UNFINISHED).distinct())
    for run in runs:
        with transaction.atomic():
            if expire_leases:
                Transcript.objects.filter(run=run, state=Transcript.State.CLAIMED).update(
                    lease_expires_at=timezone.now()
                )
            _history_add(run.pk, "recovered", expired_leases=expire_leases)
            _enqueue_on_commit(run)
    return len(runs)
