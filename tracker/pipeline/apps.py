from django.apps import AppConfig


class PipelineConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracker.pipeline"
    label = "pipeline"
    verbose_name = "Pipeline"
