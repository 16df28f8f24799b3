"""Measured series: daily figures (drones launched, missiles launched...) read against the pre-summit
baseline, imported from CSV or entered by an analyst, and the proposal made when the 28-day mean leaves the
band between a series' thresholds.

Service functions take ids and `now`, validate through the models (SeriesPoint.full_clean) and keep every
change of a point in its history (SeriesPointRevision) in the same transaction. Whoever changes points calls
points_changed() afterwards: it checks the signal, once per crossing, and marks the dashboards' data changed.
"""

import csv
import datetime
import math
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from . import changes
from .models import Direction, Origin, Series, SeriesPoint, SeriesPointRevision, SignalSide
from .services import record_event

RECENT_DAYS = 28
SHORT_DAYS = 7
# A mean needs a figure on at least this share of its window's days; below that the sentence says so.
MIN_SHARE = 0.5
COLUMNS = ("series", "date", "value")
OPTIONAL_COLUMNS = ("source_url", "note")


# --- Reading a series ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    since: datetime.date
    until: datetime.date
    points: int  # days with a figure in [since, until]
    mean: float | None  # None when too few days have a figure

    @property
    def days(self):
        return (self.until - self.since).days + 1

    @property
    def needed(self):
        return math.ceil(self.days * MIN_SHARE)


@dataclass(frozen=True)
class Reading:
    """A series read to its latest point: the baseline mean, the 28-day mean and the change between."""

    series: Series
    points: list = field(repr=False)  # [(date, value)], oldest first
    baseline: Window
    recent: Window | None  # None when the series has no point

    @property
    def latest(self):
        return self.points[-1][0] if self.points else None

    @property
    def change(self):
        """The 28-day mean against the baseline mean, as a fraction (-0.5: half); None if not computable."""
        if self.recent is None or self.recent.mean is None or not self.baseline.mean:
            return None
        return self.recent.mean / self.baseline.mean - 1

    @property
    def side(self):
        """Where the change lies against the thresholds: below, above or inside the band (None: unknown)."""
        change = self.change
        if change is None:
            return None
        s = self.series
        low, high = sorted((s.advance_threshold, s.reverse_threshold))
        if change <= low:
            return SignalSide.BELOW
        if change >= high:
            return SignalSide.ABOVE
        return SignalSide.INSIDE

    @property
    def sentence(self):
        return sentence(self)


def window(points, since, until):
    values = [v for d, v in points if since <= d <= until]
    w = Window(since=since, until=until, points=len(values), mean=None)
    if values and len(values) >= w.needed:
        w = Window(since=since, until=until, points=len(values), mean=sum(values) / len(values))
    return w


def read(series, points=None):
    """The Reading of a series (its points loaded in one query unless given as [(date, value)])."""
    if points is None:
        points = list(series.points.order_by("date").values_list("date", "value"))
    baseline = window(points, series.baseline_since, series.baseline_until)
    recent = None
    if points:
        latest = points[-1][0]
        recent = window(points, latest - datetime.timedelta(days=RECENT_DAYS - 1), latest)
    return Reading(series=series, points=points, baseline=baseline, recent=recent)


SERIES_FIELDS = (
    "id",
    "slug",
    "title",
    "unit",
    "indicator_id",
    "baseline_since",
    "baseline_until",
    "drop_is_advance",
    "advance_threshold",
    "reverse_threshold",
    "position",
)


def all_readings():
    """Readings of every series in one query (the series left-joined with their points): what the
    overview's cards and the indicator page show."""
    series, points = {}, {}
    rows = Series.objects.order_by("position", "slug", "points__date").values_list(
        *SERIES_FIELDS, "points__date", "points__value"
    )
    for *fields, day, value in rows:
        pk = fields[0]
        if pk not in series:
            series[pk] = Series(**dict(zip(SERIES_FIELDS, fields, strict=True)))
            points[pk] = []
        if day is not None:
            points[pk].append((day, value))
    return [read(series[pk], points[pk]) for pk in series]


