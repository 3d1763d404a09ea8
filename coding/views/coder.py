"""Coder-facing views: queue and coding page. Blind by construction: these views only
read the coder's own assignment and the scrubbed item content, never the key or others."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coding import selectors
from coding.models import Membership, Study
from coding.page_fragments import item_html, rubric_form_html
from coding.permissions import access_assignment, access_study
from coding.selectors.gold import coder_qualification, gold_feedback
from coding.services import Conflict, ServiceError, score_autosave, score_submit
from coding.services.gold import assignment_released, coder_released

CODER = [Membership.Role.CODER]
NOT_SAVED = (
    "Not saved: the database did not answer. Your answers are still on this page; "
    "retry in a few seconds."
)
log = logging.getLogger(__name__)


def _retry_later(response: HttpResponse) -> HttpResponse:
    response["Retry-After"] = "5"
    return response


@login_required
def queue(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=CODER)
    if study.kind == Study.Kind.PAIRWISE:
        return redirect("coding:pair-queue", study.pk)
    done, total = selectors.coder_progress(study=study, coder=request.user)
    assignments = selectors.coder_queue(study=study, coder=request.user)
    ctx = {"study": study, "assignments": assignments, "done": done, "total": total}
    if not coder_released(study=study, coder=request.user):
        ctx["qualification"] = coder_qualification(study=study, coder=request.user)
    return render(request, "coding/queue.html", ctx)


@login_required
def next_item(request: HttpRequest, study_id: int) -> HttpResponse:
    study = access_study(request.user, study_id, roles=CODER)
    if study.kind == Study.Kind.PAIRWISE:
        return redirect("coding:next-pair", study.pk)
    return _to_next(request, study)


def _values_from(post) -> dict[str, dict]:
    values: dict[str, dict] = {}
    for key in post:
        if key.startswith("value_"):
            values.setdefault(key[6:], {})["value"] = post.get(key)
        elif key.startswith("rationale_"):
            values.setdefault(key[10:], {})["rationale"] = post.get(key)
    return values


def _version(post) -> int:
    try:
        return int(post.get("version", ""))
    except ValueError:
        return -1


def _page_context(request: HttpRequest, assignment, error: str = "", posted=None) -> dict:
    study = assignment.item.study
    done, total = selectors.coder_progress(study=study, coder=request.user)
    locked = assignment.status == assignment.Status.SUBMITTED
    return {
        "study": study,
        "assignment": assignment,
        "item": assignment.item,
        "transcript_html": item_html(assignment.item),
        "rubric_html": rubric_form_html(
            study.rubric,
            scores=selectors.assignment_scores(assignment=assignment),
            posted=posted or {},
            locked=locked,
        ),
        "done": done,
        "total": total,
        "error": error,
        "locked": locked,
    }


def _own_assignment(request: HttpRequest, study_id: int, code: str):
    """The coder's assignment for ``code`` inside this study, or 404 (one query)."""
    assignment = access_assignment(request.user, code, study_id=study_id)
    if not assignment_released(assignment):
        raise Http404("No such item.")
    return assignment.item.study, assignment


@login_required
def code_item(request: HttpRequest, study_id: int, code: str) -> HttpResponse:
    _study, assignment = _own_assignment(request, study_id, code)
    return render(request, "coding/code_item.html", _page_context(request, assignment))


@login_required
@require_POST
def save_item(request: HttpRequest, study_id: int, code: str) -> HttpResponse:
    """htmx autosave of a draft; 409 when another tab saved first."""
    _study, assignment = _own_assignment(request, study_id, code)
    status, error = 200, ""
    try:
        assignment = score_autosave(
            assignment=assignment,
            values=_values_from(request.POST),
            expected_version=_version(request.POST),
            by=request.user,
        )
    except Conflict as exc:
        status, error = 409, str(exc)
    except ServiceError as exc:
        status, error = 400, str(exc)
    except DatabaseError:
        log.warning("autosave failed: database error", exc_info=True)
        status, error = 503, NOT_SAVED
    response = render(
        request,
        "coding/_partials/save_state.html",
        {"assignment": assignment, "error": error, "conflict": status == 409},
        status=status,
    )
    return _retry_later(response) if status == 503 else response


@login_required
@require_POST
def submit_item(request: HttpRequest, study_id: int, code: str) -> HttpResponse:
    study, assignment = _own_assignment(request, study_id, code)
    try:
        score_submit(
            assignment=assignment,
            values=_values_from(request.POST),
            expected_version=_version(request.POST),
            by=request.user,
        )
    except Conflict as exc:
        assignment.refresh_from_db()
        ctx = _page_context(request, assignment, error=str(exc))
        return render(request, "coding/code_item.html", ctx, status=409)
    except ServiceError as exc:
        ctx = _page_context(request, assignment, error=str(exc), posted=_values_from(request.POST))
        return render(request, "coding/code_item.html", ctx, status=400)
    except DatabaseError:
        # Nothing was committed (one transaction). Show the page again with what the coder
        # sent, so a retry is one keypress; fall back to plain text if the DB is still gone.
        log.warning("submit failed: database error", exc_info=True)
        try:
            ctx = _page_context(
                request, assignment, error=NOT_SAVED, posted=_values_from(request.POST)
            )
            response = render(request, "coding/code_item.html", ctx, status=503)
        except DatabaseError:
            response = HttpResponse(NOT_SAVED, status=503, content_type="text/plain")
        return _retry_later(response)
    messages.success(request, f"Item {code} submitted.")
    assignment.refresh_from_db()
    if gold_feedback(assignment=assignment) is not None:  # training mode, gold item
        return redirect("coding:gold-feedback", study.pk, code)
    return _to_next(request, study)


def _to_next(request: HttpRequest, study) -> HttpResponse:
    """Straight to the coder's next open item (saves the /next/ round trip), or the queue."""
    assignment = selectors.next_assignment(study=study, coder=request.user)
    if assignment is None:
        messages.success(request, "All your items are coded. Thank you!")
        return redirect("coding:queue", study.pk)
    return redirect("coding:code-item", study.pk, assignment.item.public_code)
