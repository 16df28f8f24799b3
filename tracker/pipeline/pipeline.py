"""The pipeline, top to bottom: how a feed's bytes become proposed events.

    poll_feed(feed_id, now)                      import_source(source, now)       (manage.py import_feed)
      1. fetch: conditional GET, SSRF guard        1. read the file, or fetch the URL
      2. parse: bounded, sanitised                 2. parse
      3. store: dedup, stories (one transaction)   3. store
      4. record the feed's health                  4. enrich, in this process
      -> the new entry ids, for the enrich task

    enrich_entries(entry_ids, now)                (Celery queue "enrich", or in-process for imports)
      1. claim the entries (conditional UPDATE: two workers never enrich one entry twice)
      2. gate: the rules' cheap theatre check picks the entries worth the encoder
      3. embed them (vectors stored once, in batches)
      4. join stories on meaning: a report alone in its story joins the one it belongs to; stories a
         report shows to be one merge, with their events and audit trails
      5. match (rules + learned model) and propose events (one per story and indicator)
      6. mark them enriched; on failure they stay pending and are retried (`retry_unenriched`)

Each step is a service of the layer that owns it (tracker.feeds for news in, indicators for
interpretation); this module only calls them in order and decides what a failure means.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

import httpx
from django.db import DatabaseError

from indicators.figures import propose_figures
from indicators.proposals import entries_worth_reading, propose_for_entries
from indicators.stories import MergeConflict, merge_stories
from tracker.feeds import enrichment, schedule
from tracker.feeds.embeddings import embed_entries
from tracker.feeds.fetching import FetchLimits, fetch
from tracker.feeds.models import Feed
from tracker.feeds.parsing import ParsedFeed, ParseError, parse_feed
from tracker.feeds.sources import SourceError, read_file
from tracker.feeds.store import store_entries
from tracker.feeds.stories import join_stories

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    feed_id: int
    status: str  # ok | not_modified | error | skipped
    entries: int = 0
    new: int = 0
    error_kind: str = ""
    error_message: str = ""
    next_poll_at: str = ""
    new_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- one poll of one feed


def poll_feed(
    feed_id: int, now: datetime, *, limits: FetchLimits | None = None, client: httpx.Client | None = None
) -> PollResult:
    """Fetch, parse and store one feed once; every outcome, good or bad, is recorded on the feed row.
    The new entries are left pending for `enrich_entries` (the caller enqueues it with `new_ids`)."""
    feed = Feed.objects.filter(pk=feed_id).first()
    if feed is None or not feed.active:
        return PollResult(
            feed_id, "skipped", error_message="no such feed" if feed is None else "feed is inactive"
        )
    limits = limits or FetchLimits.from_settings()
    fetched = fetch(
        feed.url,
        now=now,
        etag=feed.etag or None,
        last_modified=feed.last_modified or None,
        limits=limits,
        client=client,
    )
    if fetched.status == "error":
        fields = schedule.failed(
            feed, now, fetched.error_kind, fetched.error_message, fetched.retry_after, fetched.http_status
        )
        return _finish(
            feed,
            fields,
            PollResult(feed_id, "error", error_kind=fetched.error_kind, error_message=fetched.error_message),
        )
    if fetched.status == "not_modified":
        return _finish(feed, schedule.not_modified(feed, now), PollResult(feed_id, "not_modified"), fetched)
    return _store_fetched(feed, fetched, limits, now)


def _store_fetched(feed: Feed, fetched, limits: FetchLimits, now: datetime) -> PollResult:
    """Parse and store what a poll fetched; a parse error or a failed store is recorded on the feed."""
    try:
        parsed = _parse(
            fetched.body, fetched.content_type, fetched.url, feed.language, feed.title, limits, now
        )
        stored = store_entries(parsed, feed.pk, feed.url, now)
    except ParseError as exc:
        kind = f"parse:{exc.kind}"
        fields = schedule.failed(feed, now, kind, exc.message, None, fetched.http_status)
        return _finish(feed, fields, PollResult(feed.pk, "error", error_kind=kind, error_message=exc.message))
    except DatabaseError as exc:
        # Nothing of this batch was stored (one transaction) and the validators are kept, so the next
        # poll reads the whole batch again.
        log.exception("feed %s: storing entries failed", feed.url)
        message = f"entries could not be stored ({type(exc).__name__}: {exc}); will retry"
        fields = schedule.failed(feed, now, "store", message, None, fetched.http_status)
        return _finish(feed, fields, PollResult(feed.pk, "error", error_kind="store", error_message=message))
    fields = schedule.succeeded(
        feed,
        now,
        new_entries=stored.new,
        http_status=fetched.http_status,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        title=parsed.title,
    )
    outcome = PollResult(feed.pk, "ok", entries=stored.entries, new=stored.new, new_ids=stored.new_ids)
    return _finish(feed, fields, outcome, fetched)


def _parse(body, content_type, base_url, language, source_title, limits, now) -> ParsedFeed:
    parsed = parse_feed(
        body,
        now=now,
        content_type=content_type,
        base_url=base_url,
        default_language=language,
        source_title=source_title,
        max_bytes=limits.max_bytes,
    )
    if parsed.warnings:
        log.info("%s parsed with warnings: %s", base_url or "source", "; ".join(parsed.warnings))
    return parsed


def _finish(feed: Feed, fields: dict, outcome: PollResult, fetched=None) -> PollResult:
    if fetched is not None and fetched.permanent_redirect:
        fields.update(schedule.moved(feed, fetched.permanent_redirect))
    schedule.save_health(feed.pk, fields)
    outcome.next_poll_at = fields["next_poll_at"].isoformat()
    if outcome.status == "error":
        log.warning("feed %s failed: %s %s", feed.url, outcome.error_kind, outcome.error_message)
    return outcome


# --------------------------------------------------------------------------- one import of one source


def import_source(
    source: str, now: datetime, *, language: str = "", limits: FetchLimits | None = None
) -> dict:
    """What `manage.py import_feed` prints for one SOURCE (a file path or an http(s) URL): the same steps
    as a poll, enrichment included, in this process. A bad source is an "error" line, never an exception."""
    limits = limits or FetchLimits.from_settings()
    line = {"source": source, "status": "error", "entries": 0, "new": 0, "proposed": 0, "error": ""}
    try:
        feed, body, content_type, base = _read_source(source, now, limits)
        default_language = language or (feed.language if feed else "")
        parsed = _parse(body, content_type, base, default_language, "", limits, now)
        del body
        stored = store_entries(parsed, feed.pk if feed else None, source, now)
        enriched = enrich_entries(stored.new_ids, now)
    except (SourceError, ParseError) as exc:
        line["error"] = getattr(exc, "message", None) or str(exc)
        return line
    except Exception as exc:  # noqa: BLE001 - reported in the JSON line and logged, never hidden
        log.exception("import_feed: unexpected failure on %s", source)
        line["error"] = f"internal error while importing ({type(exc).__name__}: {exc}); see the log"
        return line
    line.update(status="ok", entries=stored.entries, new=stored.new, proposed=enriched.proposed)
    if enriched.failed:
        line["warnings"] = [f"{enriched.failed} entries could not be matched yet: {enriched.error}"]
    if parsed.warnings:
        line.setdefault("warnings", []).extend(parsed.warnings)
    return line


def _read_source(source: str, now: datetime, limits: FetchLimits):
    """(feed or None, body, content type, base URL) of a file path or an http(s) URL."""
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if not scheme:
        return None, read_file(source, limits.max_bytes), "", ""
    if scheme not in ("http", "https"):
        raise SourceError(f"only files and http(s) URLs can be imported, not {scheme}://")
    feed = Feed.objects.filter(url=source).first()
    fetched = fetch(source, now=now, limits=limits)
    if fetched.status != "ok":
        raise SourceError(fetched.error_message or f"fetch failed ({fetched.status})")
    return feed, fetched.body, fetched.content_type, fetched.url


# --------------------------------------------------------------------------- enrichment


@dataclass
class EnrichResult:
    claimed: int = 0
    embedded: int = 0
    joined: int = 0  # reports moved into the story they belong to, on meaning
    merged: int = 0  # stories found to be one, merged with their events
    enriched: int = 0
    proposed: int = 0
    figures: int = 0  # figures from the news proposed as series points
    failed: int = 0
    error: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def enrich_entries(entry_ids: list[int], now: datetime) -> EnrichResult:
    """Interpret newly stored entries: match them and propose events. Safe to run twice: the entries are
    claimed first (conditional UPDATE), and an enriched entry is never enriched again. On failure the
    entries stay pending, with the error and the attempt counted, for `retry_unenriched` to pick up."""
    result = EnrichResult()
    claimed = enrichment.claim(entry_ids, now)
    result.claimed = len(claimed)
    if not claimed:
        return result
    try:
        reading = entries_worth_reading(claimed)
        result.embedded = embed_entries(reading.worth, now)
        joined = join_stories(claimed, now)
        result.joined, result.merged = joined.moved, _merge(joined.merges, now)
        result.proposed = propose_for_entries(claimed, now, reading.analyses)
        result.figures = propose_figures(reading.worth, now, reading.analyses)  # in scope only
    except Exception as exc:  # noqa: BLE001 - recorded on the entries and logged; they are retried
        log.exception("enrichment of %d entries failed", len(claimed))
        result.failed, result.error = len(claimed), f"{type(exc).__name__}: {exc}"[:500]
        enrichment.release_failed(claimed, now, result.error)
        return result
    result.enriched = enrichment.mark_done(claimed, now)
    return result


def _merge(merges: list[tuple[int, int]], now: datetime) -> int:
    """Merge the stories a report showed to be one; stories with opposite analyst decisions stay apart."""
    done = 0
    for absorbed, survivor in merges:
        try:
            merge_stories(absorbed, survivor, now)
        except MergeConflict as exc:
            log.info("stories %s and %s not merged: %s", absorbed, survivor, exc)
        else:
            done += 1
    return done


def retry_unenriched(now: datetime, limit: int = 500) -> list[int]:
    """Ids of entries still pending (failed, or whose worker died), for the enrich task to try again."""
    return enrichment.pending(now, limit=limit)
