"""Errors every app's services raise, and the one place the API turns them into responses.

Services raise ``ServiceError`` (a broken rule; its message is safe to show) or one of its
kinds. Each kind carries the HTTP status the API answers with, so no view translates
errors itself: ``api_exception_handler`` (DRF's ``EXCEPTION_HANDLER``) maps them all, and
HTML views show the message on the page they were rendering.
"""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.views import exception_handler as drf_exception_handler


class ServiceError(Exception):
    """A rule was broken; the message is safe to show to the user (HTTP 400)."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"


class Conflict(ServiceError):
    """Someone else changed the object first (optimistic locking); reload and retry (409)."""

    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class Forbidden(ServiceError):
    """The reader is a member but this rule keeps the data from them (403)."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"


def _api_error(exc: ServiceError) -> APIException:
    detail: Any = str(exc)
    errors = getattr(exc, "errors", None)
    if errors is not None:  # per-row import errors travel with the message
        detail = {"detail": str(exc), "errors": list(errors)}
    error = APIException(detail, code=exc.code)
    error.status_code = exc.status_code
    return error


def api_exception_handler(exc: Exception, context: dict) -> Any:
    """DRF's handler, after turning a service's error into the API error of its kind."""
    if isinstance(exc, ServiceError):
        exc = _api_error(exc)
    return drf_exception_handler(exc, context)
