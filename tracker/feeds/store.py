"""Store parsed entries once, each in its story: the news-in half of a poll.

`store_entries(parsed, feed_id, source_label, now)` is called by the pipeline (tracker.pipeline) for
polls and imports alike:

1. dedup: an entry already stored (or repeated in the same batch) is skipped, looked up by GUID (within
   its feed), then by canonical link, then by content hash, in a few set-based queries;
2. clustering: each new entry joins the story of a similar report published within the window
   (tracker.feeds.clustering), or starts a new story; stories keep how many independent outlets
   carried them.

It runs in one transaction and returns the ids of the entries it stored; what happens to them next
(matching, proposing) is the pipeline's business, not this module's.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Count, Max, Min, OuterRef, Subquery

from .clustering import GENERIC, JACCARD_MIN, WINDOW, TitleSignature, compare, signature
from .models import Entry, Story
from .parsing import ParsedEntry, ParsedFeed

log = logging.getLogger(__name__)
CHUNK = 500


@dataclass
class StoreResult:
    entries: int = 0  # entries in the parsed feed
    new: int = 0  # stored now
    duplicates: int = 0  # already stored (or repeated in the batch)
    new_stories: int = 0
    joined_stories: int = 0  # new entries that joined an existing or batch story
    new_ids: list[int] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "new_ids"}


def _chunks(values: list, size: int = CHUNK):
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _existing(column: str, values: set[str], base_qs) -> set[str]:
    found: set[str] = set()
    values_list = sorted(v for v in values if v)
    for part in _chunks(values_list):
        found.update(base_qs.filter(**{f"{column}__in": part}).values_list(column, flat=True))
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


POSTING_CAP = 60


class TitleIndex:
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
        a figure, or enough words for the Jaccard threshold, or three specific names. Each key's postings
        are read from the most recent POSTING_CAP reports only, so the cost of a new title does not grow
        with the window ("russia" or "drones" are in thousands of titles on a busy day)."""
        token_counts: dict[int, int] = defaultdict(int)
        name_counts: dict[int, int] = defaultdict(int)
        strong: set[int] = set()
        for t in sig.tokens:
            for idx in self.postings.get("t" + t, ())[-POSTING_CAP:]:
                token_counts[idx] += 1
        for n in sig.numbers:
            strong.update(self.postings.get("n" + n, ())[-POSTING_CAP:])
        for e in sig.entities - GENERIC:
            for idx in self.postings.get("e" + e, ())[-POSTING_CAP:]:
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


def _load_index(entries: list[ParsedEntry]) -> TitleIndex:
    index = TitleIndex()
    if not entries:
        return index
    earliest = min(e.published for e in entries) - WINDOW
    latest = max(e.published for e in entries) + WINDOW
    rows = (
        Entry.objects.filter(story__isnull=False, published_at__gte=earliest, published_at__lte=latest)
        .order_by("published_at", "pk")
        .values_list("story_id", "title", "lang", "published_at")
    )
    for story_id, title, lang, published in rows.iterator(chunk_size=2000):
        index.add(story_id, signature(title, lang), published)
    return index


INGEST_LOCK = 7_235_001  # PostgreSQL advisory lock key: "one ingest at a time"


