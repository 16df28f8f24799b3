"""Digest tasks: thin, taking ids, safe to run twice (the claim makes a second run a no-op)."""

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.utils import timezone

from . import schedule, sending

MAX_RETRIES = 6


@shared_task(name="tracker.digests.tasks.send_due_digests")
def send_due_digests():
    """Beat task: release the digests whose worker died mid-send (their lease ran out), then one
    send_digest task per released digest and per subscriber whose digest is due now. Returns the ids."""
    now = timezone.now()
    released = sending.release_expired_claims(now)
    due = schedule.due_subscriptions(now)
    return {
        "released": len(released),
        "dispatched": [send_digest.delay(pk, str(week)).id for pk, week in [*released, *due]],
    }


@shared_task(bind=True, name="tracker.digests.tasks.send_digest", max_retries=MAX_RETRIES)
def send_digest(self, subscription_id, week):
    """Send one subscriber's digest for one ISO week ("2025-W36"), at most once.

    Retried with exponential backoff and jitter only when the mail server could not take it; every
    attempt is recorded on the DigestDelivery row.
    """
    try:
        outcome = sending.claim_and_send(subscription_id, week, timezone.now())
    except sending.DigestTransportError as exc:
        countdown = get_exponential_backoff_interval(
            factor=settings.WATCHPOST_DIGEST_RETRY_BACKOFF,
            retries=self.request.retries,
            maximum=settings.WATCHPOST_DIGEST_RETRY_BACKOFF_MAX,
            full_jitter=True,
        )
        raise self.retry(exc=exc, countdown=countdown) from exc
    return {**outcome.as_dict(), "worker": self.request.hostname or ""}
