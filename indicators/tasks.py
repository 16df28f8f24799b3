from celery import shared_task
from django.utils import timezone

from indicators.matching.retraining import retrain
from indicators.models import Indicator


@shared_task(name="watchpost.healthcheck")
def healthcheck():
    """Proves a worker is up and reads the database: returns how many indicators it sees."""
    return {"indicators": Indicator.objects.count()}


@shared_task(name="watchpost.indicators.retrain_matcher", acks_late=True, time_limit=3600)
def retrain_matcher_task() -> dict:
    """Run by beat once a week: learn from the week's reviews; the candidate replaces the active model only
    if it is no worse on the frozen holdout. Running it twice stores two candidates, activates at most one."""
    result = retrain(timezone.now())
    return {"version": result.row.version, "activated": result.activated, "message": result.message}
