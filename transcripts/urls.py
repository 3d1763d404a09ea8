from django.urls import path

from . import views, views_endpoints, views_judge

app_name = "transcripts"

urlpatterns = [
    path("", views.run_list, name="run-list"),
    path("runs/new/", views.run_create, name="run-create"),
    path("runs/new/estimate/", views.run_estimate_preview, name="run-estimate"),
    path("runs/<int:run_id>/", views.run_detail, name="run-detail"),
    path("runs/<int:run_id>/progress/", views.run_progress, name="run-progress"),
    path("runs/<int:run_id>/cancel/", views.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/resume/", views.run_resume, name="run-resume"),
    path("runs/<int:run_id>/retry-failed/", views.run_retry_failed, name="run-retry-failed"),
    path("runs/<int:run_id>/to-study/", views.run_to_study, name="run-to-study"),
    path("runs/<int:run_id>/card.md", views.run_card, {"fmt": "md"}, name="run-card-md"),
    path("runs/<int:run_id>/card.json", views.run_card, {"fmt": "json"}, name="run-card-json"),
    path("runs/<int:run_id>/transcripts/", views.transcript_list, name="transcript-list"),
    path(
        "runs/<int:run_id>/transcripts/<int:transcript_id>/",
        views.transcript_detail,
        name="transcript-detail",
    ),
    path("endpoints/", views.endpoint_list, name="endpoint-list"),
    path("endpoints/new/", views.endpoint_create, name="endpoint-create"),
    path("endpoints/<int:endpoint_id>/", views_endpoints.endpoint_detail, name="endpoint-detail"),
    path("endpoints/<int:endpoint_id>/edit/", views_endpoints.endpoint_edit, name="endpoint-edit"),
    path(
        "endpoints/<int:endpoint_id>/check/", views_endpoints.endpoint_check, name="endpoint-check"
    ),
    path(
        "endpoints/<int:endpoint_id>/check/status/",
        views_endpoints.endpoint_check_status,
        name="endpoint-check-status",
    ),
    path("library/", views.library, name="library"),
    path("studies/<int:study_id>/co-coder/", views_judge.judge_index, name="judge"),
    path(
        "studies/<int:study_id>/co-coder/<int:judge_id>/",
        views_judge.judge_detail,
        name="judge-detail",
    ),
    path(
        "studies/<int:study_id>/co-coder/<int:judge_id>/progress/",
        views_judge.judge_progress,
        name="judge-progress",
    ),
    path(
        "studies/<int:study_id>/co-coder/<int:judge_id>/cancel/",
        views_judge.judge_cancel,
        name="judge-cancel",
    ),
    path(
        "studies/<int:study_id>/co-coder/<int:judge_id>/retry-failed/",
        views_judge.judge_retry_failed,
        name="judge-retry-failed",
    ),
    path(
        "studies/<int:study_id>/co-coder/<int:judge_id>/counts-as-coder/",
        views_judge.judge_counts_as_coder,
        name="judge-counts-as-coder",
    ),
    path(
        "studies/<int:study_id>/co-coder/<int:judge_id>/calibration.json",
        views_judge.judge_calibration_json,
        name="judge-calibration-json",
    ),
    path(
        "studies/<int:study_id>/co-coder/<int:judge_id>/calibration.csv",
        views_judge.judge_calibration_csv,
        name="judge-calibration-csv",
    ),
]
