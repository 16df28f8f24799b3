"""Store parsed entries once, group them into stories, and hand the new ones to the matcher.

`ingest(parsed, feed_id, source_label, now)` is the one pipeline behind polling and `import_feed`:

1. dedup: an entry already stored (or repeated in the same batch) is skipped, looked up by GUID (within
   its feed), then by canonical link, then by content hash, in a few set-based queries;
2. clustering: each new entry joins the story of a similar report published within the window
   (tracker.feeds.clustering), or starts a new story; stories keep how many independent outlets
   carried them;
3. proposal: `indicators.proposals.propose_for_entries(new_entry_ids, now)` turns new entries into
   proposed events (imported lazily: the matcher lives in another app).

It runs in one transaction, matching included: a failure stores nothing of the batch, and nothing
stored before is touched.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Max, Min, OuterRef, Subquery

from tracker.feeds.clustering import GENERIC, JACCARD_MIN, WINDOW, TitleSignature, compare, signature
from tracker.feeds.parsing import ParsedEntry, ParsedFeed
from tracker.models import Entry, Story

log = logging.getLogger(__name__)
CHUNK = 500


@dataclass
class IngestStats:
    entries: int = 0  # entries in the parsed feed
    new: int = 0  # stored now
    duplicates: int = 0  # already stored (or repeated in the batch)
    new_stories: int = 0
    joined_stories: int = 0  # new entries that joined an existing or batch story
    proposed: int = 0  # events proposed by the matcher

    def as_dict(self) -> dict:
        return asdict(self)


def _chunks(values: list, size: int = CHUNK):
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _existing(field: str, values: set[str], base_qs) -> set[str]:
    found: set[str] = set()
    values_list = sorted(v for v in values if v)
    for part in _chunks(values_list):
        found.update(base_qs.filter(**{f"{field}__in": part}).values_list(field, flat=True))
    return found


def dedup(entries: list[ParsedEntry], feed_id: int | None) -> list[ParsedEntry]:
    """The entries not stored yet, each once: by GUID (per feed), then canonical link, then content hash."""
    guid_qs = Entry.objects.filter(feed_id=feed_id) if feed_id else Entry.objects.filter(feed__isnull=True)
    known_guids = _existing("guid", {e.guid for e in entries}, guid_qs)
    known_links = _existing("canonical_link", {e.canonical_link for e in entries}, Entry.objects.all())
    known_hashes = _existing("content_hash", {e.content_hash for e in entries}, Entry.objects.all())
    fresh = []
    for e in entries:
        if (e.guid and e.guid in known_guids) or (e.canonical_link and e.canonical_link in known_links):
            continue
        if e.content_hash in known_hashes:
            continue
        fresh.append(e)
        if e.guid:
            known_guids.add(e.guid)
        if e.canonical_link:
            known_links.add(e.canonical_link)
        known_hashes.add(e.content_hash)
    return fresh


class _StoryIndex:
    """Reports already grouped into stories, indexed so that a new title is compared only with
    reports that share at least two words, a figure, or a name."""

    def __init__(self):
        self.items: list[tuple[int | str, TitleSignature, datetime]] = []  # (story key, signature, time)
        self.postings: dict[str, list[int]] = defaultdict(list)

    def add(self, story_key, sig: TitleSignature, when: datetime) -> None:
        idx = len(self.items)
        self.items.append((story_key, sig, when))
        for key in self._keys(sig):
            self.postings[key].append(idx)

    @staticmethod
    def _keys(sig: TitleSignature):
        yield from ("t" + t for t in sig.tokens)
        yield from ("n" + n for n in sig.numbers)
        yield from ("e" + e for e in sig.entities)

    def find(self, sig: TitleSignature, when: datetime):
        """The story key of the best matching report within the window, or None.

        Posting counts bound what `compare` can conclude, so it is called only for reports that share
        a figure, or enough words for the Jaccard threshold, or three specific names."""
        token_counts: dict[int, int] = defaultdict(int)
        name_counts: dict[int, int] = defaultdict(int)
        strong: set[int] = set()
        for t in sig.tokens:
            for idx in self.postings.get("t" + t, ()):
                token_counts[idx] += 1
        for n in sig.numbers:
            strong.update(self.postings.get("n" + n, ()))
        for e in sig.entities - GENERIC:
            for idx in self.postings.get("e" + e, ()):
                name_counts[idx] += 1
        candidates = set(strong)
        n_tokens = len(sig.tokens)
        for idx, shared in token_counts.items():
            other = self.items[idx][1]
            if (
                shared / (n_tokens + len(other.tokens) - shared) >= JACCARD_MIN
                and other.language == sig.language
            ):
                candidates.add(idx)
        candidates.update(idx for idx, shared in name_counts.items() if shared >= 3)
        best = None
        best_score = -1.0
        for idx in candidates:
            story_key, other, other_when = self.items[idx]
            if abs(other_when - when) > WINDOW:
                continue
            match = compare(sig, other)
            if match.same and match.score > best_score:
                best, best_score = story_key, match.score
        return best


def _load_index(entries: list[ParsedEntry]) -> _StoryIndex:
    index = _StoryIndex()
    if not entries:
        return index
    earliest = min(e.published for e in entries) - WINDOW
    latest = max(e.published for e in entries) + WINDOW
    rows = Entry.objects.filter(
        story__isnull=False, published_at__gte=earliest, published_at__lte=latest
    ).values_list("story_id", "title", "lang", "published_at")
    for story_id, title, lang, published in rows.iterator(chunk_size=2000):
        index.add(story_id, signature(title, lang), published)
    return index


def _propose(entry_ids: list[int], now: datetime) -> int:
    try:
        from indicators.proposals import propose_for_entries
    except ModuleNotFoundError as exc:
        if exc.name not in ("indicators", "indicators.proposals"):
            raise  # the matcher exists but is broken: a real failure, recorded on the feed
        log.warning("indicators.proposals is not installed; %d new entries not matched", len(entry_ids))
        return 0
    return int(propose_for_entries(entry_ids, now) or 0)


INGEST_LOCK = 7_235_001  # PostgreSQL advisory lock key: "one ingest at a time"


def _serialise_ingests() -> None:
    """Dedup and clustering read what is stored, then write: two polls doing that at once could both
    miss each other's entries (stored twice, or two stories for one event). The write phase is short
    (fetching, the slow part, runs in parallel), so ingests take turns: a transaction-level advisory lock
    on PostgreSQL; SQLite's IMMEDIATE transactions already let one writer in at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INGEST_LOCK])


