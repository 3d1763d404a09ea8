from django.apps import AppConfig


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
    verbose_name = "Audit and analysis"

    def ready(self) -> None:
        from coding.dashboard import PROVIDERS

        from .quality import drift_notices

        if drift_notices not in PROVIDERS:
            PROVIDERS.append(drift_notices)
