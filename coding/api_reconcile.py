"""Reconciliation (adjudicators and leads), locking, unblinding and the condition key
(leads) through the REST API. Thin: the rules are in coding/services/reconciliation.py
and the reads in coding/selectors_reconcile.py, shared with coding/views_reconcile.py.
CSV exports are in api_exports.py.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignweb.bounds import INT32_MAX, query_int
from alignweb.parsers import SafeJSONParser
from alignweb.permissions import (
    KEY_READERS,
    LEADS,
    RECONCILERS,
    access_study,
    access_study_item,
)
from coding.models import Dimension, Item, Membership, Study

from . import serializers as s
from .api import choice_param
from .api_studies import study_detail_data
from .door_http import REASON_PARAM, api_reason, api_refusal
from .selectors_reconcile import STATUSES, reconcile_item_get, reconcile_queue
from .services import (
    ServiceError,
    condition_keys_read,
    reconciliation_auto_agree,
    reconciliation_decide,
    study_lock,
    study_unblind,
)

QUEUE_STATUSES = {value: value for value in STATUSES}


def _min_spread(request: Request) -> int:
    return query_int(request, "min_spread", low=1, high=INT32_MAX, default=1)


class ReconcileQueueView(generics.ListAPIView):
    """Every (item, dimension) of fully coded items whose first-pass values differ.
    Filters: ``dimension`` (a rubric code), ``min_spread`` (>= 1), ``status``
    (open = not yet decided, the default; reconciled; all)."""

    serializer_class = s.QueueEntrySerializer

    def get_queryset(self) -> list:
        study = access_study(self.request.user, self.kwargs["study_id"], roles=RECONCILERS)
        codes = {code: code for code in study.rubric.dimensions.values_list("code", flat=True)}
        dimension = choice_param(self.request, "dimension", codes)
        queue_status = choice_param(self.request, "status", QUEUE_STATUSES) or "open"
        return reconcile_queue(
            study=study,
            dimension=dimension,
            min_spread=_min_spread(self.request),
            status=queue_status,
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("dimension", str, description="A dimension code such as D3."),
            OpenApiParameter("min_spread", int, description="Minimum max - min of the values."),
            OpenApiParameter("status", str, enum=list(STATUSES), description="Default: open."),
        ]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class AutoAgreeView(APIView):
    """Record "agreed" for every dimension all coders agree on (idempotent)."""

    @extend_schema(request=None, responses={200: s.AutoAgreeResultSerializer})
    def post(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=RECONCILERS)
        added = reconciliation_auto_agree(study=study)
        return Response({"added": added})


def _study_item(request: Request, study_id: int, code: str) -> tuple[Study, Item]:
    item = access_study_item(request.user, study_id, code, roles=RECONCILERS)
    return item.study, item


class ReconcileItemView(APIView):
    """One item side by side: blinded content, submitted first-pass scores with coders
    anonymised (Coder A, B, ...), and the current decision per dimension."""

    @extend_schema(responses=s.ReconcileItemSerializer)
    def get(self, request: Request, study_id: int, code: str) -> Response:
        _study, item = _study_item(request, study_id, code)
        return Response(s.ReconcileItemSerializer(reconcile_item_get(item=item)).data)


class DecideView(APIView):
    """Record the final value, method and note for one dimension of an item. Re-sending
    the decision you saw (``expected_id``) unchanged writes nothing and answers 200."""

    parser_classes = [SafeJSONParser]

    @extend_schema(
        request=s.DecideSerializer,
        responses={
            200: OpenApiResponse(s.DecisionSerializer, description="Unchanged; nothing written."),
            201: s.DecisionSerializer,
            400: s.DetailSerializer,
            409: OpenApiResponse(s.DetailSerializer, description="Decided by someone else."),
        },
    )
    def post(self, request: Request, study_id: int, code: str) -> Response:
        study, item = _study_item(request, study_id, code)
        data = s.DecideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        dimension = Dimension.objects.filter(
            rubric_id=study.rubric_id, code=fields.pop("dimension")
        ).first()
        if dimension is None:
            raise ValidationError({"dimension": ["Not a dimension of this study's rubric."]})
        decision = reconciliation_decide(item=item, dimension=dimension, by=request.user, **fields)
        unchanged = decision.pk == fields.get("expected_id")
        body = s.DecisionSerializer(decision).data
        return Response(body, status=status.HTTP_200_OK if unchanged else status.HTTP_201_CREATED)


def _lead_detail(request: Request, study: Study) -> Response:
    data = study_detail_data(study, Membership.Role.LEAD, request.user)
    return Response(s.StudyDetailSerializer(data).data)


class LockView(APIView):
    """Lead: open -> locked, once every item is coded and reconciled, or with
    ``override`` and a ``reason`` (logged)."""

    parser_classes = [SafeJSONParser]

    @extend_schema(request=s.LockSerializer, responses=s.StudyDetailSerializer)
    def post(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        data = s.LockSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        study = study_lock(study=study, by=request.user, **data.validated_data)
        return _lead_detail(request, study)


class UnblindView(APIView):
    """Lead: locked -> unblinded; the reason is kept in the Event log."""

    parser_classes = [SafeJSONParser]

    @extend_schema(request=s.UnblindSerializer, responses=s.StudyDetailSerializer)
    def post(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        data = s.UnblindSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        study = study_unblind(study=study, by=request.user, **data.validated_data)
        return _lead_detail(request, study)


class ConditionKeyListView(generics.ListAPIView):
    """The condition key by item code, one page at a time, through the one door: leads
    once the study is unblinded (403 before), generation operators with a ``reason``.
    Every page is one recorded key view."""

    serializer_class = s.ConditionKeySerializer

    def get_queryset(self) -> QuerySet:
        study = access_study(self.request.user, self.kwargs["study_id"], roles=KEY_READERS)
        self.study = study
        return Item.objects.filter(study=study).order_by("public_code")

    @extend_schema(parameters=[REASON_PARAM])
    def get(self, request: Request, *args, **kwargs) -> Response:
        page = self.paginate_queryset(self.get_queryset().values_list("public_code", flat=True))
        try:
            keys = condition_keys_read(
                study=self.study, by=request.user, codes=list(page), reason=api_reason(request)
            )
        except ServiceError as exc:
            raise api_refusal(exc)
        rows = [s.condition_key_row(code, key) for code, key in keys.items()]
        return self.get_paginated_response(s.ConditionKeySerializer(rows, many=True).data)
