"""CSV exports through the REST API (leads): the same streams as the HTML export page,
from coding/exports.py, logged as Events by ``export_start``/``export_provenance``."""

from __future__ import annotations

from django.http import Http404, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignweb.bounds import ID, query_int
from coding import exports
from coding.api import CSVRenderer
from coding.permissions import LEADS, access_study

KIND_PARAM = OpenApiParameter(
    "kind", str, OpenApiParameter.PATH, enum=list(exports.KINDS), description="Export kind."
)


def _kind(kind: str) -> str:
    if kind not in exports.KINDS:
        raise Http404("No such export.")
    return kind


class ExportCSVView(APIView):
    """Lead: stream one CSV export (long, wide, design, events); logged as an Event.
    ``wide`` has condition columns only after unblinding. ``upto`` (events): last id."""

    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[KIND_PARAM, OpenApiParameter("upto", int, description="events: last id.")],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request: Request, study_id: int, kind: str) -> StreamingHttpResponse:
        study = access_study(request.user, study_id, roles=LEADS)
        upto = query_int(request, "upto", low=ID[0], high=ID[1]) if kind == "events" else None
        started = exports.export_start(study=study, kind=_kind(kind), by=request.user, upto=upto)
        response = StreamingHttpResponse(started.chunks, content_type=started.content_type)
        response["Content-Disposition"] = f'attachment; filename="{started.filename}"'
        response["Cache-Control"] = "no-store"
        return response


class ExportProvenanceView(APIView):
    """Lead: the provenance sidecar of an export (study, rubric version, time, code
    version, row count, SHA-256 of the CSV); logged."""

    @extend_schema(parameters=[KIND_PARAM], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, study_id: int, kind: str) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        path = reverse("api-export-csv", kwargs={"study_id": study.pk, "kind": _kind(kind)})
        csv_url = request.build_absolute_uri(path)
        data = exports.export_provenance(study=study, kind=kind, by=request.user, csv_url=csv_url)
        return Response(data)
