"""Agreement results through the REST API (lead only), mounted under /api/v1/.

Serves the same snapshot the agreement dashboard shows: the latest AgreementSnapshot,
recomputed first when stale through ``audit.services.snapshot_refresh`` (the one place
that decides freshness). Agreement is computed on first-pass scores only.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alignweb.permissions import LEADS, UserLike, access_study
from coding.models import Study

from .models import AgreementSnapshot


class SnapshotInfoSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    n_submitted = serializers.IntegerField()


class AgreementSerializer(serializers.Serializer):
    """``results`` is the snapshot's results document (per dimension, per coder pair and,
    after unblinding, per condition); null with ``snapshot`` null before any submission."""

    study = serializers.IntegerField()
    snapshot = SnapshotInfoSerializer(allow_null=True)
    results = serializers.JSONField(allow_null=True)


def agreement_snapshot(*, study: Study, by: UserLike) -> AgreementSnapshot | None:
    """The fresh snapshot from the audit service; the latest stored one if it is absent."""
    try:
        from audit.services import snapshot_refresh
    except (ImportError, AttributeError):
        snapshot_refresh = None
    if snapshot_refresh is not None:
        return snapshot_refresh(study=study, by=by)
    return AgreementSnapshot.objects.filter(study=study).order_by("-at", "-id").first()


class AgreementView(APIView):
    """Lead: agreement on first-pass scores for one study (latest snapshot, kept fresh)."""

    @extend_schema(responses=AgreementSerializer)
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        snapshot = agreement_snapshot(study=study, by=request.user)
        body = {
            "study": study.pk,
            "snapshot": snapshot,
            "results": snapshot.results if snapshot is not None else None,
        }
        return Response(AgreementSerializer(body).data)
