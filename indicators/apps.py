from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "indicators"
    verbose_name = "Watch list"

    def ready(self):
        from .matching import store, versions  # noqa: F401  (signals: drop cached matchers on change)
