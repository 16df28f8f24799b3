"""Polling: which feeds are due, and one poll of one feed with its health recorded.

- `enqueue_due_feeds(now)` claims every due, active feed with a conditional UPDATE (so two beats, or a
  beat and an admin action, never enqueue one feed twice) and sends one `poll_feed_task` per feed.
- `poll_feed(feed_id, now)` fetches (conditional GET), parses, ingests, and records the outcome on the
  feed: success times, or the error kind and message, consecutive failures, and the next poll time.
  After failures the next poll backs off exponentially with jitter; Retry-After on 429/503 is honoured;
  healthy feeds adapt their interval (busy feeds more often, quiet ones less).
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q

from tracker.feeds.fetching import FetchLimits, fetch
from tracker.feeds.ingest import ingest
from tracker.feeds.parsing import ParseError, parse_feed
from tracker.models import Feed

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=15)  # a claimed feed is not claimed again for this long


def _setting(name: str, default):
    return getattr(settings, name, default)


def min_interval() -> int:
    return int(_setting("FEEDS_MIN_INTERVAL", 5 * 60))


def max_interval() -> int:
    return int(_setting("FEEDS_MAX_INTERVAL", 6 * 3600))


def max_backoff() -> int:
    return int(_setting("FEEDS_MAX_BACKOFF", 24 * 3600))


@dataclass
class PollResult:
    feed_id: int
    status: str  # ok | not_modified | error | skipped
    entries: int = 0
    new: int = 0
    proposed: int = 0
    error_kind: str = ""
    error_message: str = ""
    next_poll_at: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def adapt_interval(current: int, new_entries: int) -> int:
    """Busy feeds are polled more often, quiet ones less, within [FEEDS_MIN_INTERVAL, FEEDS_MAX_INTERVAL]."""
    current = current or 1800
    if new_entries >= 5:
        nxt = current // 2
    elif new_entries > 0:
        nxt = int(current * 0.8)
    else:
        nxt = int(current * 1.5)
    return max(min_interval(), min(max_interval(), nxt))


def backoff_delay(failures: int, base: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff after `failures` consecutive failures, with +/-20% jitter, capped."""
    rng = rng or random
    seconds = min(max_backoff(), max(base, min_interval()) * (2 ** max(0, failures - 1)))
    return timedelta(seconds=seconds * rng.uniform(0.8, 1.2))


def _record_failure(feed: Feed, now: datetime, kind: str, message: str, retry_after, http_status) -> dict:
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


def _save_health(feed_id: int, fields: dict) -> None:
    """Record a poll's outcome on the feed. On PostgreSQL without waiting for the WAL flush: health
    fields are bookkeeping, and a crash losing the last milliseconds of them only means one more poll.
    (Entries are stored by ingest in its own, fully durable transaction.)"""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        Feed.objects.filter(pk=feed_id).update(**fields)


