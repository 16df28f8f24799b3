"""Joining stories on meaning, in enrichment: each newly embedded report that is alone in its story is
compared with the centroids of the stories around it (tracker.feeds.semantic) and joins the best one
when meaning and hard evidence agree; a report that joined a story lexically (at store time) refines that
story's centroid. Runs before matching, so a story moved here never carries an event yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Q

from .clustering import signature
from .embeddings import vectors_for
from .encoder import get_encoder, pack, unpack
from .models import Entry, Story
from .semantic import JOIN_THRESHOLD, MERGE_THRESHOLD, WINDOW, StoryIndex, StoryState, same_event, story_score
from .store import refresh_stories


def _load_index(earliest: datetime, latest: datetime, encoder_name: str, encoder_dim: int) -> StoryIndex:
    index = StoryIndex(dim=encoder_dim)
    rows = Story.objects.filter(
        centroid_encoder=encoder_name, last_seen_at__gte=earliest - WINDOW, first_seen_at__lte=latest + WINDOW
    ).values_list("pk", "title", "lang", "centroid", "centroid_count", "first_seen_at", "last_seen_at")
    for pk, title, lang, centroid, count, first, last in rows.iterator(chunk_size=2000):
        index.add_story(pk, unpack(centroid), signature(title, lang), first, count=count, last_seen=last)
    return index


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
        Entry.objects.filter(pk__in=list(vectors), published_at__isnull=False).order_by("published_at", "pk")
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
    touched, emptied = set(), set()
    with transaction.atomic():
        for entry in entries:
            vector, sig, when = vectors[entry.pk], signature(entry.title, entry.lang), entry.published_at
            ranked = index.ranked(vector, sig, when, exclude=entry.story_id)
            alone = entry.story_id is None or sizes.get(entry.story_id, 0) <= 1
            if alone and ranked and ranked[0][0] >= JOIN_THRESHOLD:
                if entry.story_id:
                    emptied.add(entry.story_id)
                Entry.objects.filter(pk=entry.pk).update(story_id=ranked[0][1].key)
                entry.story_id = ranked[0][1].key
                result.moved += 1
                ranked = ranked[1:]
            # Close enough to yet another story: that story and this one report one event.
            result.merges += [
                (story.key, entry.story_id) for score, story in ranked if score >= MERGE_THRESHOLD
            ]
            index.add_report(entry.story_id, vector, sig, when)
            touched.add(entry.story_id)
        _save_centroids(index, touched, encoder.name)
        Story.objects.filter(pk__in=emptied - touched).filter(~Q(entries__isnull=False)).delete()
        refresh_stories(sorted(touched))
    return result


def _save_centroids(index: StoryIndex, keys, encoder_name: str) -> None:
    for state in (index.get(key) for key in keys):
        Story.objects.filter(pk=state.key).update(
            centroid=pack(state.centroid), centroid_encoder=encoder_name, centroid_count=state.count
        )


def converging_story(story_id: int, candidate_ids) -> int | None:
    """Of the stories `candidate_ids` (stories the matcher read as bearing on the same indicator as story
    `story_id`), the one that tells the same event (`semantic.same_event`: close in meaning and evidence,
    within the window), best first; None when none does, or when the stories have no centroid of the
    current encoder."""
    encoder = get_encoder()
    candidate_ids = [pk for pk in candidate_ids if pk != story_id]
    if encoder is None or not candidate_ids:
        return None
    rows = Story.objects.filter(pk__in=[story_id, *candidate_ids], centroid_encoder=encoder.name).values_list(
        "pk", "title", "lang", "centroid", "centroid_count", "first_seen_at", "last_seen_at"
    )
    states = {
        pk: StoryState(pk, unpack(c), n, first, last, set(sig.numbers), set(sig.entities))
        for pk, title, lang, c, n, first, last in rows
        for sig in [signature(title, lang)]
        if c is not None
    }
    mine = states.pop(story_id, None)
    if mine is None:
        return None
    joined = [(story_score(mine, other), pk) for pk, other in states.items() if same_event(mine, other)]
    return max(joined)[1] if joined else None
