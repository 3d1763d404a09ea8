from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The offline demo: ``manage.py demo`` builds demo users and studies through the
    other apps' services (it depends on all of them; none depends on it)."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "demo"
    verbose_name = "Offline demo"
