from django.apps import AppConfig


class AlignwebConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "alignweb"
    verbose_name = "AlignWeb"
