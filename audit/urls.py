"""Audit URLs: agreement (dashboard, snapshots), analysis (matrix, efficacy, reports) and
blinding (check, scrubbing rules)."""

from .urls_agreement import urlpatterns as agreement_patterns
from .urls_analysis import urlpatterns as analysis_patterns
from .urls_blinding import urlpatterns as blinding_patterns
from .urls_quality import urlpatterns as quality_patterns

app_name = "audit"

urlpatterns = [*agreement_patterns, *analysis_patterns, *blinding_patterns, *quality_patterns]
