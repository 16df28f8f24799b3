"""Database aggregation for the dashboards. Every function runs a fixed number of queries, whatever the
number of events: counting and grouping happen in the database (annotate, TruncWeek), never in Python loops
over events."""

import datetime
from dataclasses import dataclass

from django.db.models import F
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber, TruncWeek

from indicators import claims, services
from indicators.models import Category, Direction, Event, Indicator, State
from tracker.dashboards.models import ANCHORAGE_SUMMIT, Milestone

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
    claims: str = ""  # "confirmed": only events confirmed by both sides or independently (indicators.claims)

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
        if self.claims == "confirmed":
            qs = qs.filter(claims.confirmed_q())
        return qs


class WeekStart(TruncWeek):
    """TruncWeek (the Monday of the week) that SQLite computes natively: Django's SQLite TruncWeek calls a
    Python function for every row, which dominates the overview's time at 100,000 events."""

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.lhs)
        monday = f"date({sql}, '-' || ((CAST(strftime('%%w', {sql}) AS INTEGER) + 6) %% 7) || ' days')"
        return monday, (*params, *params)


@dataclass(frozen=True)
class Daily:
    """Confirmed events per (day, indicator, direction), with the highest event id of each group.

    One GROUP BY over the events in range, read from a covering index (state, occurred_on, indicator,
    direction), so no event row is visited. Its rows are bounded by days x 16 indicators x 2 directions,
    whatever the number of events; the overview derives its statuses, timeline and stage progress from
    them.
    """

    rows: tuple  # (day, indicator_id, direction, n, last_id)

    @classmethod
    def load(cls, filters):
        confirmed = Filters(
            since=filters.since,
            until=filters.until,
            category=filters.category,
            indicator=filters.indicator,
            claims=filters.claims,
        )
        return cls(tuple(services.confirmed_daily(events=confirmed.events())))


def indicator_statuses(filters, queryset=None, daily=None):
    """The status of every indicator (indicators.services' rule) from the Daily rows, which the overview
    loads once for all its figures. Each indicator also gets `appeared` (at least one confirmed advance
    in the range), for the stage-progress figure."""
    daily = Daily.load(Filters(since=filters.since, until=filters.until)) if daily is None else daily
    indicators = list(Indicator.objects.all() if queryset is None else queryset)
    advanced = {
        indicator_id for _, indicator_id, direction, _, _ in daily.rows if direction == Direction.ADVANCE
    }
    for ind in indicators:
        ind.appeared = ind.pk in advanced
    return services.statuses_from_daily(
        indicators, daily.rows, services.pending_counts([i.pk for i in indicators])
    )


def weekly_counts(filters, daily=None, categories=None):
    """Confirmed events per (week, category, direction), weeks starting on Monday.

    Counted in the database per day (the Daily aggregate); the days are then summed into weeks, a loop
    over at most days x 16 x 2 rows, not over events. Returns dicts with week, category, direction, n.
    """
    daily = Daily.load(filters) if daily is None else daily
    if categories is None:  # indicator id -> category; pass it when the indicators are already loaded
        categories = dict(Indicator.objects.values_list("pk", "category"))
    weeks = {}
    for day, indicator_id, direction, n, _ in daily.rows:
        key = (day - datetime.timedelta(days=day.weekday()), categories[indicator_id], direction)
        weeks[key] = weeks.get(key, 0) + n
    return [
        {"week": week, "category": category, "direction": direction, "n": n}
        for (week, category, direction), n in sorted(weeks.items())
    ]


def stage_progress(indicators):
    """For stages 1-3: how many indicators there are and how many have appeared (at least one confirmed
    advance in the range). `indicators` come from indicator_statuses(), which set `appeared`."""
    totals, appeared = {}, {}
    for ind in indicators:
        if ind.stage:
            totals[ind.stage] = totals.get(ind.stage, 0) + 1
            appeared[ind.stage] = appeared.get(ind.stage, 0) + int(bool(ind.appeared))
    return [
        {"stage": stage, "total": totals.get(stage, 0), "appeared": appeared.get(stage, 0)}
        for stage in (1, 2, 3)
    ]


def heatmap_cells(filters, titles_per_cell=3):
    """Per (indicator, week): advances, reverses, and the titles of up to `titles_per_cell` latest events.

    Two queries: the counts (the Daily aggregate, summed into weeks) and the titles (a window function
    keeps the latest few per cell).
    """
    cells = {}
    for day, indicator_id, direction, n, _ in Daily.load(filters).rows:
        key = (indicator_id, day - datetime.timedelta(days=day.weekday()))
        cell = cells.setdefault(key, {"advances": 0, "reverses": 0, "titles": []})
        cell["advances" if direction == Direction.ADVANCE else "reverses"] += n
    week = WeekStart("occurred_on")
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
        claims.sources_prefetch()
    )


def event_list(qs):
    """Events as the pages list them (indicator, story, sources; no users, no match explanation): small
    enough to cache."""
    return (
        qs.select_related("indicator", "story")
        .defer("match_terms", "match_explanation", "story__centroid")
        .prefetch_related(claims.sources_prefetch())
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


def _as_date(value):
    return value.date() if isinstance(value, datetime.datetime) else value
