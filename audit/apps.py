from django.apps import AppConfig


def snapshot_on_submit(study_id: int) -> None:
    """After a first-pass submission: queue an agreement snapshot (debounced in the task).
    Bulk loaders silence it with ``coding.hooks.submissions_quiet()``."""
    from audit import tasks  # late: workers and commands that never submit skip Celery

    tasks.snapshot_request(study_id)


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "audit"
    verbose_name = "Audit and analysis"

    def ready(self) -> None:
        from coding import hooks

        from .quality import drift_notices
        from .stats.quality import qualification_verdict

        hooks.on_submit(snapshot_on_submit)
        hooks.register_notices(drift_notices)
        hooks.register_qualification_verdict(qualification_verdict)
