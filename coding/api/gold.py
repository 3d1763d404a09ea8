"""Gold items, quality settings and qualification through the REST API (lead), and a
coder's own training feedback. Outsiders and other roles get 404 (``access_study``)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignweb.parsers import SafeJSONParser
from coding.api import CODER
from coding.models import Item
from coding.permissions import LEADS, access_assignment, access_study
from coding.selectors.gold import gold_feedback, gold_list, qualification_status, study_coder_get
from coding.services.gold import (
    gold_set,
    qualification_retry,
    quality_settings_get,
    quality_settings_update,
)


class QualitySettingsSerializer(serializers.Serializer):
    gold_rate = serializers.IntegerField(min_value=0, max_value=50)
    training = serializers.BooleanField()
    qualification_items = serializers.IntegerField(min_value=0, max_value=50)
    pass_kappa = serializers.FloatField(min_value=-1, max_value=1)


class GoldWriteSerializer(serializers.Serializer):
    item = serializers.CharField(max_length=16)
    expected = serializers.DictField(
        child=serializers.IntegerField(min_value=-99, max_value=99), allow_empty=False
    )
    explanations = serializers.DictField(
        child=serializers.CharField(max_length=5000, allow_blank=True), required=False
    )


class GoldItemSerializer(serializers.Serializer):
    code = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    expected = serializers.DictField(child=serializers.IntegerField())
    explanations = serializers.DictField(child=serializers.CharField())
    n_versions = serializers.IntegerField()
    n_submitted = serializers.IntegerField()


class RetrySerializer(serializers.Serializer):
    coder = serializers.CharField(max_length=150)


def _settings_payload(study) -> dict:
    s = quality_settings_get(study=study)
    return QualitySettingsSerializer(s).data


class QualitySettingsView(APIView):
    """Lead: gold rate, training mode and the qualification rule of a study."""

    parser_classes = [SafeJSONParser]

    @extend_schema(responses=QualitySettingsSerializer)
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        return Response(_settings_payload(study))

    @extend_schema(request=QualitySettingsSerializer, responses=QualitySettingsSerializer)
    def put(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        data = QualitySettingsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        quality_settings_update(study=study, by=request.user, **data.validated_data)
        return Response(_settings_payload(study))


class GoldListView(APIView):
    """Lead: the study's gold items (GET) or mark/edit one (POST; versioned once coded)."""

    parser_classes = [SafeJSONParser]

    @extend_schema(responses=GoldItemSerializer(many=True))
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        return Response(GoldItemSerializer(gold_list(study=study), many=True).data)

    @extend_schema(request=GoldWriteSerializer, responses=GoldItemSerializer)
    def post(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        data = GoldWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        item = Item.objects.filter(study=study, public_code=data.validated_data["item"]).first()
        if item is None:
            raise Http404("No such item.")
        gold_set(
            item=item,
            expected=data.validated_data["expected"],
            explanations=data.validated_data.get("explanations") or {},
            by=request.user,
        )
        row = next(g for g in gold_list(study=study) if g["code"] == item.public_code)
        return Response(GoldItemSerializer(row).data)


class QualificationView(APIView):
    """Lead: each coder's latest qualification attempt (passed / failed / pending)."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        return Response(
            [
                {
                    "coder": r.coder,
                    "status": r.status,
                    "attempt": r.attempt,
                    "done": r.done,
                    "total": r.total,
                    "result": r.result,
                }
                for r in qualification_status(study=study)
            ]
        )


class QualificationRetryView(APIView):
    """Lead: give a coder whose latest attempt failed a new round (409 otherwise)."""

    parser_classes = [SafeJSONParser]

    @extend_schema(request=RetrySerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        data = RetrySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        coder = study_coder_get(study=study, username=data.validated_data["coder"])
        if coder is None:
            raise Http404("No such coder.")
        attempt = qualification_retry(study=study, coder=coder, by=request.user)
        return Response({"coder": coder.username, "attempt": attempt.number, "status": "pending"})


class MyFeedbackView(APIView):
    """Coder: expected scores and explanation of one of your submitted gold items, in
    training mode. 404 otherwise (not gold, not submitted, not training): the same answer
    as for an item you do not have, so it reveals nothing before you submit."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, study_id: int, code: str) -> Response:
        access_study(request.user, study_id, roles=CODER)
        assignment = access_assignment(request.user, code, study_id=study_id)
        feedback = gold_feedback(assignment=assignment)
        if feedback is None:
            raise Http404("No such page.")
        return Response(feedback)
