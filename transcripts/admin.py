from django.contrib import admin

from .models import GenerationRun, ModelEndpoint, Prompt, PromptSet, Scaffold, Transcript


@admin.register(ModelEndpoint)
class ModelEndpointAdmin(admin.ModelAdmin):
    list_display = ("name", "provider", "model", "base_url", "api_key_env", "created_by")
    list_filter = ("provider",)
    search_fields = ("name", "model")


@admin.register(Scaffold)
class ScaffoldAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "version", "builtin", "sha256")
    readonly_fields = ("sha256",)


class PromptInline(admin.TabularInline):
    model = Prompt
    extra = 0
    fields = ("code", "version", "specification", "text", "sha256")
    readonly_fields = fields


@admin.register(PromptSet)
class PromptSetAdmin(admin.ModelAdmin):
    list_display = ("name", "builtin", "created_at")
    inlines = [PromptInline]


@admin.register(GenerationRun)
class GenerationRunAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "created_by", "created_at", "finished_at")
    list_filter = ("status",)
    readonly_fields = ("code_commit", "code_dirty", "package_versions", "policy", "config")


@admin.register(Transcript)
class TranscriptAdmin(admin.ModelAdmin):
    list_display = ("id", "run", "endpoint", "scaffold", "prompt", "replicate", "state", "attempts")
    list_filter = ("state",)
    raw_id_fields = ("run", "item")
    readonly_fields = ("provenance", "attempt_log", "claim_token")
