"""Audit URLs: agreement (dashboard, snapshots) and analysis (matrix, efficacy, reports)."""

from .urls_agreement import urlpatterns as agreement_patterns
from .urls_analysis import urlpatterns as analysis_patterns

app_name = "audit"

urlpatterns = [*agreement_patterns, *analysis_patterns]
