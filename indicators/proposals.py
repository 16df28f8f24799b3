"""Turn stored entries into proposed events: one per (story, indicator), corroborated by later entries.

`propose_for_entries(entry_ids, now)` is called by the feed pipeline after new entries are committed.
For each entry and each match at or above the threshold:
- the story has no event for that indicator yet: a `proposed` event is created (via
  indicators.services.record_event) with the entry as its source and the match explanation
  (rule, terms, score) on the event;
- the story already has a proposed or confirmed event for that indicator: the entry is attached to it
  as one more source (corroboration), nothing new is proposed;
- another story close to this one in meaning and evidence, within the join window, has an event for
  that indicator and direction (`tracker.feeds.semantic.same_event`: the shared indicator is evidence
  too): the entry corroborates that event, and the queue does not ask for the same event twice;
- the story's event for that indicator was rejected by an analyst: nothing is done (a human said no);
- the entry reads as a denial (frames: "Kyiv denies Moscow's claim...") and the story has an event for
  that indicator, or a converging story has one in either direction: the entry is attached to it as a
  counter-claim (stance "denial"), not proposed as a new event; with no event to deny, as before.
Every source gets the claimant its entry's title and summary name (indicators.matching.claimants;
"unknown" without a cue: the feed's camp is the outlet's side, not the claimant).
Confirming stays a human act. Safe to run twice on the same entries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F

from tracker.feeds.embeddings import vectors_for
from tracker.feeds.languages import LANGUAGES
from tracker.feeds.models import Entry
from tracker.feeds.semantic import WINDOW
from tracker.feeds.stories import converging_story

from . import services, threats
from .matching import frames
from .matching.claimants import claimant
from .matching.combined import CombinedMatcher, Signal, gate
from .matching.store import get_matcher
from .matching.versions import get_combined_matcher
from .models import Direction, Event, EventSource, Indicator, Origin, Stance, State

log = logging.getLogger(__name__)

SUMMARY_LIMIT = 2000
WORTH_READING = ("in scope", "no theatre cue")  # the gates (`combined.gate`) that let an entry through
CANDIDATES = 50  # events read per entry when looking for a converging story


@dataclass(frozen=True)
class EntryText:
    title: str
    summary: str
    lang: str | None
    theatre: bool


def entry_text(entry) -> EntryText:
    """What the matcher reads from a stored entry: title, plain-text summary, language, theatre flag."""
    lang = (entry.lang or "").lower()[:2] or None
    if lang not in LANGUAGES:
        lang = None
    summary = entry.plain_summary
    feed = entry.feed if entry.feed_id else None
    return EntryText(entry.title or "", summary[:SUMMARY_LIMIT], lang, bool(feed and feed.theatre))


def match_entry(matcher, entry, vector=None, analysis=None, text: EntryText | None = None):
    """The matches of one stored entry: the combined matcher reads its stored vector (and the rules'
    analysis the gate already made, if given), the rules alone (dry-runs) do not need one. `text`: the
    entry's `entry_text`, when the caller has it already."""
    text = text or entry_text(entry)
    if isinstance(matcher, CombinedMatcher):
        return matcher.match(
            text.title, text.summary, lang=text.lang, theatre=text.theatre, vector=vector, analysis=analysis
        )
    return matcher.match(text.title, text.summary, lang=text.lang, theatre=text.theatre)


@dataclass
class Reading:
    """The gate's verdict on entries: those worth embedding and matching, and the rules' analysis of
    each entry read (handed to `propose_for_entries`, so that no text is analysed twice)."""

    worth: list[int] = field(default_factory=list)
    analyses: dict[int, dict] = field(default_factory=dict)


def entries_worth_reading(entry_ids) -> Reading:
    """The cheap lexical gate before the encoder: entries with a theatre cue (or from a theatre feed), or
    with no theatre cue but a full rule match; never those about another theatre."""
    matcher = get_matcher()
    reading = Reading()
    for entry in Entry.objects.filter(pk__in=list(entry_ids)).select_related("feed").iterator(chunk_size=500):
        text = entry_text(entry)
        analysis = matcher.analyse(text.title, text.summary, lang=text.lang, theatre=text.theatre)
        reading.analyses[entry.pk] = analysis
        if gate(analysis) in WORTH_READING:
            reading.worth.append(entry.pk)
    return reading


