"""Blinding URLs (namespace "audit"): the check, its progress, and study scrubbing rules."""

from django.urls import path

from . import views_blinding as v

urlpatterns = [
    path("studies/<int:study_id>/blinding/", v.blinding_page, name="blinding"),
    path("studies/<int:study_id>/blinding/check/", v.blinding_check_start, name="blinding-check"),
    path(
        "studies/<int:study_id>/blinding/check/<int:check_id>/",
        v.blinding_check_status,
        name="blinding-check-status",
    ),
    path("studies/<int:study_id>/blinding/rules/", v.scrub_rule_create, name="scrub-rule-add"),
    path(
        "studies/<int:study_id>/blinding/rules/<int:rule_id>/delete/",
        v.scrub_rule_remove,
        name="scrub-rule-delete",
    ),
]
