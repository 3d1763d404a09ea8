"""Audit API routes (agreement results) mounted under /api/v1/."""

from django.urls import path

from . import api

urlpatterns = [
    path(
        "studies/<int:study_id>/agreement/",
        api.AgreementView.as_view(),
        name="api-study-agreement",
    ),
]
