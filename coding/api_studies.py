"""Study, member, import, rubric and lead item endpoints of the REST API (thin views)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignweb.parsers import SafeJSONParser
from alignweb.permissions import (
    KEY_READERS,
    LEADS,
    UserLike,
    access_study,
    access_study_item,
    leads_anywhere,
    study_role,
)
from alignweb.text import text_problem
from coding.models import Item, Membership, Rubric, Study

from . import selectors
from . import serializers as s
from .api import apply_filters, ordering_fields
from .door_http import REASON_PARAM, api_reason, api_refusal
from .selectors_pairwise import pair_progress
from .services import (
    ServiceError,
    condition_key_read,
    items_import_file,
    membership_add,
    rubric_create_from_data,
    rubric_export,
    study_create,
    study_open,
)

Role = Membership.Role

STUDY_ORDERING = {
    "name": ("study__name", "study__pk"),
    "-name": ("-study__name", "-study__pk"),
    "created": ("study__created_at", "study__pk"),
    "-created": ("-study__created_at", "-study__pk"),
}
STUDY_FILTERS = {
    "role": ("role", {r: r for r in Role.values}),
    "status": ("study__status", {v: v for v in Study.Status.values}),
}
ITEM_ORDERING = {
    "code": ("public_code",),
    "-code": ("-public_code",),
    "external_id": ("external_id", "public_code"),
    "-external_id": ("-external_id", "public_code"),
    "redactions": ("redaction_count", "public_code"),
    "-redactions": ("-redaction_count", "public_code"),
}
ITEM_FILTERS = {
    "kind": ("kind", {v: v for v in Item.Kind.values}),
    "redacted": ("redaction_count__gt", {"true": 0}),
}
RUBRIC_ORDERING = {"name": ("name", "-version"), "-name": ("-name", "-version")}


def _param(name: str, description: str, values: dict) -> OpenApiParameter:
    return OpenApiParameter(name, str, description=description, enum=sorted(values))


def _require_creator(user: UserLike) -> None:
    """Staff and existing leads create studies and rubrics; others get 404 as in the HTML."""
    if not leads_anywhere(user):
        raise Http404("Not found.")


def study_detail_data(study: Study, role: str, user: UserLike) -> dict:
    """The role-aware study detail: coders get their own progress, leads the dashboard."""
    my_progress = None
    if role == Role.CODER:
        progress = pair_progress if study.kind == Study.Kind.PAIRWISE else selectors.coder_progress
        done, total = progress(study=study, coder=user)
        my_progress = {"done": done, "total": total}
    lead = None
    if role == Role.LEAD:
        lead = {
            "rubric_id": study.rubric_id,
            "seed": study.seed,
            "created_at": study.created_at,
            "summary": selectors.study_summary(study=study),
            "progress": [vars(p) for p in selectors.study_progress(study=study)],
            "redactions_by_rule": selectors.redaction_summary(study=study),
        }
    return {
        "id": study.pk,
        "name": study.name,
        "description": study.description,
        "status": study.status,
        "kind": study.kind,
        "role": role,
        "coders_per_item": study.coders_per_item,
        "rubric": study.rubric,
        "my_progress": my_progress,
        "lead": lead,
    }


class StudyListView(generics.ListAPIView):
    """Studies the caller belongs to, with their role (POST: create, staff and leads)."""

    parser_classes = [SafeJSONParser]

    serializer_class = s.StudyListSerializer

    def get_queryset(self) -> QuerySet:
        queryset = selectors.membership_list_for_user(user=self.request.user)
        queryset = apply_filters(queryset, self.request, STUDY_FILTERS)
        return queryset.order_by(*ordering_fields(self.request, STUDY_ORDERING, "-created"))

    @extend_schema(
        parameters=[
            _param("ordering", "Sort order.", STUDY_ORDERING),
            _param("role", "Only studies where you hold this role.", STUDY_FILTERS["role"][1]),
            _param("status", "Only studies in this status.", STUDY_FILTERS["status"][1]),
        ]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.StudyCreateSerializer, responses={201: s.StudyDetailSerializer})
    def post(self, request: Request) -> Response:
        _require_creator(request.user)
        data = s.StudyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        study = study_create(by=request.user, **data.validated_data)
        body = s.StudyDetailSerializer(study_detail_data(study, Role.LEAD, request.user)).data
        return Response(body, status=status.HTTP_201_CREATED)


class StudyDetailView(APIView):
    """One study, with fields for the caller's role."""

    @extend_schema(responses=s.StudyDetailSerializer)
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id)
        role = study_role(request.user, study)
        return Response(s.StudyDetailSerializer(study_detail_data(study, role, request.user)).data)


