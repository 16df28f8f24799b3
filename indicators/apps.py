from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "indicators"
    verbose_name = "Watch list"

    def ready(self):
        from . import changes
        from .matching import store, versions  # noqa: F401  (signals: drop cached matchers on change)

        changes.connect()  # signals: the generation number readers (the dashboards' cache) follow
