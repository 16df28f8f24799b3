"""Celery tasks of the tracker app. Feature modules define theirs and are imported here for discovery."""

from tracker.digests.tasks import *  # noqa: F401,F403
from tracker.feeds.tasks import *  # noqa: F401,F403
