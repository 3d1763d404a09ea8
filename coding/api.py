"""Shared pieces of the coding REST API: error mapping and whitelisted ordering/filters.

The endpoints live in ``api_studies.py`` (studies, members, import, rubrics, lead item
view), ``api_coding.py`` (a coder's own queue, drafts and submissions) and
``api_reconcile.py`` (reconciliation, locking, unblinding, exports). All of them fetch
objects through ``alignweb.permissions`` (404 for non-members and wrong roles) and call
the same services and selectors as the HTML views.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from django.db.models import QuerySet
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from coding.models import Membership

from .services import Conflict, ImportRejected, ServiceError

CODER = (Membership.Role.CODER,)


class ConflictError(APIException):
    """HTTP 409: someone changed the object first (optimistic locking) or the state forbids it."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


class RuleError(APIException):
    """HTTP 400 carrying a service's user-safe message."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Bad request."
    default_code = "invalid"


@contextmanager
def service_errors() -> Iterator[None]:
    """Translate service exceptions into API errors: Conflict -> 409, others -> 400.

    An ``ImportRejected`` keeps its per-row list: ``{"detail": ..., "errors": [...]}``.
    """
    try:
        yield
    except Conflict as exc:
        raise ConflictError(str(exc))
    except ImportRejected as exc:
        raise RuleError({"detail": str(exc), "errors": list(exc.errors)})
    except ServiceError as exc:
        raise RuleError(str(exc))


def ordering_fields(
    request: Request, allowed: Mapping[str, Sequence[str]], default: str
) -> list[str]:
    """ORM ordering for ``?ordering=``, only through an explicit whitelist.

    The query value is a key of ``allowed``, never an ORM path: ``?ordering=coder__password``
    is a 400, and nothing the client sends reaches ``.order_by()``.
    """
    value = request.query_params.get("ordering", "") or default
    if value not in allowed:
        raise ValidationError({"ordering": [f"Use one of: {', '.join(sorted(allowed))}."]})
    return list(allowed[value])


def choice_param(request: Request, name: str, allowed: Mapping[str, object]) -> object | None:
    """The mapped value of a whitelisted filter parameter, None when absent, 400 when unknown."""
    value = request.query_params.get(name, "")
    if value == "":
        return None
    if value not in allowed:
        raise ValidationError({name: [f"Use one of: {', '.join(sorted(allowed))}."]})
    return allowed[value]


def apply_filters(
    queryset: QuerySet, request: Request, filters: Mapping[str, tuple[str, Mapping[str, object]]]
) -> QuerySet:
    """Apply whitelisted filters: ``{param: (orm_field, {query value: orm value})}``.

    The ORM field names are fixed in code; the client only picks among listed values.
    """
    for param, (field, values) in filters.items():
        chosen = choice_param(request, param, values)
        if chosen is not None:
            queryset = queryset.filter(**{field: chosen})
    return queryset


class CSVRenderer(BaseRenderer):
    """Lets clients send ``Accept: text/csv`` to the export endpoints (which stream CSV
    themselves); errors on those endpoints are still rendered as JSON text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: object,
        accepted_media_type: str | None = None,
        renderer_context: dict | None = None,
    ) -> bytes:
        if isinstance(data, bytes | str):
            return data.encode() if isinstance(data, str) else data
        return JSONRenderer().render(data)