def _source(entry, lang: str, text: EntryText) -> dict:
    return {
        "url": entry.link or entry.canonical_link,
        "outlet": entry.outlet or (entry.feed.title if entry.feed_id and entry.feed else ""),
        "language": lang,
        "published_at": entry.published_at,
        "entry_id": entry.pk,
        "claimant": claimant(f"{text.title}. {text.summary}", lang),
        "stance": Stance.CLAIM,
    }


def _explanation(match) -> dict:
    if not isinstance(match, Signal):
        return {"mode": "rules only"}
    return {
        "mode": "rules + learned model",
        "model": match.model,
        "probability": match.probability,
        "neighbours": [n.as_dict() for n in match.neighbours],
        "frames": list(match.frames),
        "words": list(match.words),
    }


def _explanation_terms(match) -> list[str]:
    return [*match.terms, *(f"reverse cue: {cue}" for cue in match.reverse_cues)]


def propose_for_entries(entry_ids, now, analyses: dict[int, dict] | None = None) -> int:
    """Match the entries and propose events. Returns the number of events created. `analyses`: the
    rules' analysis of entries already read by the gate (`entries_worth_reading`), by entry id."""
    analyses = analyses or {}
    # An entry the gate already read as saying nothing (no theatre cue, no rule match) or as another
    # theatre's gives no match, with or without the model: it is not read again.
    entry_ids = [i for i in entry_ids or [] if i not in analyses or gate(analyses[i]) in WORTH_READING]
    if not entry_ids:
        return 0
    matcher = get_combined_matcher()
    vectors = vectors_for(entry_ids) if matcher.model else {}
    indicators = dict(Indicator.objects.values_list("slug", "pk"))
    created = 0
    entries = list(
        Entry.objects.filter(pk__in=entry_ids)
        .select_related("feed")
        .annotate(story_first=F("story__first_seen_at"), story_last=F("story__last_seen_at"))
        .order_by("published_at", "pk")
    )
    batch = _BatchEvents(entries)
    with transaction.atomic():  # one commit for the batch; each proposal is a savepoint of its own
        for entry in entries:
            text = entry_text(entry)  # read once: matching, then each proposal's source, frame and details
            matches = match_entry(matcher, entry, vectors.get(entry.pk), analyses.get(entry.pk), text)
            if not matches:
                continue
            if not (entry.link or entry.canonical_link):
                log.warning(
                    "entry %s matched %s but has no link to cite; skipped", entry.pk, matches[0].indicator
                )
                continue
            for match in matches:
                indicator_id = indicators.get(match.indicator)
                if indicator_id is None:
                    log.warning("rule %s names an unknown indicator; skipped", match.rule)
                    continue
                created += _propose_one(entry, match, indicator_id, now, text, batch)
    return created


class _BatchEvents:
    """The events one batch of proposals reads, loaded once rather than per entry and indicator: those of
    the batch's stories, by (story, indicator), and, per (indicator, direction), those whose story lies
    within the join window of the batch (the candidates for a converging story). Events the batch creates
    are added as they are made. Another worker's event created meanwhile is caught by the database's
    unique (story, indicator) constraint, as before."""

    def __init__(self, entries):
        stories = {e.story_id for e in entries if e.story_id is not None}
        self.by_story = {
            (ev.story_id, ev.indicator_id): ev for ev in Event.objects.filter(story_id__in=stories)
        }
        times = [e.published_at for e in entries if e.published_at is not None]
        self.window = (min(times) - WINDOW, max(times) + WINDOW) if times else None
        self.nearby: dict[tuple, list] = {}

    def existing(self, entry, indicator_id):
        if entry.story_id is not None:
            return self.by_story.get((entry.story_id, indicator_id))
        return _existing_event(entry, indicator_id)  # no story: the event the entry already fed, if any

    def candidates(self, entry, indicator_id, direction) -> dict[int, Event]:
        """Story id -> event, for the events of `indicator_id` and `direction` (proposed or confirmed)
        whose story lies within the join window of the entry's time, oldest first, at most 50."""
        key = (indicator_id, direction)
        if key not in self.nearby:
            since, until = self.window
            self.nearby[key] = list(
                Event.objects.filter(
                    indicator_id=indicator_id,
                    direction=direction,
                    state__in=(State.PROPOSED, State.CONFIRMED),
                    story__isnull=False,
                    story__last_seen_at__gte=since,
                    story__first_seen_at__lte=until,
                )
                .annotate(story_first=F("story__first_seen_at"), story_last=F("story__last_seen_at"))
                .order_by("created_at")
            )
        low, high = entry.published_at - WINDOW, entry.published_at + WINDOW
        found = {}
        for event in self.nearby[key]:
            if event.story_last >= low and event.story_first <= high:
                found.setdefault(event.story_id, event)
                if len(found) == CANDIDATES:
                    break
        return found

    def add(self, event, entry) -> None:
        if event.story_id is None:
            return
        self.by_story[(event.story_id, event.indicator_id)] = event
        event.story_first, event.story_last = entry.story_first, entry.story_last
        self.nearby.get((event.indicator_id, event.direction), []).append(event)


