"""Database aggregation for the dashboards. Every function runs a fixed number of queries, whatever the
number of events: counting and grouping happen in the database (annotate, TruncWeek), never in Python loops
over events."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, F, Max, Prefetch
from django.db.models.expressions import Window
from django.db.models.functions import RowNumber, TruncWeek

from indicators import services
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
            since=filters.since, until=filters.until, category=filters.category, indicator=filters.indicator
        )
        rows = (
            confirmed.events()
            .values("occurred_on", "indicator_id", "direction")
            .annotate(n=Count("id"), last_id=Max("id"))
            .order_by()
            .values_list("occurred_on", "indicator_id", "direction", "n", "last_id")
        )
        return cls(tuple(rows))


def indicator_statuses(filters, queryset=None, daily=None):
    """The status of every indicator, as indicators.services.indicator_statuses derives it, in two queries
    (the indicators, the pending counts) plus the Daily aggregate, whatever the number of events.

    The service nests correlated subqueries (each status field refers to the previous one), which SQLite
    re-evaluates row by row: about 20 seconds at 100,000 events. Here the same inputs (latest direction and
    date, last opposite date, first date of the current direction, start of the current run, counts) come
    from the Daily rows, and the service's own rule, services._to_status, turns them into IndicatorStatus
    objects: the status logic stays in one place. Each indicator also gets `appeared` (at least one
    confirmed advance in the range), for the stage-progress figure.
    """
    queryset = Indicator.objects.all() if queryset is None else queryset
    daily = Daily.load(Filters(since=filters.since, until=filters.until)) if daily is None else daily
    indicators = list(queryset)
    pending = dict(
        Event.objects.filter(state=State.PROPOSED, indicator__in=[i.pk for i in indicators])
        .values("indicator_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("indicator_id", "n")
    )
    seen = {}
    for day, indicator_id, direction, n, last_id in daily.rows:
        entry = seen.setdefault(indicator_id, {"count": 0, "latest": None, "days": {}})
        entry["count"] += n
        if entry["latest"] is None or (day, last_id) > entry["latest"][0]:
            entry["latest"] = ((day, last_id), direction)
        entry["days"].setdefault(direction, []).append(day)
    for ind in indicators:
        entry = seen.get(ind.pk)
        ind.pending_count = pending.get(ind.pk, 0)
        ind.confirmed_count = entry["count"] if entry else 0
        ind.appeared = bool(entry and entry["days"].get(Direction.ADVANCE))
        ind.last_direction = ind.last_event_on = ind.last_opposite_on = ind.first_on = ind.run_start_on = None
        if not entry:
            continue
        (ind.last_event_on, _), ind.last_direction = entry["latest"]
        same = entry["days"][ind.last_direction]
        opposite = entry["days"].get(
            Direction.REVERSE if ind.last_direction == Direction.ADVANCE else Direction.ADVANCE, []
        )
        ind.first_on = min(same)
        if opposite:
            ind.last_opposite_on = max(opposite)
            ind.run_start_on = min((d for d in same if d > ind.last_opposite_on), default=None)
    return [services._to_status(ind) for ind in indicators]


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
