"""Celery tasks for generation. They take ids only; claiming makes them idempotent.

``run_dispatch`` starts, for each endpoint of a run, as many *slots* as the endpoint's
concurrency allows. A ``generation_slot`` claims the next cell of its endpoint
(``select_for_update(skip_locked=True)`` under the endpoint lock), calls the model outside
any transaction, stores the result, and repeats. It sleeps through short waits and
re-enqueues itself for long ones (retry backoff, a lease held elsewhere) and after
``SLOT_SECONDS``, so no task runs long. Duplicate slots (resume, acks_late redelivery
after a crash) only compete for claims; they never call a cell twice at once.
In eager mode (no broker) each slot runs inline until its endpoint is done. When the
worker is asked to stop (Ctrl-C on ``make run``), a slot re-enqueues itself after its
current cell instead of holding the shutdown up for a minute.
"""

from __future__ import annotations

import time

from celery import shared_task
from celery.signals import worker_init
from celery.worker import state as worker_state
from django.db.models import Count

from alignweb.celery import app
from alignweb.queues import queue_name

from .claims import INLINE_WAIT, slot_drive, slot_step
from .models import ModelEndpoint, Transcript

GENERATION = "generation"
SLOT_SECONDS = 60.0  # then hand over to a fresh task (well inside the visibility timeout)


def generation_queue() -> str:
    return queue_name(GENERATION)


@worker_init.connect
def preload_sdks(sender, **kwargs) -> None:
    """A worker that takes generation tasks loads both SDKs (~2 s) before it consumes, not
    inside the first calls of a run, where every worker thread would queue on the import
    lock. Web processes, commands and other workers never import them."""
    queues = sender.app.amqp.queues
    if generation_queue() in (queues.consume_from or queues):
        from .providers import anthropic_provider, openai_provider  # noqa: F401


def _eager() -> bool:
    return bool(app.conf.task_always_eager)


def _worker_stopping() -> bool:
    # Celery sets these (0 is a valid value) when a warm or cold shutdown begins.
    return any(
        flag is not None and flag is not False
        for flag in (worker_state.should_stop, worker_state.should_terminate)
    )


@shared_task(name="transcripts.generation_slot", ignore_result=True)
def generation_slot(run_id: int, endpoint_id: int) -> None:
    if _eager():
        slot_drive(run_id=run_id, endpoint_id=endpoint_id)
        return
    deadline = time.monotonic() + SLOT_SECONDS
    while True:
        wait = slot_step(run_id=run_id, endpoint_id=endpoint_id)
        if wait is None:
            return
        if wait > INLINE_WAIT or time.monotonic() + wait > deadline or _worker_stopping():
            generation_slot.apply_async(
                (run_id, endpoint_id), countdown=wait, queue=generation_queue()
            )
            return
        if wait:
            time.sleep(wait)


@shared_task(name="transcripts.run_dispatch", ignore_result=True)
def run_dispatch(run_id: int) -> int:
    """Start the run's slots, interleaving endpoints so every endpoint begins at once."""
    unfinished = dict(
        Transcript.objects.filter(run_id=run_id, state__in=Transcript.UNFINISHED)
        .values_list("endpoint_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    limits = dict(
        ModelEndpoint.objects.filter(pk__in=unfinished).values_list("pk", "max_concurrency")
    )
    slots = {pk: min(limits[pk], n) for pk, n in unfinished.items()}
    sent = 0
    for round_ in range(max(slots.values(), default=0)):
        for endpoint_id in sorted(slots):
            if round_ < slots[endpoint_id]:
                generation_slot.apply_async((run_id, endpoint_id), queue=generation_queue())
                sent += 1
    return sent


@shared_task(name="transcripts.endpoint_check", ignore_result=True)
def endpoint_check(endpoint_id: int) -> None:
    """ "Test connection": one tiny request from a worker, where the API keys live."""
    from .endpoints import endpoint_check_perform

    endpoint_check_perform(endpoint_id=endpoint_id)


@shared_task(name="transcripts.judge_slot", ignore_result=True)
def judge_slot(run_id: int) -> None:
    """A model co-coder's slot: the same loop as ``generation_slot`` over judge cells."""
    from .judge_cells import judge_drive, judge_step

    if _eager():
        judge_drive(run_id=run_id)
        return
    deadline = time.monotonic() + SLOT_SECONDS
    while True:
        wait = judge_step(run_id=run_id)
        if wait is None:
            return
        if wait > INLINE_WAIT or time.monotonic() + wait > deadline or _worker_stopping():
            judge_slot.apply_async((run_id,), countdown=wait, queue=generation_queue())
            return
        if wait:
            time.sleep(wait)


@shared_task(name="transcripts.judge_dispatch", ignore_result=True)
def judge_dispatch(run_id: int) -> int:
    """Start as many judge slots as the endpoint's concurrency allows."""
    from .models_judge import JudgeCell, JudgeRun

    run = JudgeRun.objects.select_related("endpoint").filter(pk=run_id).first()
    if run is None:
        return 0
    unfinished = JudgeCell.objects.filter(run_id=run_id, state__in=JudgeCell.UNFINISHED).count()
    slots = min(run.endpoint.max_concurrency, unfinished)
    for _ in range(slots):
        judge_slot.apply_async((run_id,), queue=generation_queue())
    return slots
