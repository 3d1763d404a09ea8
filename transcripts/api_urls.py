"""/api/v1/generation/...: model endpoints, the scaffold/prompt library and runs."""

from django.urls import path

from . import api, api_judge

urlpatterns = [
    path("generation/endpoints/", api.endpoint_list, name="api-generation-endpoints"),
    path(
        "generation/endpoints/<int:endpoint_id>/",
        api.endpoint_detail,
        name="api-generation-endpoint",
    ),
    path("generation/scaffolds/", api.scaffold_list, name="api-generation-scaffolds"),
    path("generation/prompt-sets/", api.prompt_set_list, name="api-generation-prompt-sets"),
    path("generation/runs/", api.run_list, name="api-generation-runs"),
    path("generation/runs/<int:run_id>/", api.run_detail, name="api-generation-run"),
    path("generation/runs/<int:run_id>/cancel/", api.run_cancel, name="api-generation-cancel"),
    path("generation/runs/<int:run_id>/resume/", api.run_resume, name="api-generation-resume"),
    path(
        "generation/runs/<int:run_id>/retry-failed/",
        api.run_retry_failed,
        name="api-generation-retry-failed",
    ),
    path(
        "generation/runs/<int:run_id>/to-study/", api.run_to_study, name="api-generation-to-study"
    ),
    path("generation/runs/<int:run_id>/card/", api.run_card, name="api-generation-card"),
    path("generation/runs/<int:run_id>/card.md", api.run_card_md, name="api-generation-card-md"),
    path(
        "generation/runs/<int:run_id>/transcripts/",
        api.run_transcripts,
        name="api-generation-transcripts",
    ),
    path(
        "generation/studies/<int:study_id>/judge-runs/",
        api_judge.judge_run_list,
        name="api-judge-runs",
    ),
    path(
        "generation/studies/<int:study_id>/judge-runs/<int:judge_id>/",
        api_judge.judge_run_detail,
        name="api-judge-run",
    ),
    path(
        "generation/studies/<int:study_id>/judge-runs/<int:judge_id>/calibration/",
        api_judge.judge_run_calibration,
        name="api-judge-calibration",
    ),
    path(
        "generation/studies/<int:study_id>/judge-runs/<int:judge_id>/counts-as-coder/",
        api_judge.judge_run_counts_as_coder,
        name="api-judge-counts-as-coder",
    ),
]
