"""Audit API routes (agreement results) mounted under /api/v1/."""

from django.urls import path

from . import api, api_pairwise, api_quality

urlpatterns = [
    path(
        "studies/<int:study_id>/agreement/",
        api.AgreementView.as_view(),
        name="api-study-agreement",
    ),
    path(
        "studies/<int:study_id>/quality/",
        api_quality.QualityView.as_view(),
        name="api-study-quality",
    ),
    path(
        "studies/<int:study_id>/quality/drift/",
        api_quality.DriftView.as_view(),
        name="api-study-drift",
    ),
    path(
        "studies/<int:study_id>/position-bias/",
        api_pairwise.PositionBiasView.as_view(),
        name="api-position-bias",
    ),
    path(
        "studies/<int:study_id>/rankings/",
        api_pairwise.StudyRankingsView.as_view(),
        name="api-study-rankings",
    ),
]
