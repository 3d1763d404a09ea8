"""Generation REST API under /api/v1/generation/. Same services and selectors as the views.

Only leads of some study (or staff) may use it; runs and endpoints belong to their
creator, and every lookup is 404 for anyone else.
"""

from __future__ import annotations

from dataclasses import asdict

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from coding.door_http import REASON_PARAM

from . import selectors, services
from .door import require_unsealed, run_api_door, sealed_run_ids
from .models import ModelEndpoint, PromptSet, Scaffold
from .permissions import access_endpoint, access_run, require_generation_user
from .runcard import build_run_card, run_card_markdown
from .serializers import (
    EndpointCreateSerializer,
    EndpointSerializer,
    PromptSetSerializer,
    RunCreateSerializer,
    RunSerializer,
    ScaffoldSerializer,
    StudyFromRunSerializer,
    TranscriptSerializer,
)

# Masked in lists: a run feeding a blinded study is condition data of that study.
SEALED_FIELDS = {"endpoints": [], "scaffolds": [], "prompt_set": "", "config": {}}


def _listed(run, sealed: set[int]) -> dict:
    data = RunSerializer(run).data
    if run.pk in sealed:
        data |= SEALED_FIELDS | {"name": f"Sealed run {run.pk}"}
    return data


def _progress(run) -> dict:
    data = asdict(selectors.run_progress(run=run))
    data["cost"] = str(data["cost"]) if data["cost"] is not None else None
    return data


@extend_schema(methods=["GET"], responses=EndpointSerializer(many=True), tags=["generation"])
@extend_schema(
    methods=["POST"],
    request=EndpointCreateSerializer,
    responses={201: EndpointSerializer},
    tags=["generation"],
)
@api_view(["GET", "POST"])
def endpoint_list(request: Request) -> Response:
    require_generation_user(request.user)
    if request.method == "GET":
        return Response(
            EndpointSerializer(selectors.endpoint_list(user=request.user), many=True).data
        )
    serializer = EndpointCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    endpoint = services.endpoint_create(by=request.user, **serializer.validated_data)
    return Response(EndpointSerializer(endpoint).data, status=status.HTTP_201_CREATED)


@extend_schema(responses=EndpointSerializer, tags=["generation"])
@api_view(["GET"])
def endpoint_detail(request: Request, endpoint_id: int) -> Response:
    return Response(EndpointSerializer(access_endpoint(request.user, endpoint_id)).data)


@extend_schema(responses=ScaffoldSerializer(many=True), tags=["generation"])
@api_view(["GET"])
def scaffold_list(request: Request) -> Response:
    require_generation_user(request.user)
    return Response(ScaffoldSerializer(selectors.scaffold_list_current(), many=True).data)


@extend_schema(responses=PromptSetSerializer(many=True), tags=["generation"])
@api_view(["GET"])
def prompt_set_list(request: Request) -> Response:
    require_generation_user(request.user)
    return Response(PromptSetSerializer(PromptSet.objects.all(), many=True).data)


def _owned(model, ids: list[int], **filters) -> list:
    objects = list(model.objects.filter(pk__in=ids, **filters))
    if len(objects) != len(set(ids)):
        raise ValidationError({"detail": f"Unknown {model._meta.verbose_name} id."})
    return objects


