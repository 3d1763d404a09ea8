"""Coder quality URLs (namespace "audit"): quality against gold/reconciled and drift."""

from django.urls import path

from . import views_quality as v

urlpatterns = [
    path("studies/<int:study_id>/quality/", v.quality_page, name="quality"),
    path("studies/<int:study_id>/quality/drift/", v.drift_page, name="drift"),
]
