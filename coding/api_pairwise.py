"""A coder's pairwise work through the REST API: queue, next pair, one pair, submit.

Blind like ``coding/api_coding.py``: the caller's own pair assignments only; each side is
the scrubbed content of an item, labelled A (left) and B (right) as this coder sees them,
without item codes, ids, timestamps or conditions. Outsiders and other roles get 404.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignweb.bounds import INT32_MAX
from alignweb.parsers import SafeJSONParser
from alignweb.permissions import access_pair_assignment, access_study
from coding.models import PairAssignment, PairJudgment

from . import selectors_pairwise as sel
from .api import CODER
from .serializers import AssignmentStatusField, DetailSerializer, StrictSerializer


class PairRowSerializer(serializers.Serializer):
    pair = serializers.CharField(source="pair.public_code")
    status = AssignmentStatusField()
    version = serializers.IntegerField()


class SideSerializer(serializers.Serializer):
    content = serializers.JSONField(help_text="Scrubbed transcript, as on the coding page.")


class PairDetailSerializer(serializers.Serializer):
    pair = serializers.CharField()
    status = AssignmentStatusField()
    version = serializers.IntegerField()
    a = SideSerializer(help_text="Shown on the left.")
    b = SideSerializer(help_text="Shown on the right.")
    choices = serializers.DictField(
        child=serializers.ChoiceField(choices=PairJudgment.Choice.choices),
        help_text="Your submitted choice per dimension code (empty while open).",
    )


class PairSubmitSerializer(StrictSerializer):
    version = serializers.IntegerField(min_value=0, max_value=INT32_MAX)
    choices = serializers.DictField(
        child=serializers.ChoiceField(choices=PairJudgment.Choice.choices), allow_empty=False
    )


def _detail(assignment: PairAssignment) -> dict:
    left, right = sel.pair_sides(assignment=assignment)
    return PairDetailSerializer(
        {
            "pair": assignment.pair.public_code,
            "status": assignment.status,
            "version": assignment.version,
            "a": {"content": left.content},
            "b": {"content": right.content},
            "choices": sel.pair_choices(assignment=assignment),
        }
    ).data


class MyPairListView(APIView):
    """The caller's own pairs in their seeded order."""

    @extend_schema(responses=PairRowSerializer(many=True))
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=CODER)
        rows = sel.pair_queue(study=study, coder=request.user)
        return Response(PairRowSerializer(rows, many=True).data)


class MyNextPairView(APIView):
    """The caller's next open pair; 204 when every pair is submitted."""

    @extend_schema(responses={200: PairRowSerializer, 204: OpenApiResponse(description="Done.")})
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=CODER)
        assignment = sel.next_pair(study=study, coder=request.user)
        if assignment is None:
            return Response(status=204)
        return Response(PairRowSerializer(assignment).data)


class MyPairDetailView(APIView):
    """One of the caller's pairs: side A (left), side B (right) and their own choices."""

    @extend_schema(responses=PairDetailSerializer)
    def get(self, request: Request, study_id: int, code: str) -> Response:
        return Response(_detail(access_pair_assignment(request.user, code, study_id)))


class MyPairSubmitView(APIView):
    """Submit (lock) A, B or tie for every dimension. Replaying the same choices returns
    200 again; other choices after submission, or a stale version, are a 409."""

    parser_classes = [SafeJSONParser]

    @extend_schema(
        request=PairSubmitSerializer,
        responses={200: PairDetailSerializer, 400: DetailSerializer, 409: DetailSerializer},
    )
    def post(self, request: Request, study_id: int, code: str) -> Response:
        from .services import pair_judgment_submit

        assignment = access_pair_assignment(request.user, code, study_id)
        data = PairSubmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair_judgment_submit(  # service errors answer 400/409 (alignweb.errors)
            assignment=assignment,
            choices=dict(data.validated_data["choices"]),
            expected_version=data.validated_data["version"],
            by=request.user,
        )
        assignment.refresh_from_db()
        return Response(_detail(assignment))
