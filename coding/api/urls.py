"""Coding routes of the REST API, mounted under /api/v1/ (see alignweb/api_urls.py)."""

from django.urls import path

from coding.api import coding as api_coding
from coding.api import exports as api_exports
from coding.api import gold as api_gold
from coding.api import pairwise as api_pairwise
from coding.api import reconcile as api_reconcile
from coding.api import studies as api_studies

S = "studies/<int:study_id>/"

urlpatterns = [
    path("studies/", api_studies.StudyListView.as_view(), name="api-study-list"),
    path(S, api_studies.StudyDetailView.as_view(), name="api-study-detail"),
    path(S + "open/", api_studies.StudyOpenView.as_view(), name="api-study-open"),
    path(S + "members/", api_studies.MemberListView.as_view(), name="api-study-members"),
    path(S + "import/", api_studies.StudyImportView.as_view(), name="api-study-import"),
    path(S + "items/", api_studies.ItemListView.as_view(), name="api-item-list"),
    path(S + "items/<str:code>/", api_studies.ItemDetailView.as_view(), name="api-item-detail"),
    path(S + "items/<str:code>/key/", api_studies.ItemKeyView.as_view(), name="api-item-key"),
    path(
        S + "my-assignments/",
        api_coding.MyAssignmentListView.as_view(),
        name="api-my-assignments",
    ),
    path(
        S + "my-assignments/next/",
        api_coding.MyNextAssignmentView.as_view(),
        name="api-my-next",
    ),
    path(
        S + "my-assignments/<str:code>/",
        api_coding.MyAssignmentDetailView.as_view(),
        name="api-my-assignment",
    ),
    path(
        S + "my-assignments/<str:code>/draft/",
        api_coding.MyDraftView.as_view(),
        name="api-my-draft",
    ),
    path(
        S + "my-assignments/<str:code>/submit/",
        api_coding.MySubmitView.as_view(),
        name="api-my-submit",
    ),
    path(S + "my-pairs/", api_pairwise.MyPairListView.as_view(), name="api-my-pairs"),
    path(S + "my-pairs/next/", api_pairwise.MyNextPairView.as_view(), name="api-my-next-pair"),
    path(S + "my-pairs/<str:code>/", api_pairwise.MyPairDetailView.as_view(), name="api-my-pair"),
    path(
        S + "my-pairs/<str:code>/submit/",
        api_pairwise.MyPairSubmitView.as_view(),
        name="api-my-pair-submit",
    ),
    path(
        S + "my-assignments/<str:code>/feedback/",
        api_gold.MyFeedbackView.as_view(),
        name="api-my-feedback",
    ),
    path(S + "gold/", api_gold.GoldListView.as_view(), name="api-gold"),
    path(
        S + "quality-settings/",
        api_gold.QualitySettingsView.as_view(),
        name="api-quality-settings",
    ),
    path(S + "qualification/", api_gold.QualificationView.as_view(), name="api-qualification"),
    path(
        S + "qualification/retry/",
        api_gold.QualificationRetryView.as_view(),
        name="api-qualification-retry",
    ),
    path(
        S + "reconciliation/",
        api_reconcile.ReconcileQueueView.as_view(),
        name="api-reconcile-queue",
    ),
    path(
        S + "reconciliation/auto-agree/",
        api_reconcile.AutoAgreeView.as_view(),
        name="api-reconcile-auto",
    ),
    path(
        S + "reconciliation/<str:code>/",
        api_reconcile.ReconcileItemView.as_view(),
        name="api-reconcile-item",
    ),
    path(
        S + "reconciliation/<str:code>/decide/",
        api_reconcile.DecideView.as_view(),
        name="api-reconcile-decide",
    ),
    path(S + "lock/", api_reconcile.LockView.as_view(), name="api-study-lock"),
    path(S + "unblind/", api_reconcile.UnblindView.as_view(), name="api-study-unblind"),
    path(S + "key/", api_reconcile.ConditionKeyListView.as_view(), name="api-condition-key"),
    path(
        S + "exports/<slug:kind>/",
        api_exports.ExportCSVView.as_view(),
        name="api-export-csv",
    ),
    path(
        S + "exports/<slug:kind>/provenance/",
        api_exports.ExportProvenanceView.as_view(),
        name="api-export-provenance",
    ),
    path("rubrics/", api_studies.RubricListView.as_view(), name="api-rubric-list"),
    path("rubrics/<int:rubric_id>/", api_studies.RubricDetailView.as_view(), name="api-rubric"),
    path(
        "rubrics/<int:rubric_id>/export/",
        api_studies.RubricExportView.as_view(),
        name="api-rubric-export",
    ),
]
