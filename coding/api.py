"""Shared pieces of the coding REST API: whitelisted ordering and filters.

The endpoints live in ``api_studies.py`` (studies, members, import, rubrics, lead item
view), ``api_coding.py`` (a coder's own queue, drafts and submissions) and
``api_reconcile.py`` (reconciliation, locking, unblinding, exports). All of them fetch
objects through ``alignweb.permissions`` (404 for non-members and wrong roles) and call
the same services and selectors as the HTML views; service errors become 400/403/409
responses in one place, ``alignweb.errors.api_exception_handler``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from coding.models import Membership

CODER = (Membership.Role.CODER,)


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
