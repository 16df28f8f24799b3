"""When a feed is polled next, and what its last poll did: the feed's health and schedule.

- `claim_due_feeds(now)` claims every due, active feed with a conditional UPDATE on `next_poll_at` (two
  beats, or a beat and an admin action, never poll one feed twice) and returns the ids this caller won.
- `succeeded`, `not_modified` and `failed` compute the health fields of one poll's outcome; `save_health`
  writes them. After failures the next poll backs off exponentially with jitter; Retry-After on 429/503
  is honoured; healthy feeds adapt their interval (busy feeds more often, quiet ones less).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from .models import Feed

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=15)  # a claimed feed is not claimed again for this long


def adapt_interval(current: int, new_entries: int) -> int:
    """Busy feeds are polled more often, quiet ones less, within [FEEDS_MIN_INTERVAL, FEEDS_MAX_INTERVAL]."""
    current = current or 1800
    if new_entries >= 5:
        nxt = current // 2
    elif new_entries > 0:
        nxt = int(current * 0.8)
    else:
        nxt = int(current * 1.5)
    return max(settings.FEEDS_MIN_INTERVAL, min(settings.FEEDS_MAX_INTERVAL, nxt))


def backoff_delay(failures: int, base: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff after `failures` consecutive failures, with +/-20% jitter, capped."""
    rng = rng or random
    step = max(base, settings.FEEDS_MIN_INTERVAL) * (2 ** max(0, failures - 1))
    seconds = min(settings.FEEDS_MAX_BACKOFF, step)
    return timedelta(seconds=seconds * rng.uniform(0.8, 1.2))


def failed(feed: Feed, now: datetime, kind: str, message: str, retry_after=None, http_status=None) -> dict:
    """Health fields after a failed poll: the error recorded, the next poll backed off."""
    failures = feed.consecutive_failures + 1
    next_at = now + backoff_delay(failures, feed.poll_interval)
    if retry_after and retry_after > next_at:
        next_at = retry_after
    return {
        "last_fetched_at": now,
        "last_error_at": now,
        "last_error_kind": kind[:40],
        "last_error_message": message[:2000],
        "last_http_status": http_status,
        "consecutive_failures": failures,
        "next_poll_at": next_at,
    }


def _healthy(feed: Feed, now: datetime, new_entries: int, http_status: int | None) -> dict:
    interval = adapt_interval(feed.poll_interval, new_entries)
    return {
        "last_fetched_at": now,
        "last_success_at": now,
        "last_http_status": http_status,
        "consecutive_failures": 0,
        "poll_interval": interval,
        "next_poll_at": now + timedelta(seconds=interval),
        "last_new_entries": new_entries,
    }


def not_modified(feed: Feed, now: datetime) -> dict:
    """Health fields after a 304: healthy, nothing new, polled less often."""
    return _healthy(feed, now, 0, 304)


def succeeded(
    feed: Feed, now: datetime, *, new_entries: int, http_status, etag, last_modified, title
) -> dict:
    """Health fields after the entries of a poll are safely stored: the validators are kept only now,
    so a failed store re-fetches the whole batch next time."""
    fields = _healthy(feed, now, new_entries, http_status)
    fields["etag"] = (etag or "")[:500]
    fields["last_modified"] = (last_modified or "")[:100]
    if not feed.title and title:
        fields["title"] = title[:200]
    return fields


def moved(feed: Feed, new_url: str) -> dict:
    """A feed that answered with permanent redirects only (301/308) now lives at `new_url`: poll it there
    from now on, unless another feed already has that address (then the admin decides)."""
    if new_url == feed.url or len(new_url) > Feed._meta.get_field("url").max_length:
        return {}
    if Feed.objects.filter(url=new_url).exclude(pk=feed.pk).exists():
        log.warning("feed %s moved to %s, which is already another feed: left as it is", feed.url, new_url)
        return {}
    log.info("feed %s moved permanently to %s", feed.url, new_url)
    return {"url": new_url}


def save_health(feed_id: int, fields: dict) -> None:
    """Record a poll's outcome on the feed. On PostgreSQL without waiting for the WAL flush: health
    fields are bookkeeping, and a crash losing the last milliseconds of them only means one more poll.
    (Entries are stored in their own, fully durable transaction.)"""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        Feed.objects.filter(pk=feed_id).update(**fields)


def due_feeds(now: datetime):
    return Feed.objects.filter(active=True).filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))


def claim_due_feeds(now: datetime, limit: int | None = None) -> list[int]:
    """Claim due feeds (conditional UPDATE on next_poll_at) and return the ids this caller won."""
    claimed = []
    rows = due_feeds(now).order_by("next_poll_at", "id").values_list("id", "next_poll_at")
    if limit:
        rows = rows[:limit]
    with transaction.atomic():  # one commit for the whole batch; each claim stays conditional
        for feed_id, old in list(rows):
            won = Feed.objects.filter(pk=feed_id, next_poll_at=old).update(next_poll_at=now + CLAIM_LEASE)
            if won:
                claimed.append(feed_id)
    return claimed


def claim_now(feed_ids: list[int], now: datetime) -> list[int]:
    """Admin "poll now": lease the feeds to the caller at once, whatever their schedule."""
    Feed.objects.filter(pk__in=feed_ids).update(next_poll_at=now + CLAIM_LEASE)
    return list(feed_ids)


def reset_backoff(feed_ids: list[int], now: datetime) -> int:
    return Feed.objects.filter(pk__in=feed_ids).update(consecutive_failures=0, next_poll_at=now)
