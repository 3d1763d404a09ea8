"""Celery tasks for generation. They take ids only; claiming makes them idempotent.

``run_dispatch`` enqueues one ``generate_cell`` per unfinished cell. ``generate_cell`` does
one claim-call-store step and, if the cell needs another look (retry backoff, a lease held
elsewhere, the endpoint's concurrency limit), re-enqueues itself with a countdown. A
duplicate task (resume, acks_late redelivery after a crash) finds the cell claimed or done
and does nothing harmful. In eager mode a cell is driven to completion inline.
"""

from __future__ import annotations

from celery import shared_task

from alignweb.celery import app

from .cells import cell_drive, cell_process
from .models import Transcript

QUEUE = "generation"


def _eager() -> bool:
    return bool(app.conf.task_always_eager)


@shared_task(name="transcripts.generate_cell", ignore_result=True)
def generate_cell(transcript_id: int) -> None:
    if _eager():
        cell_drive(transcript_id=transcript_id)
        return
    delay = cell_process(transcript_id=transcript_id)
    if delay is not None:
        generate_cell.apply_async((transcript_id,), countdown=delay, queue=QUEUE)


@shared_task(name="transcripts.run_dispatch", ignore_result=True)
def run_dispatch(run_id: int) -> int:
    """Enqueue every unfinished cell of a run, interleaving endpoints so all start at once."""
    ids = list(
        Transcript.objects.filter(run_id=run_id, state__in=Transcript.UNFINISHED)
        .order_by("replicate", "prompt__code", "scaffold__code", "endpoint_id")
        .values_list("id", flat=True)
    )
    for transcript_id in ids:
        generate_cell.apply_async((transcript_id,), queue=QUEUE)
    return len(ids)
