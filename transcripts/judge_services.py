"""Writes for model co-coders: start, cancel and retry a judge run; opt its scores in or out.

A lead attaches one of their own endpoints to a study they lead; every item of the study
becomes a cell, and the run is enqueued on the generation queue after commit (Celery
workers run it; in eager mode it runs inline). Errors are ``ServiceError`` messages safe
to show. Every change is recorded in the study's event log.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from alignweb.version import code_version
from coding.models import Event, Item, Study
from coding.services import ServiceError, event_record

from .judge_cells import DEFAULT_FORMAT_ATTEMPTS, rubric_dimensions
from .judge_inclusion import judge_inclusion_remove, judge_inclusion_sync
from .judge_prompt import PROMPT_VERSION, instructions, sha256_text
from .models import ModelEndpoint
from .models_judge import JudgeCell, JudgeRun
from .providers.retry import RetryPolicy
from .tasks import generation_queue, judge_dispatch

JUDGEABLE = (Study.Status.OPEN, Study.Status.LOCKED, Study.Status.UNBLINDED)
MAX_FORMAT_ATTEMPTS = 5


def _enqueue(run: JudgeRun) -> None:
    run_id = run.pk
    transaction.on_commit(lambda: judge_dispatch.apply_async((run_id,), queue=generation_queue()))


def judge_run_create(
    *,
    study: Study,
    endpoint: ModelEndpoint,
    by,
    temperature: float = 0.0,
    max_tokens: int = 1024,
    seed: int | None = None,
    format_attempts: int = DEFAULT_FORMAT_ATTEMPTS,
    policy: dict[str, Any] | None = None,
    dispatch: bool = True,
) -> JudgeRun:
    """Score every item of ``study`` with ``endpoint`` as one more, blinded coder.

    The caller has checked that ``by`` leads the study. ``dispatch=False`` leaves the
    cells for the caller to drive (the in-process demo).
    """
    if endpoint.created_by_id != by.pk:
        raise ServiceError("You can only use your own endpoints.")
    if study.status not in JUDGEABLE:
        raise ServiceError("Open the study first: a model co-coder scores its items.")
    if not 0 <= float(temperature) <= 2:
        raise ServiceError("Temperature must be between 0 and 2.")
    if not 64 <= int(max_tokens) <= 16_000:
        raise ServiceError("Max tokens must be between 64 and 16000.")
    if not 1 <= int(format_attempts) <= MAX_FORMAT_ATTEMPTS:
        raise ServiceError(f"Format attempts must be between 1 and {MAX_FORMAT_ATTEMPTS}.")
    items = list(
        Item.objects.filter(study=study).order_by("public_code").values_list("pk", "content_sha256")
    )
    if not items:
        raise ServiceError("The study has no items to score.")
    dims = rubric_dimensions(study.rubric_id)
    system = instructions(dims)
    lease = endpoint.timeout_seconds + 30
    retry = RetryPolicy.from_dict({"max_attempts": 4, "lease_seconds": lease, **(policy or {})})
    commit, _dirty = code_version()
    with transaction.atomic():
        run = JudgeRun.objects.create(
            study=study,
            endpoint=endpoint,
            created_by=by,
            rubric_id=study.rubric_id,
            rubric_version=study.rubric.version,
            instructions=system,
            instructions_sha256=sha256_text(system),
            config={
                "temperature": float(temperature),
                "max_tokens": int(max_tokens),
                **({"seed": int(seed)} if seed is not None else {}),
                "prompt_version": PROMPT_VERSION,
            },
            policy={**retry.as_dict(), "format_attempts": int(format_attempts)},
            seed=secrets.randbelow(2**31) if seed is None else int(seed),
            code_commit=commit,
        )
        JudgeCell.objects.bulk_create(
            [JudgeCell(run=run, item_id=pk, content_sha256=sha) for pk, sha in items],
            batch_size=1000,
        )
        event_record(
            verb=Event.Verb.JUDGE_RUN_START,
            actor=by,
            study=study,
            target=f"judge run {run.pk}",
            payload={
                "endpoint": endpoint.name,
                "model": endpoint.model,
                "items": len(items),
                "instructions_sha256": run.instructions_sha256,
                "temperature": float(temperature),
            },
        )
        if dispatch:
            _enqueue(run)
    return run


def judge_run_cancel(*, run: JudgeRun, by) -> JudgeRun:
    """Stop a running judge run; cells in flight finish, nothing new is claimed."""
    with transaction.atomic():
        JudgeRun.objects.filter(pk=run.pk, status=JudgeRun.Status.RUNNING).update(
            status=JudgeRun.Status.CANCELLED, finished_at=timezone.now()
        )
        event_record(verb=Event.Verb.JUDGE_RUN_CANCEL, actor=by, study=run.study, target=str(run))
    run.refresh_from_db()
    return run


def judge_run_retry_failed(*, run: JudgeRun, by) -> int:
    """Give the failed cells a fresh start (attempts and malformed-reply count reset)."""
    with transaction.atomic():
        n = JudgeCell.objects.filter(run=run, state=JudgeCell.State.FAILED).update(
            state=JudgeCell.State.PENDING,
            attempts=0,
            attempt_log=[],
            not_before=None,
            first_attempt_at=None,
            finished_at=None,
        )
        if not n:
            return 0
        JudgeRun.objects.filter(pk=run.pk).update(status=JudgeRun.Status.RUNNING, finished_at=None)
        event_record(
            verb=Event.Verb.JUDGE_RUN_RETRY,
            actor=by,
            study=run.study,
            target=str(run),
            payload={"cells": n},
        )
        _enqueue(run)
    return n


def judge_counts_as_coder_set(*, run: JudgeRun, include: bool, by) -> JudgeRun:
    """The explicit study setting: do this run's scores count as one more coder?

    Opting in files its accepted scores as a bot coder's submitted assignments, so they
    enter agreement, reconciliation and exports; opting out removes them again
    (reconciliation decisions already recorded stay). Only while the study is open.
    """
    study = run.study
    if study.status != Study.Status.OPEN:
        raise ServiceError(
            "Model scores can be counted as a coder (or removed) only while the study is open."
        )
    with transaction.atomic():
        locked = JudgeRun.objects.select_for_update().get(pk=run.pk)
        if locked.counts_as_coder == include:
            return locked
        if include:
            if JudgeRun.objects.filter(study=study, counts_as_coder=True).exists():
                raise ServiceError("Another model co-coder already counts as a coder here.")
            JudgeRun.objects.filter(pk=run.pk).update(counts_as_coder=True)
            locked.counts_as_coder = True
            n = judge_inclusion_sync(run=locked)
        else:
            n = judge_inclusion_remove(run=locked)
            JudgeRun.objects.filter(pk=run.pk).update(counts_as_coder=False)
            locked.counts_as_coder = False
        event_record(
            verb=Event.Verb.JUDGE_INCLUDE if include else "judge_exclude",
            actor=by,
            study=study,
            target=str(run),
            payload={"assignments": n},
        )
    return locked
