"""Analysis URLs (namespace "audit"): index, registry, rank instability, study analyses."""

from django.urls import path

from . import views_analysis as a
from . import views_benchmarks as b
from . import views_pairwise as pw
from . import views_registry as r
from . import views_reliability as rel

urlpatterns = [
    path("", r.index, name="index"),
    path("benchmarks/", r.benchmark_list, name="benchmark-list"),
    path("benchmarks/<int:benchmark_id>/", b.benchmark_detail, name="benchmark-detail"),
    path("benchmarks/<int:benchmark_id>/edit/", b.benchmark_edit, name="benchmark-edit"),
    path("benchmarks/<int:benchmark_id>/propose/", b.benchmark_propose, name="benchmark-propose"),
    path("benchmarks/<int:benchmark_id>/copy/", b.benchmark_copy, name="benchmark-copy"),
    path("benchmarks/proposals/<int:proposal_id>/", b.proposal_decide, name="proposal-decide"),
    path("benchmarks/audit-study/", r.benchmark_audit_create, name="benchmark-audit-create"),
    path("rank-instability/", r.rank_instability_view, name="rank-instability"),
    path("rankings/", rel.rankings_view, name="rankings"),
    path("studies/<int:study_id>/g-study/", rel.g_study_view, name="g-study"),
    path("studies/<int:study_id>/rankings/", pw.study_rankings, name="study-rankings"),
    path("studies/<int:study_id>/", a.study_analysis, name="study-analysis"),
    path("studies/<int:study_id>/audit-matrix/", a.audit_matrix, name="audit-matrix"),
    path("studies/<int:study_id>/audit-matrix.csv", a.audit_matrix_csv, name="audit-matrix-csv"),
    path("studies/<int:study_id>/efficacy/", a.scaffold_efficacy, name="scaffold-efficacy"),
    path(
        "studies/<int:study_id>/efficacy.json",
        a.scaffold_efficacy_json,
        name="scaffold-efficacy-json",
    ),
    path("studies/<int:study_id>/profiles/", a.alignment_profiles, name="alignment-profiles"),
    path("studies/<int:study_id>/claim-report/", a.claim_report, name="claim-report"),
    path("studies/<int:study_id>/claim-report.md", a.claim_report_md, name="claim-report-md"),
    path("studies/<int:study_id>/claim-report.json", a.claim_report_json, name="claim-report-json"),
]
