from django.apps import AppConfig


class DigestsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracker.digests"
    label = "digests"
    verbose_name = "Digests"
