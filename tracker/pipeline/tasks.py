"""Thin Celery tasks: they take ids, read the clock, and call tracker.pipeline.pipeline.

    enqueue_due_feeds (beat, every minute) -> poll_feed(feed_id) -> enrich_entries(entry_ids)
    retry_unenriched (beat, every 5 minutes) -> enrich_entries(entry_ids)

Polls run on the default queue; enrichment on its own queue ("enrich", CELERY_ENRICH_QUEUE) so that a
slow batch of matching never holds up fetching.
"""

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from tracker.feeds.schedule import claim_due_feeds, claim_now

from . import pipeline

__all__ = ["enqueue_due_feeds_task", "poll_feed_task", "enrich_entries_task", "retry_unenriched_task"]

ENRICH_BATCH = 200


def _enqueue_enrichment(entry_ids: list[int]) -> None:
    for i in range(0, len(entry_ids), ENRICH_BATCH):
        enrich_entries_task.apply_async(
            (entry_ids[i : i + ENRICH_BATCH],), queue=settings.CELERY_ENRICH_QUEUE
        )


# The fetch has its own deadline and the parser's work is bounded; the hard limit is a last resort.
@shared_task(name="watchpost.pipeline.poll_feed", acks_late=True, time_limit=300)
def poll_feed_task(feed_id: int) -> dict:
    """Poll one feed, then hand its new entries to the enrich queue. Safe to run twice: a second run is a
    conditional GET and stores nothing twice."""
    result = pipeline.poll_feed(feed_id, now=timezone.now())
    _enqueue_enrichment(result.new_ids)
    return result.as_dict()


@shared_task(name="watchpost.pipeline.enqueue_due_feeds")
def enqueue_due_feeds_task() -> int:
    """Run by Celery beat every minute: claim the due feeds and enqueue one poll each."""
    ids = claim_due_feeds(now=timezone.now())
    for feed_id in ids:
        poll_feed_task.delay(feed_id)
    return len(ids)


def poll_now(feed_ids: list[int]) -> int:
    """Admin "poll now": lease the feeds at once and enqueue them, whatever their schedule."""
    ids = claim_now(feed_ids, now=timezone.now())
    for feed_id in ids:
        poll_feed_task.delay(feed_id)
    return len(ids)


@shared_task(
    name="watchpost.pipeline.enrich_entries",
    acks_late=True,
    time_limit=900,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
)
def enrich_entries_task(entry_ids: list[int]) -> dict:
    """Match and propose for stored entries. Safe to run twice: entries are claimed before acting."""
    return pipeline.enrich_entries(entry_ids, now=timezone.now()).as_dict()


@shared_task(name="watchpost.pipeline.retry_unenriched")
def retry_unenriched_task() -> int:
    """Run by beat: entries still pending (a failed batch, a worker that died) are enqueued again."""
    ids = pipeline.retry_unenriched(now=timezone.now())
    _enqueue_enrichment(ids)
    return len(ids)
