"""A coder's own work through the REST API: queue, next item, drafts and submission.

Blind by construction, like coding/views.py: only the caller's own assignments and the
scrubbed item content are read; responses carry no database id, timestamp, condition
or anything that changes when another coder works.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignweb.parsers import SafeJSONParser
from coding import selectors
from coding import serializers as s
from coding.api import CODER, apply_filters, ordering_fields
from coding.models import Assignment
from coding.permissions import access_assignment, access_study
from coding.services import score_autosave, score_submit
from coding.services.gold import assignment_released

QUEUE_ORDERING = {"position": ("position",), "-position": ("-position",)}
QUEUE_FILTERS = {"status": ("status", {v: v for v in Assignment.Status.values})}


def _own_assignment(request: Request, study_id: int, code: str) -> Assignment:
    """The caller's assignment for ``code`` inside this study (coders only), or 404 (also
    while a qualification round gates it).

    One query: ``access_assignment`` checks the coder membership in the same join."""
    assignment = access_assignment(request.user, code, study_id=study_id)
    if not assignment_released(assignment):  # qualification round not passed yet
        raise Http404("No such item.")
    return assignment


def _detail(assignment: Assignment, scores: dict | None = None) -> dict:
    """``scores``: the payload when the caller already has it (a submit just wrote it)."""
    if scores is None:
        scores = s.scores_payload(selectors.assignment_scores(assignment=assignment))
    return s.AssignmentDetailSerializer(
        {
            "item": assignment.item,
            "status": assignment.status,
            "version": assignment.version,
            "scores": scores,
        }
    ).data


class MyAssignmentListView(generics.ListAPIView):
    """The caller's own queue in their seeded order: item code, kind, status, version."""

    serializer_class = s.AssignmentListSerializer

    def get_queryset(self) -> QuerySet:
        study = access_study(self.request.user, self.kwargs["study_id"], roles=CODER)
        queryset = selectors.coder_queue(study=study, coder=self.request.user)
        queryset = apply_filters(queryset, self.request, QUEUE_FILTERS)
        return queryset.order_by(*ordering_fields(self.request, QUEUE_ORDERING, "position"))

    @extend_schema(
        parameters=[
            OpenApiParameter("ordering", str, enum=sorted(QUEUE_ORDERING)),
            OpenApiParameter("status", str, enum=sorted(QUEUE_FILTERS["status"][1])),
        ]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class MyNextAssignmentView(APIView):
    """The caller's next open item in their order; 204 when everything is submitted."""

    @extend_schema(
        responses={
            200: s.AssignmentListSerializer,
            204: OpenApiResponse(description="All of your items are submitted."),
        }
    )
    def get(self, request: Request, study_id: int) -> Response:
        # The coder's next item and their membership in one query; only when there is
        # none is the study looked up, to tell "all submitted" (204) from "not yours" (404).
        assignment = selectors.next_assignment_of_member(study_id=study_id, coder=request.user)
        if assignment is None:
            access_study(request.user, study_id, roles=CODER)
            return Response(status=204)
        return Response(s.AssignmentListSerializer(assignment).data)


class MyAssignmentDetailView(APIView):
    """One of the caller's items: blinded content plus their own draft or submitted scores."""

    @extend_schema(responses=s.AssignmentDetailSerializer)
    def get(self, request: Request, study_id: int, code: str) -> Response:
        return Response(_detail(_own_assignment(request, study_id, code)))


WRITE_RESPONSES = {
    200: s.AssignmentDetailSerializer,
    400: s.DetailSerializer,
    409: OpenApiResponse(s.DetailSerializer, description="Changed elsewhere; reload."),
}


class MyDraftView(APIView):
    """Autosave a draft (partial scores allowed). ``version`` is the version you loaded;
    409 when another tab or window saved first (nothing is overwritten)."""

    parser_classes = [SafeJSONParser]

    def _save(self, request: Request, study_id: int, code: str) -> Response:
        assignment = _own_assignment(request, study_id, code)
        data = s.ScoresWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        assignment = score_autosave(
            assignment=assignment,
            values=data.validated_data["scores"],
            expected_version=data.validated_data["version"],
            by=request.user,
        )
        return Response(_detail(assignment))

    @extend_schema(request=s.ScoresWriteSerializer, responses=WRITE_RESPONSES)
    def post(self, request: Request, study_id: int, code: str) -> Response:
        return self._save(request, study_id, code)

    @extend_schema(request=s.ScoresWriteSerializer, responses=WRITE_RESPONSES)
    def patch(self, request: Request, study_id: int, code: str) -> Response:
        return self._save(request, study_id, code)


class MySubmitView(APIView):
    """Submit (lock) your first-pass scores; every dimension must be scored. Replaying
    the same submission returns 200 again; different scores after submission are a 409."""

    parser_classes = [SafeJSONParser]

    @extend_schema(request=s.ScoresWriteSerializer, responses=WRITE_RESPONSES)
    def post(self, request: Request, study_id: int, code: str) -> Response:
        assignment = _own_assignment(request, study_id, code)
        data = s.ScoresWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        submitted = score_submit(
            assignment=assignment,
            values=data.validated_data["scores"],
            expected_version=data.validated_data["version"],
            by=request.user,
        )
        submitted.item = assignment.item
        # A 200 means the stored scores hash to what was sent (a first submit or a replay
        # of it), so they are what was sent: no need to read them back.
        sent = s.scores_payload_from_values(data.validated_data["scores"])
        return Response(_detail(submitted, sent))
