"""Database aggregation for the dashboards. Every function runs a fixed number of queries, whatever the
number of events: counting and grouping happen in the database (annotate, TruncWeek), never in Python loops
over events."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Prefetch, Q
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber, TruncWeek

from indicators.models import Category, Direction, Event, EventSource, Indicator, State
from tracker.models import ANCHORAGE_SUMMIT, Milestone

# The watch list starts just before the summit: the default range of every page.
DEFAULT_SINCE = datetime.date(2025, 8, 1)
TREND_DAYS = 7


@dataclass(frozen=True)
class Filters:
    """What every figure, list and export follows. Dates are inclusive; None means unbounded."""

    since: datetime.date | None = None
    until: datetime.date | None = None
    category: str = ""
    indicator: str = ""  # slug
    direction: str = ""
    state: str = State.CONFIRMED  # "" means every state

    def events(self, qs=None):
        qs = Event.objects.all() if qs is None else qs
        if self.state:
            qs = qs.filter(state=self.state)
        if self.since:
            qs = qs.filter(occurred_on__gte=self.since)
        if self.until:
            qs = qs.filter(occurred_on__lte=self.until)
        if self.category:
            qs = qs.filter(indicator__category=self.category)
        if self.indicator:
            qs = qs.filter(indicator__slug=self.indicator)
        if self.direction:
            qs = qs.filter(direction=self.direction)
        return qs


def weekly_counts(filters):
    """Confirmed events per (week, category, direction): one GROUP BY query.

    Returns a list of dicts with week (a date, the Monday), category, direction and n.
    """
    rows = (
        filters.events()
        .annotate(week=TruncWeek("occurred_on"))
        .values("week", "indicator__category", "direction")
        .annotate(n=Count("id"))
        .order_by("week")
    )
    return [
        {
            "week": _as_date(r["week"]),
            "category": r["indicator__category"],
            "direction": r["direction"],
            "n": r["n"],
        }
        for r in rows
    ]


def stage_progress(filters, indicators):
    """For stages 1-3: how many indicators exist and how many have appeared (at least one confirmed advance
    in the range). `indicators` is the already-loaded watch list; one query for the counts."""
    appeared = dict(
        filters.events()
        .filter(direction=Direction.ADVANCE, indicator__stage__isnull=False)
        .values("indicator__stage")
        .annotate(n=Count("indicator", distinct=True))
        .order_by()
        .values_list("indicator__stage", "n")
    )
    totals = {}
    for ind in indicators:
        if ind.stage:
            totals[ind.stage] = totals.get(ind.stage, 0) + 1
    return [
        {"stage": stage, "total": totals.get(stage, 0), "appeared": appeared.get(stage, 0)}
        for stage in (1, 2, 3)
    ]


def heatmap_cells(filters, titles_per_cell=3):
    """Per (indicator, week): advances, reverses, and the titles of up to `titles_per_cell` latest events.

    Two queries: the counts (GROUP BY) and the titles (a window function keeps the latest few per cell).
    """
    counts = (
        filters.events()
        .annotate(week=TruncWeek("occurred_on"))
        .values("indicator_id", "week")
        .annotate(
            advances=Count("id", filter=Q(direction=Direction.ADVANCE)),
            reverses=Count("id", filter=Q(direction=Direction.REVERSE)),
        )
        .order_by()
    )
    cells = {}
    for r in counts:
        cells[(r["indicator_id"], _as_date(r["week"]))] = {
            "advances": r["advances"],
            "reverses": r["reverses"],
            "titles": [],
        }
    week = TruncWeek("occurred_on")
    titled = (
        filters.events()
        .annotate(
            week=week,
            rank=Window(
                RowNumber(),
                partition_by=[F("indicator_id"), week],
                order_by=[F("occurred_on").desc(), F("id").desc()],
            ),
        )
        .filter(rank__lte=titles_per_cell)
        .values_list("indicator_id", "week", "direction", "title")
    )
    for indicator_id, wk, direction, title in titled:
        cell = cells.get((indicator_id, _as_date(wk)))
        if cell is not None:
            cell["titles"].append((direction, title))
    return cells


def milestones(filters=None):
    """Dated milestones to mark on timelines: the Anchorage summit, then every admin-added one (one query)."""
    rows = [{"date": d, "label": label, "note": ""} for d, label in [ANCHORAGE_SUMMIT]]
    seen = {(r["date"], r["label"]) for r in rows}
    for m in Milestone.objects.values("date", "label", "note"):
        if (m["date"], m["label"]) not in seen:
            rows.append(m)
    if filters is not None:
        rows = [
            r
            for r in rows
            if (not filters.since or r["date"] >= filters.since)
            and (not filters.until or r["date"] <= filters.until)
        ]
    return sorted(rows, key=lambda r: r["date"])


def events_with_evidence(qs):
    """Events with their indicator and sources loaded in two extra queries, not one per event."""
    return qs.select_related("indicator", "story", "created_by", "reviewed_by").prefetch_related(
        Prefetch("sources", queryset=EventSource.objects.order_by("published_at", "id"))
    )


def category_label(value):
    return dict(Category.choices).get(value, value)


def indicators_by_category(items, key=lambda x: x):
    """Group items (indicators, or objects with an .indicator) in the four categories, in catalogue order."""
    groups = {value: [] for value in Category.values}
    for item in items:
        ind = key(item)
        groups.setdefault(ind.category, []).append(item)
    return [(value, category_label(value), groups[value]) for value in groups]


def indicator_choices():
    return list(Indicator.objects.values_list("slug", "title", "category"))


def _as_date(value):
    return value.date() if isinstance(value, datetime.datetime) else value
