"""Lead-only API for a study's position bias and Bradley-Terry rankings (see
``audit.pairwise``). Position bias reads no condition; rankings open after unblinding and
every call is a logged key view. Others get 404."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignweb.bounds import query_int
from alignweb.permissions import LEADS, access_study
from coding.models import Study
from coding.services import Conflict

from .pairwise import position_bias_report, study_rankings_read
from .views_pairwise import DEFAULT_BOOTSTRAP, MAX_PAGE_BOOTSTRAP


class PositionBiasView(APIView):
    """Share of left (A) choices overall, per coder and per dimension; exact binomial tests."""

    @extend_schema(responses=OpenApiResponse(description="overall, by_coder, by_dimension"))
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        return Response({"study": study.pk, **position_bias_report(study=study)})


class StudyRankingsView(APIView):
    """Bradley-Terry per dimension (overall, per scaffold, rank flips); 409 until unblinded."""

    @extend_schema(
        parameters=[OpenApiParameter("draws", int, description="bootstrap draws 0-2000 (200)")],
        responses={200: OpenApiResponse(description="rankings document"), 409: None},
    )
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        bootstrap = query_int(
            request, "draws", low=0, high=MAX_PAGE_BOOTSTRAP, default=DEFAULT_BOOTSTRAP
        )
        if study.status != Study.Status.UNBLINDED:
            raise Conflict("Rankings name the hidden models: available after unblinding.")
        return Response(
            study_rankings_read(study=study, by=request.user, bootstrap=bootstrap, seed=study.seed)
        )