def _existing_event(entry, indicator_id):
    """The database's answer (after a race with another worker, or for an entry without a story): the
    story's event, or else the event the entry already fed (running twice proposes nothing new)."""
    if entry.story_id is not None:
        return Event.objects.filter(story_id=entry.story_id, indicator_id=indicator_id).first()
    return Event.objects.filter(indicator_id=indicator_id, sources__entry_id=entry.pk).first()


def _converging_event(entry, indicator_id, direction, batch: _BatchEvents):
    """An event for the same indicator and direction whose story tells the same event as the entry's
    (another outlet's wording that the story join kept apart): the entry corroborates it rather than
    proposing the event a second time. Only stories within the join window of the entry's story."""
    if entry.story_id is None or entry.published_at is None:
        return None
    candidates = batch.candidates(entry, indicator_id, direction)
    story_id = converging_story(entry.story_id, list(candidates))
    return None if story_id is None else candidates[story_id]


def _propose_one(entry, match, indicator_id, now, text: EntryText, batch: _BatchEvents) -> int:
    source = _source(entry, match.lang, text)
    event = batch.existing(entry, indicator_id) or _converging_event(
        entry, indicator_id, match.direction, batch
    )
    if "denial" in frames.found(text.title, text.summary, match.lang):
        # A denial is a counter-claim on the event it denies (read in either direction), never a new one.
        opposite = Direction.REVERSE if match.direction == Direction.ADVANCE else Direction.ADVANCE
        event = event or _converging_event(entry, indicator_id, opposite, batch)
        if event is not None:
            source["stance"] = Stance.DENIAL
    if event is None:
        published = entry.published_at or now
        occurred_on = min(published, now).date()
        try:
            with transaction.atomic():
                proposed = services.record_event(
                    indicator_id=indicator_id,
                    direction=match.direction,
                    occurred_on=occurred_on,
                    title=entry.title[:500],
                    summary=text.summary,
                    now=now,
                    origin=Origin.FEED,
                    sources=[source],
                    actor_label="matcher",
                    story_id=entry.story_id,
                    match_rule=match.rule,
                    match_terms=_explanation_terms(match),
                    match_score=match.score,
                    match_explanation=_explanation(match),
                )
                # A threat's deadline and who made it, a meeting's place and date, where the text says them.
                threats.propose_details(
                    proposed,
                    slug=match.indicator,
                    text=f"{text.title}. {text.summary}",
                    lang=match.lang,
                    published_on=published.date(),
                )
            batch.add(proposed, entry)
            return 1
        except IntegrityError:
            # Another worker proposed the same (story, indicator) meanwhile: corroborate it instead.
            event = _existing_event(entry, indicator_id)
            if event is None:
                raise
            batch.add(event, entry)
        except ValidationError as exc:
            log.warning("entry %s: event for %s not proposed: %s", entry.pk, match.indicator, exc.messages)
            return 0
    if event.state in (State.PROPOSED, State.CONFIRMED):
        if not EventSource.objects.filter(event=event, entry_id=entry.pk).exists():
            try:
                services.add_source(event_id=event.pk, now=now, **source)
            except ValidationError as exc:
                log.warning("entry %s: source not attached to event %s: %s", entry.pk, event.pk, exc.messages)
    return 0
