"""Reconciliation, locking, unblinding, condition key and export URLs (namespace "coding").

Stable names (also used by templates and the REST API's links):
reconcile-queue, reconcile-auto, reconcile-item, study-exports, study-lock, study-unblind,
condition-key, condition-key-item, export-csv, export-provenance.
"""

from django.urls import path

from coding.views import reconcile as v

urlpatterns = [
    path("<int:study_id>/reconcile/", v.queue, name="reconcile-queue"),
    path("<int:study_id>/reconcile/auto-agree/", v.auto_agree, name="reconcile-auto"),
    path("<int:study_id>/reconcile/<str:code>/", v.reconcile_item, name="reconcile-item"),
    path("<int:study_id>/exports/", v.study_exports, name="study-exports"),
    path("<int:study_id>/lock/", v.lock, name="study-lock"),
    path("<int:study_id>/unblind/", v.unblind, name="study-unblind"),
    path("<int:study_id>/key/", v.condition_key, name="condition-key"),
    path("<int:study_id>/key/<str:code>.json", v.condition_key_item, name="condition-key-item"),
    path("<int:study_id>/exports/<str:kind>.csv", v.export_csv, name="export-csv"),
    path(
        "<int:study_id>/exports/<str:kind>.provenance.json",
        v.export_provenance,
        name="export-provenance",
    ),
]