def number(value):
    """412, 12.5, 1,204: whole numbers from 10 up, one decimal below."""
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.1f}".rstrip("0").rstrip(".")


def per_unit(unit):
    """ "per day" reads "a day" after a figure."""
    unit = (unit or "").strip()
    return "a " + unit[4:] if unit.startswith("per ") else unit


def _span(since, until):
    if since.year == until.year:
        return f"{since:%-d %b}–{until:%-d %b %Y}"
    return f"{since:%-d %b %Y}–{until:%-d %b %Y}"


def percent_phrase(change):
    pct = round(abs(change) * 100)
    if pct == 0:
        return "the same as"
    return f"{pct}% {'below' if change < 0 else 'above'}"


def sentence(reading):
    """ "28-day mean 412 a day, 38% above the pre-summit baseline of 298", or why it cannot be said."""
    s, unit = reading.series, per_unit(reading.series.unit)
    base, recent = reading.baseline, reading.recent
    if recent is None:
        return f"No figure yet for {s.title.lower()}."
    to = f"to {reading.latest:%-d %b %Y}"
    if recent.mean is None:
        return (
            f"Too few points for a 28-day mean {to}: {recent.points} of the {recent.days} days have a figure "
            f"({recent.needed} needed)."
        )
    head = f"28-day mean {number(recent.mean)} {unit} ({to})".replace("  ", " ")
    span = _span(base.since, base.until)
    if base.mean is None:
        return (
            f"{head}; too few points in the pre-summit baseline ({span}) to compare: {base.points} of its "
            f"{base.days} days have a figure ({base.needed} needed)."
        )
    if reading.change is None:  # a baseline mean of 0: no fraction of it
        return f"{head}, against a pre-summit baseline of 0 ({span})."
    return (
        f"{head}, {percent_phrase(reading.change)} the pre-summit baseline of {number(base.mean)} ({span})."
    )


def rolling(points, days):
    """Trailing means over `days` calendar days, on each day with a point (None with too few points)."""
    out = []
    for day, _ in points:
        w = window(points, day - datetime.timedelta(days=days - 1), day)
        out.append(w.mean)
    return out


# --- Writing points -----------------------------------------------------------------------------------


class PointOutcome:
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def save_point(series_id, day, value, *, now, source_url="", note="", actor_id=None, actor_label=""):
    """Add or correct the point of a series on a day. The same figure again changes nothing; a changed
    value (or a new source URL or note) updates the point and writes a revision. Empty source_url and note
    keep the stored ones. Raises ValidationError, field by field, on bad input (nothing written).

    Returns PointOutcome.NEW, UPDATED or UNCHANGED. Call points_changed() when done."""
    source_url, note = (source_url or "").strip(), (note or "").strip()
    with transaction.atomic():
        point = SeriesPoint.objects.select_for_update().filter(series_id=series_id, date=day).first()
        if point is None:
            point = SeriesPoint(series_id=series_id, date=day, created_at=now)
            old_value, outcome = None, PointOutcome.NEW
        else:
            old_value, outcome = point.value, PointOutcome.UPDATED
            same = (
                point.value == value
                and (not source_url or source_url == point.source_url)
                and (not note or note == point.note)
            )
            if same:
                return PointOutcome.UNCHANGED
        point.value = value
        point.source_url = source_url or point.source_url
        point.note = note or point.note
        point.updated_at = now
        point.validation_today = timezone.localdate(now)
        point.full_clean(exclude=["series"], validate_unique=False, validate_constraints=False)
        point.save()
        SeriesPointRevision.objects.create(
            point=point,
            old_value=old_value,
            new_value=value,
            source_url=point.source_url,
            note=point.note,
            at=now,
            actor_id=actor_id,
            actor_label="" if actor_id else actor_label[:300],
        )
    return outcome


def points_changed(series_ids, *, now):
    """After points changed: check each series' signal, and mark the watch list's data changed (the
    dashboards' cache shows the new sentence). Returns the events proposed."""
    proposed = []
    for series_id in sorted(set(series_ids)):
        event = check_signal(series_id, now=now)
        if event is not None:
            proposed.append(event)
    changes.bump()
    return proposed