@extend_schema(methods=["GET"], responses=RunSerializer(many=True), tags=["generation"])
@extend_schema(
    methods=["POST"],
    request=RunCreateSerializer,
    responses={201: OpenApiTypes.OBJECT},
    tags=["generation"],
)
@api_view(["GET", "POST"])
def run_list(request: Request) -> Response:
    require_generation_user(request.user)
    if request.method == "GET":
        runs = list(
            selectors.run_list(user=request.user).prefetch_related("endpoints", "scaffolds")
        )
        sealed = sealed_run_ids(request.user, runs)
        return Response([_listed(run, sealed) for run in runs])
    serializer = RunCreateSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    endpoints = _owned(ModelEndpoint, data["endpoints"], created_by=request.user)
    scaffolds = _owned(Scaffold, data["scaffolds"])
    prompt_set = PromptSet.objects.filter(pk=data["prompt_set"]).first()
    if prompt_set is None:
        raise ValidationError({"prompt_set": ["Unknown prompt set."]})
    run = services.run_create(
        by=request.user,
        name=data["name"],
        endpoints=endpoints,
        scaffolds=scaffolds,
        prompt_set=prompt_set,
        replicates=data["replicates"],
        max_prompts=data.get("max_prompts"),
        seed=data.get("seed"),
        config=dict(data.get("config") or {}),
        policy=dict(data.get("policy") or {}),
    )
    return Response(
        RunSerializer(run).data | {"progress": _progress(run)}, status=status.HTTP_201_CREATED
    )


@extend_schema(parameters=[REASON_PARAM], responses=OpenApiTypes.OBJECT, tags=["generation"])
@api_view(["GET"])
def run_detail(request: Request, run_id: int) -> Response:
    run = access_run(request.user, run_id)
    run_api_door(request, run, "run detail")
    return Response(RunSerializer(run).data | {"progress": _progress(run)})


def _run_action(request: Request, run_id: int, action) -> Response:
    run = access_run(request.user, run_id)
    require_unsealed(request.user, run)
    result = action(run=run, by=request.user)
    run.refresh_from_db()
    body = RunSerializer(run).data | {"progress": _progress(run)}
    if isinstance(result, int):
        body["cells"] = result
    return Response(body)


@extend_schema(request=None, responses=OpenApiTypes.OBJECT, tags=["generation"])
@api_view(["POST"])
def run_cancel(request: Request, run_id: int) -> Response:
    return _run_action(request, run_id, services.run_cancel)


@extend_schema(request=None, responses=OpenApiTypes.OBJECT, tags=["generation"])
@api_view(["POST"])
def run_resume(request: Request, run_id: int) -> Response:
    return _run_action(request, run_id, services.run_resume)


@extend_schema(request=None, responses=OpenApiTypes.OBJECT, tags=["generation"])
@api_view(["POST"])
def run_retry_failed(request: Request, run_id: int) -> Response:
    return _run_action(request, run_id, services.run_retry_failed)


@extend_schema(
    request=StudyFromRunSerializer, responses={201: OpenApiTypes.OBJECT}, tags=["generation"]
)
@api_view(["POST"])
def run_to_study(request: Request, run_id: int) -> Response:
    run = access_run(request.user, run_id)
    serializer = StudyFromRunSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    study = services.run_to_study(run=run, by=request.user, **serializer.validated_data)
    return Response(
        {"study": study.pk, "name": study.name, "items": study.items.count()},
        status=status.HTTP_201_CREATED,
    )


@extend_schema(parameters=[REASON_PARAM], responses=OpenApiTypes.OBJECT, tags=["generation"])
@api_view(["GET"])
def run_card(request: Request, run_id: int) -> Response:
    run = access_run(request.user, run_id)
    run_api_door(request, run, "run card (json)")
    return Response(build_run_card(run))


@extend_schema(
    parameters=[REASON_PARAM],
    responses={(200, "text/markdown"): OpenApiTypes.STR},
    tags=["generation"],
)
@api_view(["GET"])
def run_card_md(request: Request, run_id: int) -> HttpResponse:
    run = access_run(request.user, run_id)
    run_api_door(request, run, "run card (md)")
    card = build_run_card(run)
    return HttpResponse(run_card_markdown(card), content_type="text/markdown; charset=utf-8")


@extend_schema(
    parameters=[REASON_PARAM], responses=TranscriptSerializer(many=True), tags=["generation"]
)
@api_view(["GET"])
def run_transcripts(request: Request, run_id: int) -> Response:
    run = access_run(request.user, run_id)
    run_api_door(request, run, "transcripts")
    return Response(TranscriptSerializer(selectors.transcript_list(run=run), many=True).data)
