"""Coder-facing pairwise pages: the pair queue and the side-by-side comparison page.

Blind like ``coding/views.py``: only the coder's own pair assignments, the two scrubbed
items (shown as A and B, without their item codes) and the coder's own choices are read.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from alignweb.permissions import access_pair_assignment, access_study
from coding.models import Membership, PairAssignment, PairJudgment

from . import selectors_pairwise as sel
from .page_fragments import item_html
from .rubric_cache import rubric_dimensions
from .services import Conflict, ServiceError, pair_judgment_submit

CODER = [Membership.Role.CODER]
CHOICES = [(c.value, c.label) for c in PairJudgment.Choice]


def _choices_from(post) -> dict[str, str]:
    return {key[7:]: post.get(key) for key in post if key.startswith("choice_")}


def _version(post) -> int:
    try:
        return int(post.get("version", ""))
    except ValueError:
        return -1


def _page(request: HttpRequest, assignment: PairAssignment, error: str = "", posted=None) -> dict:
    study = assignment.pair.study
    left, right = sel.pair_sides(assignment=assignment)
    locked = assignment.status == PairAssignment.Status.SUBMITTED
    chosen = sel.pair_choices(assignment=assignment) if locked else (posted or {})
    done, total = sel.pair_progress(study=study, coder=request.user)
    dims = [{"d": d, "chosen": chosen.get(d.code, "")} for d in rubric_dimensions(study.rubric)]
    return {
        "study": study,
        "assignment": assignment,
        "pair": assignment.pair,
        "left_html": item_html(left),
        "right_html": item_html(right),
        "dims": dims,
        "done": done,
        "total": total,
        "error": error,
        "locked": locked,
    }


@login_required
def pair_queue(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=CODER)
    done, total = sel.pair_progress(study=study, coder=request.user)
    ctx = {
        "study": study,
        "assignments": sel.pair_queue(study=study, coder=request.user),
        "done": done,
        "total": total,
    }
    return render(request, "coding/pair_queue.html", ctx)


@login_required
def next_pair(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=CODER)
    return _to_next(request, study)


@login_required
def code_pair(request: HttpRequest, study_id: int, code: str) -> HttpResponse:
    assignment = access_pair_assignment(request.user, code, study_id)
    return render(request, "coding/code_pair.html", _page(request, assignment))


@login_required
@require_POST
def submit_pair(request: HttpRequest, study_id: int, code: str) -> HttpResponse:
    assignment = access_pair_assignment(request.user, code, study_id)
    posted = _choices_from(request.POST)
    try:
        pair_judgment_submit(
            assignment=assignment,
            choices=posted,
            expected_version=_version(request.POST),
            by=request.user,
        )
    except Conflict as exc:
        assignment.refresh_from_db()
        return render(
            request, "coding/code_pair.html", _page(request, assignment, str(exc)), status=409
        )
    except ServiceError as exc:
        ctx = _page(request, assignment, str(exc), posted=posted)
        return render(request, "coding/code_pair.html", ctx, status=400)
    messages.success(request, f"Pair {code} submitted.")
    return _to_next(request, assignment.pair.study)


def _to_next(request: HttpRequest, study) -> HttpResponse:
    assignment = sel.next_pair(study=study, coder=request.user)
    if assignment is None:
        messages.success(request, "All your pairs are judged. Thank you!")
        return redirect("coding:pair-queue", study.pk)
    return redirect("coding:code-pair", study.pk, assignment.pair.public_code)
