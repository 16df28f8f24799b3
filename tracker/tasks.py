"""Celery tasks of the tracker app. Feature modules define theirs and are imported here for discovery."""