# --- The signal ---------------------------------------------------------------------------------------


def check_signal(series_id, *, now):
    """Compare the 28-day mean with the baseline. When it has crossed out of the band since the last
    check (below the lower threshold, or above the upper one), propose one event for the series'
    indicator with the figures as evidence, and remember the side, so that re-imports propose nothing
    until the mean comes back inside the band and crosses again. Never confirms anything.

    Returns the proposed event, or None."""
    with transaction.atomic():
        series = Series.objects.select_for_update().select_related("indicator").get(pk=series_id)
        reading = read(series)
        side = reading.side
        if side is None or side == series.last_signal:
            return None
        event = None
        if side != SignalSide.INSIDE:
            event = _propose(reading, side, now=now)
        series.last_signal = side
        series.last_signal_on = reading.latest
        series.save(update_fields=["last_signal", "last_signal_on"])
    return event


def _propose(reading, side, *, now):
    s = reading.series
    below = side == SignalSide.BELOW
    direction = Direction.ADVANCE if below == s.drop_is_advance else Direction.REVERSE
    threshold = s.advance_threshold if direction == Direction.ADVANCE else s.reverse_threshold
    change = reading.change
    base, recent = reading.baseline, reading.recent
    title = f"{s.title}: 28-day mean {percent_phrase(change)} the pre-summit baseline"
    article = "an" if direction == Direction.ADVANCE else "a"
    summary = (
        f"{reading.sentence} {recent.points} of the {recent.days} days to {reading.latest:%-d %b %Y} have a "
        f"figure; the baseline has {base.points} of {base.days}. Threshold for {article} "
        f"{direction}: {threshold:+.0%}. Proposed by the series check, never confirmed by it: review the "
        f"figures at {_series_url(s)}."
    )
    latest_url = next(
        (
            u
            for u in SeriesPoint.objects.filter(series=s)
            .order_by("-date")
            .values_list("source_url", flat=True)[:1]
            if u
        ),
        "",
    )
    url = latest_url or _series_url(s)
    return record_event(
        indicator_id=s.indicator_id,
        direction=direction,
        occurred_on=reading.latest,
        title=title,
        summary=summary,
        now=now,
        origin=Origin.FEED,
        sources=[{"url": url, "outlet": f"Watchpost series: {s.title}"}],
        actor_label="series",
        match_rule=f"series {s.slug}",
        match_terms=[f"28-day mean {percent_phrase(change)} baseline"],
        match_score=round(change, 4),
        match_explanation={
            "series": {
                "slug": s.slug,
                "unit": s.unit,
                "baseline": {
                    "since": base.since.isoformat(),
                    "until": base.until.isoformat(),
                    "mean": base.mean,
                    "points": base.points,
                },
                "recent": {
                    "since": recent.since.isoformat(),
                    "until": recent.until.isoformat(),
                    "days": RECENT_DAYS,
                    "mean": recent.mean,
                    "points": recent.points,
                },
                "change": change,
                "threshold": threshold,
                "side": side,
            }
        },
    )


def _series_url(series):
    return f"{settings.SITE_URL}{series.get_absolute_url()}"


# --- Importing CSV ------------------------------------------------------------------------------------