class StudyOpenView(APIView):
    """Lead: draft -> open; assigns every item to its coders. 409 if not a draft."""

    @extend_schema(request=None, responses=s.StudyDetailSerializer)
    def post(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        study = study_open(study=study, by=request.user)
        return Response(
            s.StudyDetailSerializer(study_detail_data(study, Role.LEAD, request.user)).data
        )


class MemberListView(generics.ListAPIView):
    """Lead: the study's members (POST: add one by username)."""

    parser_classes = [SafeJSONParser]

    serializer_class = s.MemberSerializer

    def get_queryset(self) -> QuerySet:
        study = access_study(self.request.user, self.kwargs["study_id"], roles=LEADS)
        return study.memberships.select_related("user").order_by("role", "user__username")

    @extend_schema(request=s.MemberWriteSerializer, responses={201: s.MemberSerializer})
    def post(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        data = s.MemberWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_add(study=study, by=request.user, **data.validated_data)
        return Response(s.MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class StudyImportView(APIView):
    """Lead: upload a JSONL/CSV file of items (multipart ``file``). All rows or none:
    400 with a per-row ``errors`` list; 413 (JSON) over the upload limit."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.ImportUploadSerializer},
        responses={
            201: s.ImportResultSerializer,
            400: s.ImportErrorSerializer,
            413: OpenApiResponse(s.DetailSerializer, description="Upload over the size limit."),
        },
    )
    def post(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        data = s.ImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        result = items_import_file(
            study=study, raw=upload.read(), filename=upload.name or "", by=request.user
        )
        body = s.ImportResultSerializer(result).data
        return Response(body, status=status.HTTP_201_CREATED)


class ItemListView(generics.ListAPIView):
    """Lead view of a study's items (no content in the list; see the detail)."""

    serializer_class = s.ItemLeadListSerializer

    def get_queryset(self) -> QuerySet:
        study = access_study(self.request.user, self.kwargs["study_id"], roles=LEADS)
        queryset = Item.objects.filter(study=study).only(
            "public_code", "kind", "external_id", "redaction_count", "redactions"
        )
        queryset = apply_filters(queryset, self.request, ITEM_FILTERS)
        return queryset.order_by(*ordering_fields(self.request, ITEM_ORDERING, "code"))

    @extend_schema(
        parameters=[
            _param("ordering", "Sort order.", ITEM_ORDERING),
            _param("kind", "Only items of this kind.", ITEM_FILTERS["kind"][1]),
            _param("redacted", "Only items with redactions.", ITEM_FILTERS["redacted"][1]),
        ]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


def _lead_item(request: Request, study_id: int, code: str) -> Item:
    return access_study_item(request.user, study_id, code, roles=LEADS)


class ItemDetailView(APIView):
    """Lead view of one item: scrubbed content, external id and redaction counts.
    Never the condition key (that is the separate, logged ``key`` endpoint)."""

    @extend_schema(responses=s.ItemLeadSerializer)
    def get(self, request: Request, study_id: int, code: str) -> Response:
        return Response(s.ItemLeadSerializer(_lead_item(request, study_id, code)).data)


class ItemKeyView(APIView):
    """One item's condition key, through the one door: leads once the study is unblinded
    (403 before), generation operators with a ``reason``. Every read is recorded."""

    @extend_schema(
        parameters=[REASON_PARAM],
        responses={200: s.ConditionKeySerializer, 400: s.DetailSerializer},
    )
    def get(self, request: Request, study_id: int, code: str) -> Response:
        item = access_study_item(request.user, study_id, code, roles=KEY_READERS)
        reason = api_reason(request)
        if problem := text_problem(reason):  # NUL: the reason is stored in the key-view log
            raise ValidationError({"reason": [f"The reason {problem}."]})
        try:
            key = condition_key_read(item=item, by=request.user, reason=reason)
        except ServiceError as exc:
            raise api_refusal(exc)
        if key is None:
            raise Http404("This item has no condition key.")
        body = s.condition_key_row(item.public_code, key)
        return Response(s.ConditionKeySerializer(body).data)


class RubricListView(generics.ListAPIView):
    """Rubrics (staff and leads). POST imports a rubric from its JSON export."""

    parser_classes = [SafeJSONParser]

    serializer_class = s.RubricListSerializer

    def get_queryset(self) -> QuerySet:
        _require_creator(self.request.user)
        return Rubric.objects.order_by(*ordering_fields(self.request, RUBRIC_ORDERING, "name"))

    @extend_schema(parameters=[_param("ordering", "Sort order.", RUBRIC_ORDERING)])
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(request=s.RubricImportSerializer, responses={201: s.RubricSerializer})
    def post(self, request: Request) -> Response:
        _require_creator(request.user)
        data = s.RubricImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rubric = rubric_create_from_data(data=dict(data.validated_data), by=request.user)
        return Response(s.RubricSerializer(rubric).data, status=status.HTTP_201_CREATED)


def _rubric(request: Request, rubric_id: int) -> Rubric:
    _require_creator(request.user)
    return get_object_or_404(Rubric.objects.prefetch_related("dimensions__levels"), pk=rubric_id)


class RubricDetailView(APIView):
    @extend_schema(responses=s.RubricSerializer)
    def get(self, request: Request, rubric_id: int) -> Response:
        """One rubric with its dimensions and levels (staff and leads)."""
        return Response(s.RubricSerializer(_rubric(request, rubric_id)).data)


class RubricExportView(APIView):
    @extend_schema(responses=s.RubricExportSerializer)
    def get(self, request: Request, rubric_id: int) -> Response:
        """The rubric as JSON that the rubric import accepts (staff and leads)."""
        return Response(rubric_export(rubric=_rubric(request, rubric_id)))
