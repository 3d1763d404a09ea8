"""Model co-coder API under /api/v1/generation/studies/<id>/judge-runs/ (leads only).

The same services and selectors as the pages (``views_judge``); every lookup goes
through ``access_study(..., roles=LEADS)``, so anyone else gets a 404.
"""

from __future__ import annotations

from dataclasses import asdict

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from alignweb.permissions import LEADS, access_study

from . import judge_selectors as sel
from . import judge_services as svc
from .models import ModelEndpoint
from .models_judge import JudgeRun


class JudgeRunSerializer(serializers.ModelSerializer):
    endpoint = serializers.CharField(source="endpoint.name")
    model = serializers.CharField(source="endpoint.model")

    class Meta:
        model = JudgeRun
        fields = [
            "id",
            "status",
            "endpoint",
            "model",
            "rubric_version",
            "instructions_sha256",
            "config",
            "policy",
            "counts_as_coder",
            "code_commit",
            "created_at",
            "finished_at",
        ]


class JudgeRunCreateSerializer(serializers.Serializer):
    endpoint = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    temperature = serializers.FloatField(min_value=0, max_value=2, default=0.0)
    max_tokens = serializers.IntegerField(min_value=64, max_value=16_000, default=1024)
    format_attempts = serializers.IntegerField(min_value=1, max_value=5, default=3)


class CountsAsCoderSerializer(serializers.Serializer):
    include = serializers.BooleanField()


def _detail(run: JudgeRun) -> dict:
    progress = sel.judge_progress(run=run)
    counts = {
        name: getattr(progress, name)
        for name in ("succeeded", "failed", "waiting", "in_flight", "percent")
    }
    return {**JudgeRunSerializer(run).data, "progress": asdict(progress) | counts}


@extend_schema(methods=["GET"], responses=JudgeRunSerializer(many=True), tags=["co-coder"])
@extend_schema(
    methods=["POST"],
    request=JudgeRunCreateSerializer,
    responses={201: JudgeRunSerializer},
    tags=["co-coder"],
)
@api_view(["GET", "POST"])
def judge_run_list(request: Request, study_id: int) -> Response:
    study = access_study(request.user, study_id, roles=LEADS)
    if request.method == "GET":
        return Response(JudgeRunSerializer(sel.judge_run_list(study=study), many=True).data)
    data = JudgeRunCreateSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    values = dict(data.validated_data)
    endpoint = ModelEndpoint.objects.filter(
        pk=values.pop("endpoint"), created_by=request.user
    ).first()
    if endpoint is None:
        raise serializers.ValidationError({"endpoint": "Not one of your endpoints."})
    run = svc.judge_run_create(study=study, endpoint=endpoint, by=request.user, **values)
    return Response(_detail(sel.judge_run_get(study=study, run_id=run.pk)), status=201)


@extend_schema(responses=OpenApiTypes.OBJECT, tags=["co-coder"])
@api_view(["GET"])
def judge_run_detail(request: Request, study_id: int, judge_id: int) -> Response:
    """The run with its provenance settings and progress."""
    study = access_study(request.user, study_id, roles=LEADS)
    return Response(_detail(sel.judge_run_get(study=study, run_id=judge_id)))


@extend_schema(responses=OpenApiTypes.OBJECT, tags=["co-coder"])
@api_view(["GET"])
def judge_run_calibration(request: Request, study_id: int, judge_id: int) -> Response:
    """The judge-calibration table (``audit.judge_calibration`` results shape)."""
    study = access_study(request.user, study_id, roles=LEADS)
    run = sel.judge_run_get(study=study, run_id=judge_id)
    return Response(sel.judge_calibration(run=run))


@extend_schema(request=CountsAsCoderSerializer, responses=JudgeRunSerializer, tags=["co-coder"])
@api_view(["POST"])
def judge_run_counts_as_coder(request: Request, study_id: int, judge_id: int) -> Response:
    """The study setting: opt the run's scores in as a coder (or out again)."""
    study = access_study(request.user, study_id, roles=LEADS)
    run = sel.judge_run_get(study=study, run_id=judge_id)
    data = CountsAsCoderSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    run = svc.judge_counts_as_coder_set(
        run=run, include=data.validated_data["include"], by=request.user
    )
    return Response(JudgeRunSerializer(run).data, status=status.HTTP_200_OK)