def ingest(
    parsed: ParsedFeed, feed_id: int | None, source_label: str, now: datetime, *, propose: bool = True
) -> IngestStats:
    """Store, cluster and (unless `propose` is False, for benchmarks) match the parsed entries."""
    stats = IngestStats(entries=len(parsed.entries))
    with transaction.atomic():
        _serialise_ingests()
        fresh = dedup(parsed.entries, feed_id)
        stats.duplicates = stats.entries - len(fresh)
        if not fresh:
            return stats
        index = _load_index(fresh)
        # Assign each fresh entry a story: an existing story id, or ("new", n) for a story made here.
        assignments: list[int | tuple[str, int]] = []
        new_story_heads: list[ParsedEntry] = []
        for e in sorted(range(len(fresh)), key=lambda i: fresh[i].published):
            entry = fresh[e]
            sig = signature(entry.title, entry.language)
            key = index.find(sig, entry.published)
            if key is None:
                key = ("new", len(new_story_heads))
                new_story_heads.append(entry)
            else:
                stats.joined_stories += 1
            index.add(key, sig, entry.published)
            assignments.append((e, key))
        # Lock the existing stories we join, in id order, before writing anything: concurrent polls
        # joining the same stories then queue instead of deadlocking. A story deleted meanwhile is
        # replaced by a new one.
        joined = sorted({key for _, key in assignments if not isinstance(key, tuple)})
        if joined:
            alive = set(
                Story.objects.select_for_update()
                .filter(pk__in=joined)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            replacement: dict[int, tuple[str, int]] = {}
            for i, (e, key) in enumerate(assignments):
                if isinstance(key, tuple) or key in alive:
                    continue
                if key not in replacement:
                    replacement[key] = ("new", len(new_story_heads))
                    new_story_heads.append(fresh[e])
                    stats.joined_stories -= 1
                assignments[i] = (e, replacement[key])
        stories = Story.objects.bulk_create(
            [
                Story(
                    title=h.title[:500], lang=h.language, first_seen_at=h.published, last_seen_at=h.published
                )
                for h in new_story_heads
            ]
        )
        stats.new_stories = len(stories)
        story_ids = {("new", i): s.pk for i, s in enumerate(stories)}
        rows = []
        touched: set[int] = set()
        for e, key in sorted(assignments):
            entry = fresh[e]
            sid = story_ids[key] if isinstance(key, tuple) else key
            touched.add(sid)
            rows.append(
                Entry(
                    feed_id=feed_id,
                    story_id=sid,
                    guid=entry.guid[:1000],
                    link=entry.link[:2000],
                    canonical_link=entry.canonical_link[:2000],
                    title=entry.title[:1000],
                    summary=entry.summary_html,
                    lang=entry.language[:8],
                    outlet=entry.outlet[:200],
                    published_at=entry.published,
                    fetched_at=now,
                    content_hash=entry.content_hash,
                )
            )
        created = Entry.objects.bulk_create(rows, batch_size=CHUNK)
        stats.new = len(created)
        _refresh_stories(sorted(touched))
        # The matcher runs in the same transaction: if it fails, nothing of this batch is stored and the
        # next poll (whose validators were not updated) tries the whole batch again, so no entry is
        # ever stored without having been matched. What was stored before is never touched.
        if propose:
            stats.proposed = _propose([row.pk for row in created], now)
    log.info("ingest %s: %s", source_label, stats.as_dict())
    return stats


def _refresh_stories(story_ids: list[int]) -> None:
    """Recount independent outlets and the time span of the given stories, in the database."""
    entries = Entry.objects.filter(story_id=OuterRef("pk")).order_by().values("story_id")
    for part in _chunks(story_ids):
        Story.objects.filter(pk__in=part).update(
            outlet_count=Subquery(entries.annotate(n=Count("outlet", distinct=True)).values("n")),
            first_seen_at=Subquery(entries.annotate(t=Min("published_at")).values("t")),
            last_seen_at=Subquery(entries.annotate(t=Max("published_at")).values("t")),
        )
