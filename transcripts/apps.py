from django.apps import AppConfig


class TranscriptsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "transcripts"
    verbose_name = "Transcripts"

    def ready(self) -> None:
        from coding import hooks

        from .provenance import PROVENANCE

        hooks.register_provenance(PROVENANCE)
