"""Stories that converge, and stories that were joined by mistake: merging and splitting them with their
events, so that nothing an analyst decided is lost and every change is in the events' audit trails.

- `merge_stories(from_story_id, into_story_id, now)`: the pipeline calls it when a later report shows two
  stories are one (tracker.feeds.stories); an admin can too. Each event of the absorbed story joins the
  surviving story's event for the same indicator (its sources and its audit trail move over; a confirmed
  decision wins over a proposal), or moves to the surviving story when it has none. When the two stories
  hold opposite decisions on one indicator (one confirmed, one rejected) nothing is merged: analysts
  disagreed, and `MergeConflict` says so.
- `split_story(entry_ids, now, actor_id)`: the admin's undo. The chosen entries leave for a story of their
  own; the sources they fed move to a new event for each indicator, proposed again (an analyst looks at it
  afresh), and both events record the split.
"""

from __future__ import annotations

from django.db import transaction

from tracker.feeds.models import Entry, Story
from tracker.feeds.store import refresh_stories
from tracker.feeds.stories import absorb_story, rebuild_stories

from .models import Event, EventReview, EventSource, State
from .services import record_edit


class MergeConflict(Exception):
    """Two stories hold opposite analyst decisions on one indicator: they are left apart."""


def merge_stories(
    from_story_id: int, into_story_id: int, now, *, actor_id=None, actor_label="story merge"
) -> int:
    """Merge story `from_story_id` into `into_story_id`; returns how many events were merged."""
    if from_story_id == into_story_id:
        return 0
    with transaction.atomic():
        stories = (
            Story.objects.select_for_update().filter(pk__in=[from_story_id, into_story_id]).order_by("pk")
        )
        if len(stories) != 2:
            return 0
        moving = list(Event.objects.select_for_update().filter(story_id=from_story_id))
        staying = {
            e.indicator_id: e for e in Event.objects.select_for_update().filter(story_id=into_story_id)
        }
        for event in moving:
            other = staying.get(event.indicator_id)
            if other is not None and {event.state, other.state} == {State.CONFIRMED, State.REJECTED}:
                raise MergeConflict(
                    f"events {event.pk} and {other.pk} on {event.indicator} were decided differently: "
                    "the stories stay apart"
                )
        merged = 0
        for event in moving:
            other = staying.get(event.indicator_id)
            if other is None:
                Event.objects.filter(pk=event.pk).update(story_id=into_story_id)
                record_edit(
                    event,
                    now=now,
                    changes={"story": [from_story_id, into_story_id]},
                    note="its story merged into another",
                    actor_id=actor_id,
                    actor_label=actor_label,
                )
            else:
                _absorb_event(event, other, now, actor_id, actor_label)
                merged += 1
        absorb_story(from_story_id, into_story_id)
        Entry.objects.filter(story_id=from_story_id).update(story_id=into_story_id)
        Story.objects.filter(pk=from_story_id).delete()
        refresh_stories([into_story_id])
    return merged


def _absorb_event(event: Event, into: Event, now, actor_id, actor_label) -> None:
    """`event`'s sources and audit trail join `into`; a confirmed decision wins over a proposal."""
    have = set(EventSource.objects.filter(event=into).values_list("url", flat=True))
    EventSource.objects.filter(event=event).exclude(url__in=have).update(event=into)
    EventReview.objects.filter(event=event).update(event=into)
    changes = {"merged event": [event.pk, into.pk]}
    if event.state == State.CONFIRMED and into.state == State.PROPOSED:
        changes["state"] = [into.state, event.state]
        Event.objects.filter(pk=into.pk).update(
            state=event.state,
            direction=event.direction,
            reviewed_by_id=event.reviewed_by_id,
            reviewed_at=event.reviewed_at,
        )
        into.refresh_from_db()
    record_edit(
        into,
        now=now,
        changes=changes,
        note=f"merged with event {event.pk} (“{event.title[:120]}”): one story",
        actor_id=actor_id,
        actor_label=actor_label,
    )
    event.delete()


def split_story(entry_ids: list[int], now, *, actor_id=None) -> int:
    """Move the entries (all of one story) to a story of their own; returns the new story's id."""
    entries = list(Entry.objects.filter(pk__in=entry_ids).order_by("published_at", "pk"))
    stories = {e.story_id for e in entries}
    if len(stories) != 1 or None in stories:
        raise ValueError("choose entries of one and the same story to split it")
    old = stories.pop()
    if Entry.objects.filter(story_id=old).exclude(pk__in=entry_ids).count() == 0:
        raise ValueError("these are all the entries of their story: there is nothing to split from")
    with transaction.atomic():
        head = entries[0]
        new = Story.objects.create(
            title=head.title[:500],
            lang=head.lang,
            first_seen_at=head.published_at or now,
            last_seen_at=head.published_at or now,
        )
        Entry.objects.filter(pk__in=entry_ids).update(story=new)
        for event in Event.objects.select_for_update().filter(story_id=old):
            _split_event(event, new, entry_ids, now, actor_id)
        refresh_stories([old, new.pk])
        rebuild_stories([old, new.pk])
    return new.pk


def _split_event(event: Event, new_story: Story, entry_ids, now, actor_id) -> None:
    sources = EventSource.objects.filter(event=event, entry_id__in=entry_ids)
    if not sources.exists():
        return
    if not EventSource.objects.filter(event=event).exclude(entry_id__in=entry_ids).exists():
        # Every source of the event left: the event goes with them.
        Event.objects.filter(pk=event.pk).update(story=new_story)
        record_edit(
            event,
            now=now,
            changes={"story": [event.story_id, new_story.pk]},
            note="its sources were split into a story of their own",
            actor_id=actor_id,
        )
        return
    copy = Event.objects.create(
        indicator_id=event.indicator_id,
        direction=event.direction,
        occurred_on=event.occurred_on,
        title=new_story.title,
        summary="",
        origin=event.origin,
        state=State.PROPOSED,
        created_at=now,
        story=new_story,
        match_rule=event.match_rule,
        match_terms=event.match_terms,
        match_score=event.match_score,
        match_explanation=event.match_explanation,
    )
    moved = list(sources.values_list("pk", flat=True))
    EventSource.objects.filter(pk__in=moved).update(event=copy)
    EventReview.objects.create(
        event=copy,
        action=EventReview.Action.CREATED,
        to_state=State.PROPOSED,
        changes={"split from event": [event.pk, copy.pk]},
        actor_id=actor_id,
        note=f"split from event {event.pk}: {len(moved)} source(s) reported another event",
        at=now,
    )
    record_edit(
        event,
        now=now,
        changes={"split into event": [event.pk, copy.pk]},
        note=f"{len(moved)} source(s) moved to event {copy.pk}",
        actor_id=actor_id,
    )
