"""Thin Celery tasks: they take ids, read the clock, and call the services in tracker.feeds.polling."""

from celery import shared_task
from django.utils import timezone

from tracker.feeds.polling import enqueue_due_feeds, poll_feed

__all__ = ["enqueue_due_feeds_task", "poll_feed_task"]


# The fetch has its own deadline and the parser's work is bounded; the hard limit is a last resort.
@shared_task(name="watchpost.feeds.poll_feed", acks_late=True, time_limit=300)
def poll_feed_task(feed_id: int) -> dict:
    """Poll one feed. Safe to run twice: a second run is a conditional GET and stores nothing twice."""
    return poll_feed(feed_id, now=timezone.now()).as_dict()


@shared_task(name="watchpost.feeds.enqueue_due_feeds")
def enqueue_due_feeds_task() -> int:
    """Run by Celery beat every minute: enqueue one poll per due feed."""
    return enqueue_due_feeds(now=timezone.now())