def import_csv(path, *, now):
    """Import one CSV file of points (header `series,date,value`, optional `source_url,note`; lines
    starting with # are comments). Returns the command's JSON line:

        {"source", "status": "ok"|"error", "rows", "new", "updated", "errors": [{"line", "error"}]}

    A bad row is named with its line and what to fix, and the good rows still go in. A file that cannot be
    read, or has a wrong header, is "status": "error" with the message as its only error (line null, or
    the header's line)."""
    source = str(path)
    line = {"source": source, "status": "ok", "rows": 0, "new": 0, "updated": 0, "errors": []}

    def fail(message, lineno=None):
        line["status"] = "error"
        line["errors"].append({"line": lineno, "error": message})
        return line

    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = "it is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else (exc.strerror or str(exc))
        return fail(
            f"Cannot read {source}: {reason}. Give a UTF-8 CSV file with the header series,date,value."
        )
    lines = [
        (n, raw)
        for n, raw in enumerate(text.splitlines(), start=1)
        if raw.strip() and not raw.lstrip().startswith("#")
    ]
    if not lines:
        return fail("The file has no header: its first line (after # comments) must be series,date,value.")
    header_no, header_raw = lines[0]
    header = [c.strip().lower() for c in next(csv.reader([header_raw]))]
    missing = [c for c in COLUMNS if c not in header]
    unknown = [c for c in header if c not in COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        what = []
        if missing:
            what.append(f"missing {', '.join(missing)}")
        if unknown:
            what.append(f"unknown {', '.join(unknown)}")
        if len(set(header)) != len(header):
            what.append("a column named twice")
        return fail(
            f"Wrong header ({'; '.join(what)}): the first line must be series,date,value, optionally "
            "followed by source_url and note.",
            header_no,
        )
    slugs = dict(Series.objects.values_list("slug", "pk"))
    label = Path(source).name
    seen = {}
    touched = set()
    for lineno, raw in lines[1:]:
        line["rows"] += 1
        cells = next(csv.reader([raw]))
        try:
            series_id, day, value, extra = _parse_row(cells, header, slugs, lineno, seen)
            outcome = save_point(series_id, day, value, now=now, actor_label=label, **extra)
        except ValidationError as exc:
            line["errors"].append({"line": lineno, "error": message(exc)})
            continue
        if outcome != PointOutcome.UNCHANGED:
            line[outcome] += 1
            touched.add(series_id)
    if touched:
        try:
            points_changed(touched, now=now)
        except ValidationError as exc:
            line["errors"].append(
                {"line": None, "error": f"The points went in, but no proposal: {message(exc)}"}
            )
    return line


def _parse_row(cells, header, slugs, lineno, seen):
    if len(cells) != len(header):
        raise ValidationError(
            f"expected {len(header)} columns ({','.join(header)}), found {len(cells)}: "
            "give every column, leaving optional ones empty (a comma with nothing after it)."
        )
    if any("\x00" in cell for cell in cells):
        raise ValidationError("the line holds a NUL character: save the file as plain UTF-8 text.")
    row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
    for name in COLUMNS:
        if not row[name]:
            raise ValidationError(f"the {name} column is empty: fill it in.")
    if row["series"] not in slugs:
        known = ", ".join(sorted(slugs)) or "none yet"
        raise ValidationError(
            f"unknown series {row['series']!r}: use one of {known} (an admin adds series in the admin)."
        )
    try:
        day = datetime.date.fromisoformat(row["date"])
        if len(row["date"]) != 10:
            raise ValueError
    except ValueError:
        raise ValidationError(
            f"impossible date {row['date']!r}: write a real day as YYYY-MM-DD, e.g. 2025-09-07."
        ) from None
    value = parse_value(row["value"])
    key = (row["series"], day)
    if key in seen:
        raise ValidationError(
            f"{row['series']} on {day.isoformat()} is already given on line {seen[key]}: keep one line per "
            "series and day."
        )
    seen[key] = lineno
    extra = {"source_url": row.get("source_url", ""), "note": row.get("note", "")}
    return slugs[row["series"]], day, value, extra


def parse_value(text):
    """A figure from text: a number of 0 or more, or a ValidationError saying what to fix."""
    text = (text or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(
            f"value {text!r} is not a number: write digits only, e.g. 412 or 12.5 "
            "(no unit, no thousands separator)."
        ) from None
    if not math.isfinite(value):
        raise ValidationError(f"value {text!r} is not a number: write digits only, e.g. 412 or 12.5.")
    if value < 0:
        raise ValidationError(f"value {text} is negative: a figure is 0 or more.")
    return value


def message(exc):
    """A ValidationError as one line of text."""
    if hasattr(exc, "error_dict"):
        return " ".join(f"{name}: {m}" for name, errs in exc.message_dict.items() for m in errs)
    return " ".join(exc.messages)
