"""Admin for staff: the benchmark registry, snapshots (read-only) and claim statements."""

from django.contrib import admin

from .models import AgreementSnapshot, Benchmark, ClaimStatement, SnapshotRequest


@admin.register(Benchmark)
class BenchmarkAdmin(admin.ModelAdmin):
    list_display = ("name", "year", "claim_level", "builtin")
    list_filter = ("claim_level", "builtin")
    search_fields = ("name", "citation")


@admin.register(AgreementSnapshot)
class AgreementSnapshotAdmin(admin.ModelAdmin):
    list_display = ("study", "at", "n_submitted")
    list_filter = ("study",)
    readonly_fields = ("study", "at", "n_submitted", "results")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SnapshotRequest)
class SnapshotRequestAdmin(admin.ModelAdmin):
    list_display = ("study", "requested_at")


@admin.register(ClaimStatement)
class ClaimStatementAdmin(admin.ModelAdmin):
    list_display = ("study", "claim_level", "updated_at")
    filter_horizontal = ("benchmarks",)
