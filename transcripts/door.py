"""A generation run that feeds a study is condition data of that study.

Its pages, run card and API go through the study's one door (``coding.services.door``):
blind members (the study's lead, adjudicators, coders) are refused until unblinding,
operators and staff say why, and every read is recorded as a key view. A run that feeds
no study is its creator's private work and needs no door.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request

from coding.door_http import door_api, door_page
from coding.services import Sealed, condition_access
from coding.services.door import DoorDecision

from .models import GenerationRun


def run_page_door(request: HttpRequest, run: GenerationRun, what: str) -> HttpResponse | None:
    """None when the page may show the run (the read is recorded), else the response."""
    if run.study_id is None:
        return None
    return door_page(request, study=run.study, what=f"generation run {run.pk}: {what}")


def run_api_door(request: Request, run: GenerationRun, what: str) -> None:
    """Pass the door for an API read of the run, or raise 403 / 400."""
    if run.study_id is not None:
        door_api(request, study=run.study, what=f"generation run {run.pk}: {what}")


def run_decision(user, run: GenerationRun) -> DoorDecision | None:
    """What the door would say for this run (None: it feeds no study). Records nothing."""
    if run.study_id is None:
        return None
    return condition_access(study=run.study, user=user)


def require_unsealed(user, run: GenerationRun) -> None:
    """Refuse actions on a run whose study is sealed to the user (nothing is read)."""
    decision = run_decision(user, run)
    if decision is not None and not decision.allowed:
        raise Sealed(decision.message)


def sealed_run_ids(user, runs: list[GenerationRun]) -> set[int]:
    """Runs (of ``runs``, with ``study`` loaded) to mask in a list: one decision per study."""
    decisions: dict[int, DoorDecision] = {}
    sealed = set()
    for run in runs:
        if run.study_id is None:
            continue
        if run.study_id not in decisions:
            decisions[run.study_id] = condition_access(study=run.study, user=user)
        decision = decisions[run.study_id]
        if not decision.allowed or decision.needs_reason:
            sealed.add(run.pk)
    return sealed
