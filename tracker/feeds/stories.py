"""Joining stories on meaning, in enrichment: each newly embedded report that is alone in its story is
compared with the centroids of the stories around it and joins the likeliest one by the join model
(tracker.feeds.semantic); a report that joined a story lexically (at store time) refines that story's
centroid and evidence. Runs before matching, so a story moved here never carries an event yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q

from .embeddings import vectors_for
from .encoder import get_encoder, pack, unpack
from .models import Entry, Story
from .semantic import WINDOW, ReportEvidence, StoryIndex, StoryState, join_model, same_event, story_score
from .store import refresh_stories


def _load_index(earliest: datetime, latest: datetime, encoder_name: str, encoder_dim: int) -> StoryIndex:
    index = StoryIndex(dim=encoder_dim)
    rows = Story.objects.filter(
        centroid_encoder=encoder_name, last_seen_at__gte=earliest - WINDOW, first_seen_at__lte=latest + WINDOW
    ).values_list(*_STATE_FIELDS)
    index.extend([_state(*row) for row in rows.iterator(chunk_size=2000)])
    return index


_STATE_FIELDS = (
    "pk",
    "title",
    "lang",
    "centroid",
    "centroid_count",
    "first_seen_at",
    "last_seen_at",
    "evidence",
)


def _state(pk, title, lang, centroid, count, first, last, evidence) -> StoryState:
    return StoryState.from_row(pk, unpack(centroid), count, first, last, evidence, title, lang)


def _evidence(entry, vector) -> ReportEvidence:
    outlet = entry.outlet or (entry.feed.title if entry.feed_id and entry.feed else "")
    return ReportEvidence.of(vector, entry.title, entry.plain_summary, entry.lang, outlet, entry.published_at)


@dataclass
class Joined:
    moved: int = 0  # reports moved into the story they belong to
    merges: list = field(default_factory=list)  # (absorbed story id, surviving story id): one event


def join_stories(entry_ids: list[int], now: datetime) -> Joined:
    """Move embedded, story-alone reports into the story they belong to, and say which stories a report
    shows to be one (the pipeline merges those with their events: indicators.stories)."""
    encoder = get_encoder()
    vectors = vectors_for(entry_ids) if encoder else {}
    entries = list(
        Entry.objects.filter(pk__in=list(vectors), published_at__isnull=False)
        .select_related("feed")
        .order_by("published_at", "pk")
    )
    result = Joined()
    if not entries:
        return result
    sizes = dict(
        Story.objects.filter(pk__in={e.story_id for e in entries})
        .annotate(n=Count("entries"))
        .values_list("pk", "n")
    )
    index = _load_index(entries[0].published_at, entries[-1].published_at, encoder.name, encoder.dim)
    model = join_model()
    touched, emptied, grown = set(), set(), set()
    with transaction.atomic():
        for entry in entries:
            brought = _evidence(entry, vectors[entry.pk])
            ranked = index.ranked(brought, exclude=entry.story_id, model=model)
            alone = entry.story_id is None or sizes.get(entry.story_id, 0) <= 1
            if alone and ranked and ranked[0][0] >= model.join_threshold:
                if entry.story_id:
                    emptied.add(entry.story_id)
                Entry.objects.filter(pk=entry.pk).update(story_id=ranked[0][1].key)
                entry.story_id = ranked[0][1].key
                grown.add(entry.story_id)
                result.moved += 1
                ranked = ranked[1:]
            # Close enough to yet another story: that story and this one report one event.
            result.merges += [
                (story.key, entry.story_id) for score, story in ranked if score >= model.merge_threshold
            ]
            index.add_report(entry.story_id, brought)
            touched.add(entry.story_id)
        _save_centroids([index.get(key) for key in touched], encoder.name)
        Story.objects.filter(pk__in=emptied - touched).filter(~Q(entries__isnull=False)).delete()
        refresh_stories(sorted(grown))  # outlets and time span: only the stories a report moved into
    return result


def _save_centroids(states, encoder_name: str) -> None:
    for state in states:
        Story.objects.filter(pk=state.key).update(
            centroid=pack(state.centroid),
            centroid_encoder=encoder_name,
            centroid_count=state.count,
            evidence=state.evidence(),
        )


def absorb_story(from_story_id: int, into_story_id: int) -> None:
    """When two stories merge, the absorbed one's centroid and evidence join the survivor's (its reports
    do too: indicators.stories.merge_stories), so later reports are scored against the whole story."""
    encoder = get_encoder()
    if encoder is None:
        return
    rows = Story.objects.filter(
        pk__in=[from_story_id, into_story_id], centroid_encoder=encoder.name, centroid__isnull=False
    ).values_list(*_STATE_FIELDS)
    states = {row[0]: _state(*row) for row in rows}
    if from_story_id not in states or into_story_id not in states:
        return
    survivor = states[into_story_id]
    survivor.absorb(states[from_story_id])
    _save_centroids([survivor], encoder.name)


def rebuild_stories(story_ids) -> None:
    """Recompute stories' centroids and evidence from the reports they hold now (after a split, each of
    the two is scored by its own reports); a story none of whose reports has a vector loses its centroid."""
    encoder = get_encoder()
    if encoder is None:
        return
    index = StoryIndex(dim=encoder.dim)
    for story_id in story_ids:
        entries = Entry.objects.filter(story_id=story_id, published_at__isnull=False).select_related("feed")
        entries = list(entries.order_by("published_at", "pk"))
        vectors = vectors_for([e.pk for e in entries])
        for entry in (e for e in entries if e.pk in vectors):
            index.add_report(story_id, _evidence(entry, vectors[entry.pk]))
        if index.get(story_id) is None:
            Story.objects.filter(pk=story_id).update(
                centroid=None, centroid_encoder="", centroid_count=0, evidence={}
            )
    _save_centroids(index.stories, encoder.name)


def converging_story(story_id: int, candidate_ids) -> int | None:
    """Of the stories `candidate_ids` (stories the matcher read as bearing on the same indicator as story
    `story_id`), the one that tells the same event (`semantic.same_event`: close in meaning and evidence,
    within the window), best first; None when none does, or when the stories have no centroid of the
    current encoder."""
    encoder = get_encoder()
    candidate_ids = [pk for pk in candidate_ids if pk != story_id]
    if encoder is None or not candidate_ids:
        return None
    rows = Story.objects.filter(
        pk__in=[story_id, *candidate_ids], centroid_encoder=encoder.name, centroid__isnull=False
    ).values_list(*_STATE_FIELDS)
    states = {row[0]: _state(*row) for row in rows}
    mine = states.pop(story_id, None)
    if mine is None:
        return None
    joined = [(story_score(mine, other), pk) for pk, other in states.items() if same_event(mine, other)]
    return max(joined)[1] if joined else None