def _serialise_ingests() -> None:
    """Dedup and clustering read what is stored, then write: two polls doing that at once could both
    miss each other's entries (stored twice, or two stories for one event). The write phase is short
    (fetching, the slow part, runs in parallel), so ingests take turns: a transaction-level advisory lock
    on PostgreSQL; SQLite's IMMEDIATE transactions already let one writer in at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [INGEST_LOCK])


def store_entries(parsed: ParsedFeed, feed_id: int | None, source_label: str, now: datetime) -> StoreResult:
    """Store the parsed entries not seen before, each in its story. One transaction; returns the new ids."""
    result = StoreResult(entries=len(parsed.entries))
    with transaction.atomic():
        _serialise_ingests()
        fresh = dedup(parsed.entries, feed_id)
        result.duplicates = result.entries - len(fresh)
        if fresh:
            plan = _plan_stories(fresh)
            _keep_alive_stories(plan, fresh)
            story_ids = _create_stories(plan, result)
            created = _create_entries(fresh, plan, story_ids, feed_id, now)
            result.new, result.new_ids = len(created), [row.pk for row in created]
            result.joined_stories = plan.joined
            refresh_stories(sorted({story_ids.get(key, key) for _, key in plan.assignments}))
    log.info("store %s: %s", source_label, result.as_dict())
    return result


@dataclass
class _StoryPlan:
    """Which story each fresh entry goes to: an existing story id, or ("new", n) for a story made here."""

    assignments: list[tuple[int, int | tuple[str, int]]] = field(default_factory=list)
    heads: list[ParsedEntry] = field(default_factory=list)  # the first entry of each new story
    joined: int = 0  # entries that joined an existing or batch story

    def new_story(self, head: ParsedEntry) -> tuple[str, int]:
        self.heads.append(head)
        return ("new", len(self.heads) - 1)


def _plan_stories(fresh: list[ParsedEntry]) -> _StoryPlan:
    index = _load_index(fresh)
    plan = _StoryPlan()
    for e in sorted(range(len(fresh)), key=lambda i: fresh[i].published):
        entry = fresh[e]
        sig = signature(entry.title, entry.language)
        key = index.find(sig, entry.published)
        if key is None:
            key = plan.new_story(entry)
        else:
            plan.joined += 1
        index.add(key, sig, entry.published)
        plan.assignments.append((e, key))
    return plan


def _keep_alive_stories(plan: _StoryPlan, fresh: list[ParsedEntry]) -> None:
    """Lock the existing stories we join, in id order, before writing anything: concurrent polls joining
    the same stories then queue instead of deadlocking. A story deleted meanwhile is replaced by a new one."""
    joined = sorted({key for _, key in plan.assignments if not isinstance(key, tuple)})
    if not joined:
        return
    alive = set(
        Story.objects.select_for_update().filter(pk__in=joined).order_by("pk").values_list("pk", flat=True)
    )
    replacement: dict[int, tuple[str, int]] = {}
    for i, (e, key) in enumerate(plan.assignments):
        if isinstance(key, tuple) or key in alive:
            continue
        if key not in replacement:
            replacement[key] = plan.new_story(fresh[e])
            plan.joined -= 1
        plan.assignments[i] = (e, replacement[key])


def _create_stories(plan: _StoryPlan, result: StoreResult) -> dict:
    stories = Story.objects.bulk_create(
        [
            Story(title=h.title[:500], lang=h.language, first_seen_at=h.published, last_seen_at=h.published)
            for h in plan.heads
        ]
    )
    result.new_stories = len(stories)
    return {("new", i): s.pk for i, s in enumerate(stories)}


def _create_entries(fresh, plan: _StoryPlan, story_ids: dict, feed_id, now) -> list[Entry]:
    rows = []
    for e, key in sorted(plan.assignments):
        entry = fresh[e]
        rows.append(
            Entry(
                feed_id=feed_id,
                story_id=story_ids.get(key, key),
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
    return Entry.objects.bulk_create(rows, batch_size=CHUNK)


def refresh_stories(story_ids: list[int]) -> None:
    """Recount independent outlets and the time span of the given stories, in the database."""
    entries = Entry.objects.filter(story_id=OuterRef("pk")).order_by().values("story_id")
    for part in _chunks(story_ids):
        Story.objects.filter(pk__in=part).update(
            outlet_count=Subquery(entries.annotate(n=Count("outlet", distinct=True)).values("n")),
            first_seen_at=Subquery(entries.annotate(t=Min("published_at")).values("t")),
            last_seen_at=Subquery(entries.annotate(t=Max("published_at")).values("t")),
        )
