from django.apps import AppConfig


class FeedsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracker.feeds"
    label = "feeds"
    verbose_name = "Feeds"
