from celery import shared_task

from indicators.models import Indicator


@shared_task(name="watchpost.healthcheck")
def healthcheck():
    """Proves a worker is up and reads the database: returns how many indicators it sees."""
    return {"indicators": Indicator.objects.count()}