def poll_feed(
    feed_id: int,
    now: datetime,
    *,
    limits: FetchLimits | None = None,
    client: httpx.Client | None = None,
) -> PollResult:
    """Poll one feed once. Every outcome, good or bad, is recorded on the feed row."""
    feed = Feed.objects.filter(pk=feed_id).first()
    if feed is None:
        return PollResult(feed_id, "skipped", error_message="no such feed")
    if not feed.active:
        return PollResult(feed_id, "skipped", error_message="feed is inactive")
    limits = limits or FetchLimits.from_settings()
    result = fetch(
        feed.url,
        now=now,
        etag=feed.etag or None,
        last_modified=feed.last_modified or None,
        limits=limits,
        client=client,
    )
    outcome = PollResult(feed_id, result.status)
    if result.status == "error":
        fields = _record_failure(
            feed, now, result.error_kind, result.error_message, result.retry_after, result.http_status
        )
        outcome.error_kind, outcome.error_message = result.error_kind, result.error_message
    elif result.status == "not_modified":
        interval = adapt_interval(feed.poll_interval, 0)
        fields = {
            "last_fetched_at": now,
            "last_success_at": now,
            "last_http_status": 304,
            "consecutive_failures": 0,
            "poll_interval": interval,
            "next_poll_at": now + timedelta(seconds=interval),
            "last_new_entries": 0,
        }
    else:
        try:
            parsed = parse_feed(
                result.body,
                now=now,
                content_type=result.content_type,
                base_url=result.url,
                default_language=feed.language,
                source_title=feed.title,
                max_bytes=limits.max_bytes,
            )
        except ParseError as exc:
            fields = _record_failure(feed, now, f"parse:{exc.kind}", exc.message, None, result.http_status)
            outcome.status, outcome.error_kind, outcome.error_message = (
                "error",
                f"parse:{exc.kind}",
                exc.message,
            )
        else:
            try:
                stats = ingest(parsed, feed.pk, feed.url, now)
            except Exception as exc:  # noqa: BLE001 - logged with its traceback and recorded on the feed
                # Storage or matching failed: nothing of this batch was stored (one transaction) and the
                # validators are kept, so the next poll reads the whole batch again.
                kind = "store" if isinstance(exc, DatabaseError) else "ingest"
                log.exception("feed %s: storing or matching entries failed", feed.url)
                message = f"entries could not be stored or matched ({type(exc).__name__}: {exc}); will retry"
                _save_health(feed.pk, _record_failure(feed, now, kind, message, None, result.http_status))
                return PollResult(feed_id, "error", error_kind=kind, error_message=message)
            interval = adapt_interval(feed.poll_interval, stats.new)
            fields = {
                "last_fetched_at": now,
                "last_success_at": now,
                "last_http_status": result.http_status,
                "consecutive_failures": 0,
                "poll_interval": interval,
                "next_poll_at": now + timedelta(seconds=interval),
                "last_new_entries": stats.new,
                # Validators are stored only once the entries are safely in: a failed ingest re-fetches.
                "etag": (result.etag or "")[:500],
                "last_modified": (result.last_modified or "")[:100],
            }
            if not feed.title and parsed.title:
                fields["title"] = parsed.title[:200]
            if parsed.warnings:
                log.info("feed %s parsed with warnings: %s", feed.url, "; ".join(parsed.warnings))
            outcome.entries, outcome.new, outcome.proposed = stats.entries, stats.new, stats.proposed
    if outcome.status != "error" and result.permanent_redirect:
        fields.update(_moved(feed, result.permanent_redirect))
    _save_health(feed.pk, fields)
    outcome.next_poll_at = fields["next_poll_at"].isoformat()
    if outcome.status == "error":
        log.warning("feed %s failed: %s %s", feed.url, outcome.error_kind, outcome.error_message)
    return outcome


def _moved(feed: Feed, new_url: str) -> dict:
    """A feed that answered with permanent redirects only (301/308) now lives at `new_url`: poll it there
    from now on, unless another feed already has that address (then the admin decides)."""
    if new_url == feed.url or len(new_url) > Feed._meta.get_field("url").max_length:
        return {}
    if Feed.objects.filter(url=new_url).exclude(pk=feed.pk).exists():
        log.warning("feed %s moved to %s, which is already another feed: left as it is", feed.url, new_url)
        return {}
    log.info("feed %s moved permanently to %s", feed.url, new_url)
    return {"url": new_url}


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


def enqueue_due_feeds(now: datetime) -> int:
    """Send one poll task per due feed. Returns how many were enqueued."""
    from tracker.feeds.tasks import poll_feed_task

    ids = claim_due_feeds(now)
    for feed_id in ids:
        poll_feed_task.delay(feed_id)
    return len(ids)


def poll_now(feed_ids: list[int], now: datetime) -> int:
    """Admin action: make feeds due now and enqueue them; clears the backoff."""
    from tracker.feeds.tasks import poll_feed_task

    Feed.objects.filter(pk__in=feed_ids).update(next_poll_at=now + CLAIM_LEASE)
    for feed_id in feed_ids:
        poll_feed_task.delay(feed_id)
    return len(feed_ids)


def reset_backoff(feed_ids: list[int], now: datetime) -> int:
    return Feed.objects.filter(pk__in=feed_ids).update(consecutive_failures=0, next_poll_at=now)
