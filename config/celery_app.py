"""The Celery application (cookiecutter-django layout).

Configuration comes from Django settings under the CELERY_ namespace; with no REDIS_URL the broker is
kombu's filesystem transport, so a worker runs with no server at all.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("watchpost")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
