"""The review queue, one card per story.

One event carried by many outlets is one story; the matcher proposes at most one event per (story,
indicator), and later reports join it as sources. The queue shows each story once, with every outlet that
carried it, and inside the card the story's proposals (usually one; a report of a plan may bear on
several indicators), each with its own decision. A proposal with no story (an import of a single entry
that never clustered, or a story since deleted) is a card of its own.

Pages count cards, newest activity first: the grouping and the ordering happen in one SQL query over the
proposed events, so a queue of thousands of proposals costs the same handful of queries per page.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.db.models import BigIntegerField, F, Max, Prefetch, Q
from django.db.models.functions import Coalesce

from indicators.models import Event, State
from tracker.feeds.models import Entry, Story

from .queries import events_with_evidence

ENTRIES_SHOWN = 12


@dataclass
class Card:
    """A story awaiting review: its proposals and the reports that carried it."""

    key: int  # the story's id, or minus the event's id for a proposal with no story
    events: list[Event] = field(default_factory=list)

    @property
    def story(self) -> Story | None:
        return self.events[0].story if self.events else None

    @property
    def title(self):
        return self.story.title if self.story else self.events[0].title

    @property
    def entries(self):
        return list(self.story.entries.all()[:ENTRIES_SHOWN]) if self.story else []

    @property
    def outlet_count(self):
        return self.story.outlet_count if self.story else max(e.corroboration for e in self.events)


def _groups():
    """One row per card: its key and its latest proposal, newest first."""
    key = Coalesce(F("story_id"), -F("id"), output_field=BigIntegerField())
    return (
        Event.objects.filter(state=State.PROPOSED)
        .annotate(card=key)
        .values("card")
        .annotate(latest=Max("created_at"), top=Max("id"))
        .order_by("-latest", "-top")
    )


def proposed_cards(page_number, per_page):
    """The page `page_number` of the queue: a Paginator page whose objects are Cards, and the number of
    proposed events in the whole queue as `page.events_count`."""
    page = Paginator(_groups(), per_page).get_page(page_number)
    keys = [row["card"] for row in page.object_list]
    stories = [k for k in keys if k > 0]
    loners = [-k for k in keys if k < 0]
    events = events_with_evidence(
        Event.objects.filter(state=State.PROPOSED)
        .filter(Q(story_id__in=stories) | Q(pk__in=loners))
        .order_by("-created_at", "-id")
    ).prefetch_related(
        Prefetch(
            "story__entries",
            queryset=Entry.objects.only(
                "id", "story_id", "title", "link", "outlet", "lang", "published_at"
            ).order_by("published_at", "id"),
        )
    )
    cards = {k: Card(key=k) for k in keys}
    by_key = defaultdict(list)
    for e in events:
        by_key[e.story_id if e.story_id in cards else -e.pk].append(e)
    for k, found in by_key.items():
        if k in cards:
            cards[k].events = found
    page.object_list = [card for card in cards.values() if card.events]
    page.events_count = Event.objects.filter(state=State.PROPOSED).count()
    return page
