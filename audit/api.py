"""Agreement results through the REST API (lead only), mounted under /api/v1/.

Serves the same snapshot the agreement dashboard shows, chosen by
``audit.services.snapshot_current`` (the one place that decides freshness): while the
study is open a snapshot behind the data is served as it is, with the submissions since
and a background refresh requested; it is computed in the request only when there is
none yet or the study is locked or unblinded. Agreement is computed on first-pass
scores only.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from coding.models import Study
from coding.permissions import LEADS, UserLike, access_study

from .models import AgreementSnapshot


class SnapshotInfoSerializer(serializers.Serializer):
    """Which snapshot this is and what it covers."""

    id = serializers.IntegerField()
    at = serializers.DateTimeField()
    computed_at = serializers.DateTimeField(source="at")
    n_submitted = serializers.IntegerField(help_text="Submitted assignments it covers.")
    n_submitted_now = serializers.IntegerField(allow_null=True)
    n_behind = serializers.IntegerField(
        allow_null=True, help_text="Submissions made since it was computed."
    )
    refresh_queued = serializers.BooleanField()


class AgreementSerializer(serializers.Serializer):
    """``results`` is the snapshot's results document (per dimension, per coder pair and,
    after unblinding, per condition); null with ``snapshot`` null before any submission."""

    study = serializers.IntegerField()
    snapshot = SnapshotInfoSerializer(allow_null=True)
    results = serializers.JSONField(allow_null=True)


def agreement_snapshot(*, study: Study, by: UserLike) -> dict[str, Any] | None:
    """The snapshot and what it covers, from the audit service; the latest stored one
    (coverage unknown) if the service is absent. None before any submission."""
    try:
        from audit.services import snapshot_current
    except (ImportError, AttributeError):
        snapshot_current = None
    if snapshot_current is not None:
        state = snapshot_current(study=study, by=by)
        if state.snapshot is None:
            return None
        return {
            "snapshot": state.snapshot,
            "n_submitted_now": state.n_submitted,
            "n_behind": state.n_behind,
            "refresh_queued": state.refresh_queued,
        }
    latest = AgreementSnapshot.objects.filter(study=study).order_by("-at", "-id").first()
    if latest is None:
        return None
    return {"snapshot": latest, "n_submitted_now": None, "n_behind": None, "refresh_queued": False}


class AgreementView(APIView):
    """Lead: agreement on first-pass scores for one study (latest snapshot and its coverage)."""

    @extend_schema(responses=AgreementSerializer)
    def get(self, request: Request, study_id: int) -> Response:
        study = access_study(request.user, study_id, roles=LEADS)
        found = agreement_snapshot(study=study, by=request.user)
        snapshot = found["snapshot"] if found else None
        info = None
        if found:
            info = {
                "id": snapshot.pk,
                "at": snapshot.at,
                "n_submitted": snapshot.n_submitted,
                **{k: v for k, v in found.items() if k != "snapshot"},
            }
        body = {
            "study": study.pk,
            "snapshot": info,
            "results": snapshot.results if snapshot is not None else None,
        }
        return Response(AgreementSerializer(body).data)
