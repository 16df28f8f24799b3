from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracker.dashboards"
    label = "dashboards"
    verbose_name = "Dashboards"

    def ready(self):
        from . import cache

        cache.connect()  # signals: milestones bump the generation the cached pages follow
