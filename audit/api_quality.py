"""Coder quality and drift through the REST API (lead only; others 404)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from coding.permissions import LEADS, access_study

from .quality import coder_quality, study_drift


class QualityView(APIView):
    """Per coder x dimension: exact / within-one agreement, QWK and bias with 95% CIs,
    against gold and against reconciled values."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        return Response({"study": study.pk, **coder_quality(study=study)})


class DriftView(APIView):
    """Per coder: rolling agreement in submission order and the CUSUM drift flag."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        return Response(
            {"study": study.pk, "coders": [d.to_dict() for d in study_drift(study=study)]}
        )
