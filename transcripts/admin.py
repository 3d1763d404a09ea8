"""Admin for staff. Runs and transcripts that feed a blinded study pass the study's door.

Staff outside the study give a reason and each change page view is recorded as a key
view; staff who are members of the study (its lead, say) are refused. In the lists, the
rows of such runs show "sealed" instead of their model, scaffold and prompt, and their
change pages are read-only.
"""

from django.contrib import admin
from django.contrib.admin.utils import unquote

from coding.door_http import door_page
from coding.models import Study

from .models import GenerationRun, ModelEndpoint, Prompt, PromptSet, Scaffold, Transcript

SEALED = "sealed"


def _sealed_study(run: GenerationRun | None) -> Study | None:
    """The study a run feeds, if its conditions are still sealed."""
    if run is None or run.study_id is None or run.study.status == Study.Status.UNBLINDED:
        return None
    return run.study


class DoorAdmin(admin.ModelAdmin):
    """Change pages of objects feeding a blinded study go through the door first."""

    what = "admin page"

    def run_of(self, obj) -> GenerationRun | None:
        raise NotImplementedError

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        run = self.run_of(obj) if obj is not None else None
        if request.method == "POST" and _sealed_study(run) is not None:
            return super().change_view(request, object_id, form_url, extra_context)  # 403
        if run is not None and run.study_id is not None:
            refused = door_page(request, study=run.study, what=f"admin: {self.what} {obj.pk}")
            if refused is not None:
                return refused
        return super().change_view(request, object_id, form_url, extra_context)

    def has_change_permission(self, request, obj=None):
        if obj is not None and _sealed_study(self.run_of(obj)) is not None:
            return False  # read-only while blinded: a view, recorded, never an edit
        return super().has_change_permission(request, obj)


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
class GenerationRunAdmin(DoorAdmin):
    what = "generation run"
    list_display = ("run_name", "status", "created_by", "created_at", "finished_at")
    list_filter = ("status",)
    list_select_related = ("study", "created_by")
    readonly_fields = ("code_commit", "code_dirty", "package_versions", "policy", "config")

    def run_of(self, obj):
        return obj

    @admin.display(description="Run")
    def run_name(self, obj: GenerationRun) -> str:
        return f"Run {obj.pk} ({SEALED})" if _sealed_study(obj) else obj.name


@admin.register(Transcript)
class TranscriptAdmin(DoorAdmin):
    what = "transcript"
    list_display = (
        "id",
        "run_id",
        "endpoint_model",
        "scaffold_code",
        "prompt_code",
        "state",
        "attempts",
    )
    list_filter = ("state",)
    list_select_related = ("run__study", "endpoint", "scaffold", "prompt")
    raw_id_fields = ("run", "item")
    readonly_fields = ("provenance", "attempt_log", "claim_token")

    def run_of(self, obj):
        return obj.run

    def _cell(self, obj: Transcript, value: str) -> str:
        return SEALED if _sealed_study(obj.run) else value

    @admin.display(description="Model")
    def endpoint_model(self, obj: Transcript) -> str:
        return self._cell(obj, obj.endpoint.model)

    @admin.display(description="Scaffold")
    def scaffold_code(self, obj: Transcript) -> str:
        return self._cell(obj, obj.scaffold.code)

    @admin.display(description="Prompt")
    def prompt_code(self, obj: Transcript) -> str:
        return self._cell(obj, f"{obj.prompt.code} r{obj.replicate}")
