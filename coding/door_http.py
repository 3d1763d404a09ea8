"""The condition-data door (``coding.services.door``) for pages and the API.

A page that shows condition-bearing data calls ``door_page`` first: it either records
the key view and returns None (go ahead), or returns the response to send instead (a
form asking why, or a page saying the data is sealed to this reader). The reason comes
from ``?reason=`` and is remembered for that study in the session for an hour, so
paging through a run's transcripts asks once while every page view is still recorded.
The API takes ``?reason=`` (or an ``X-Key-Reason`` header) on every request.
"""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request

from coding.models import Study
from coding.services import ReasonRequired, Sealed, ServiceError, condition_data_open

# Documented on every API endpoint that passes the door.
REASON_PARAM = OpenApiParameter(
    "reason",
    str,
    description="Why you read condition data of a blinded study (required for generation "
    "operators and staff until unblinding; recorded as a key view). Or header X-Key-Reason.",
)
SESSION_KEY = "key_reasons"
REASON_TTL = 3600  # seconds a stated reason covers further reads of the same study


def _remembered(request: HttpRequest, study_id: int) -> str:
    entry = (request.session.get(SESSION_KEY) or {}).get(str(study_id))
    if not entry or time.time() - entry.get("at", 0) > REASON_TTL:
        return ""
    return str(entry.get("reason", ""))


def _remember(request: HttpRequest, study_id: int, reason: str) -> None:
    reasons = dict(request.session.get(SESSION_KEY) or {})
    reasons[str(study_id)] = {"reason": reason, "at": time.time()}
    request.session[SESSION_KEY] = reasons


def page_reason(request: HttpRequest, study_id: int) -> str:
    """The reason given with this request (``?reason=``) or earlier for this study."""
    return request.GET.get("reason", "").strip() or _remembered(request, study_id)


def door_refusal(
    request: HttpRequest, *, study: Study, what: str, exc: ServiceError
) -> HttpResponse:
    """The page shown instead of condition data: sealed, or a form asking why."""
    if isinstance(exc, Sealed):
        ctx = {"study": study, "what": what, "message": str(exc)}
        return render(request, "coding/door_sealed.html", ctx, status=403)
    if isinstance(exc, ReasonRequired):
        ctx = {"study": study, "what": what, "message": str(exc), "error": ""}
        return render(request, "coding/door_reason.html", ctx, status=403)
    ctx = {"study": study, "what": what, "message": "", "error": str(exc)}
    return render(request, "coding/door_reason.html", ctx, status=400)


def door_passed(request: HttpRequest, study_id: int, reason: str) -> None:
    """Remember the reason that opened the door, for further pages of the same study."""
    if reason:
        _remember(request, study_id, reason)


def door_page(
    request: HttpRequest,
    *,
    study: Study,
    what: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> HttpResponse | None:
    """Pass the door for a page view: None (recorded, go ahead) or the response to send."""
    reason = page_reason(request, study.pk)
    try:
        condition_data_open(
            study=study, by=request.user, what=what, reason=reason, target=target, detail=detail
        )
    except ServiceError as exc:
        return door_refusal(request, study=study, what=what, exc=exc)
    door_passed(request, study.pk, reason)
    return None


def api_reason(request: Request) -> str:
    return request.query_params.get("reason") or request.headers.get("X-Key-Reason", "")


def api_refusal(exc: ServiceError) -> Exception:
    """The DRF error for a refused door: 403 when sealed, 400 when a reason is missing."""
    if isinstance(exc, Sealed):
        return PermissionDenied(str(exc))
    return ValidationError({"reason": [str(exc)]})


def door_api(
    request: Request,
    *,
    study: Study,
    what: str,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    """Pass the door for an API call, or raise 403 (sealed) / 400 (say why)."""
    try:
        condition_data_open(
            study=study,
            by=request.user,
            what=what,
            reason=api_reason(request),
            target=target,
            detail=detail,
        )
    except ServiceError as exc:
        raise api_refusal(exc)
