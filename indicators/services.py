"""Plain service functions for the watch list: recording events, reviewing them, deriving status.

Views, tasks and commands call these; they take ids and `now`, validate through the models, and write
the audit trail in the same transaction as the change.
"""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from .models import (
    SUMMIT_SLUG,
    THREAT_SLUG,
    Direction,
    Event,
    EventReview,
    EventSource,
    Indicator,
    Meeting,
    Origin,
    State,
    Threat,
)

# --- Status -------------------------------------------------------------------------------------------


class Status:
    NOT_SEEN = "not_seen"
    ADVANCING = "advancing"
    REVERSED = "reversed"

    LABELS = {NOT_SEEN: "not seen", ADVANCING: "advancing", REVERSED: "reversed"}


@dataclass(frozen=True)
class IndicatorStatus:
    indicator: Indicator
    status: str  # Status.*; derived from confirmed events only
    since: datetime.date | None  # when the indicator entered its current status
    last_event_on: datetime.date | None  # date of the latest confirmed event
    confirmed: int
    pending: int  # proposed events awaiting review: shown as pending, never as confirmed

    @property
    def label(self):
        if self.status == Status.NOT_SEEN and self.pending:
            return "pending review"
        return Status.LABELS[self.status]


def confirmed_daily(*, since=None, until=None, indicator_ids=None, events=None):
    """Confirmed events per (day, indicator, direction) in [since, until], with the highest event id of
    each group: rows of (day, indicator_id, direction, count, last_id), in one GROUP BY. `events`
    narrows the events further (a queryset of Event).

    The rows are bounded by days x indicators x 2, whatever the number of events, and everything a
    status needs can be read from them.
    """
    qs = (Event.objects.all() if events is None else events).filter(state=State.CONFIRMED)
    if since:
        qs = qs.filter(occurred_on__gte=since)
    if until:
        qs = qs.filter(occurred_on__lte=until)
    if indicator_ids is not None:
        qs = qs.filter(indicator_id__in=indicator_ids)
    return list(
        qs.values("occurred_on", "indicator_id", "direction")
        .annotate(n=Count("id"), last_id=Max("id"))
        .order_by()
        .values_list("occurred_on", "indicator_id", "direction", "n", "last_id")
    )


def pending_counts(indicator_ids=None):
    """Proposed events awaiting review, per indicator id (one query)."""
    qs = Event.objects.filter(state=State.PROPOSED)
    if indicator_ids is not None:
        qs = qs.filter(indicator_id__in=indicator_ids)
    return dict(qs.values("indicator_id").annotate(n=Count("id")).order_by().values_list("indicator_id", "n"))


def statuses_from_daily(indicators, daily_rows, pending):
    """The status rule. An indicator's status is the direction of its latest confirmed event (by date,
    then by id); it began with the first event of that direction after the latest opposite one (on the
    opposite event's day when they share it). Takes rows from confirmed_daily() and pending_counts()."""
    seen = {}
    for day, indicator_id, direction, n, last_id in daily_rows:
        entry = seen.setdefault(indicator_id, {"count": 0, "latest": None, "days": {}})
        entry["count"] += n
        if entry["latest"] is None or (day, last_id) > entry["latest"][0]:
            entry["latest"] = ((day, last_id), direction)
        entry["days"].setdefault(direction, []).append(day)
    statuses = []
    for ind in indicators:
        entry = seen.get(ind.pk)
        status, since, last_on, count = Status.NOT_SEEN, None, None, 0
        if entry:
            count = entry["count"]
            (last_on, _), direction = entry["latest"]
            status = Status.ADVANCING if direction == Direction.ADVANCE else Status.REVERSED
            same = entry["days"][direction]
            opposite = entry["days"].get(
                Direction.REVERSE if direction == Direction.ADVANCE else Direction.ADVANCE
            )
            if not opposite:
                since = min(same)
            else:
                last_opposite = max(opposite)
                since = min((d for d in same if d > last_opposite), default=last_on)
        statuses.append(
            IndicatorStatus(
                indicator=ind,
                status=status,
                since=since,
                last_event_on=last_on,
                confirmed=count,
                pending=pending.get(ind.pk, 0),
            )
        )
    return statuses


def indicator_statuses(*, since=None, until=None, queryset=None):
    """Status of every indicator (ordered as the watch list), derived from confirmed events in
    [since, until]: three queries whatever the number of events."""
    indicators = list(Indicator.objects.all() if queryset is None else queryset)
    ids = [i.pk for i in indicators]
    daily = confirmed_daily(since=since, until=until, indicator_ids=ids)
    return statuses_from_daily(indicators, daily, pending_counts(ids))


def indicator_status(indicator_id, *, since=None, until=None):
    return indicator_statuses(since=since, until=until, queryset=Indicator.objects.filter(pk=indicator_id))[0]


# --- Recording events ---------------------------------------------------------------------------------


def record_event(
    *,
    indicator_id,
    direction,
    occurred_on,
    title,
    now,
    origin=Origin.MANUAL,
    summary="",
    sources=(),
    actor_id=None,
    actor_label="",
    story_id=None,
    match_rule="",
    match_terms=(),
    match_score=None,
    match_explanation=None,
):
    """Create an event with its evidence and the first line of its audit trail.

    A manual event logged by an analyst is confirmed on save, with the author recorded; an event from a
    feed starts as `proposed` and needs at least one source URL. `sources` is a list of dicts with `url`
    and optionally `outlet`, `language`, `published_at`, `entry_id`. Raises ValidationError (field by
    field) on bad input; nothing is written then.
    """
    sources = [dict(s) for s in sources]
    if origin == Origin.FEED and not any(s.get("url") for s in sources):
        raise ValidationError({"sources": "An event proposed from a feed needs at least one source URL."})
    manual = origin == Origin.MANUAL
    event = Event(
        indicator_id=indicator_id,
        direction=direction,
        occurred_on=occurred_on,
        title=(title or "").strip(),
        summary=(summary or "").strip(),
        origin=origin,
        state=State.CONFIRMED if manual else State.PROPOSED,
        created_by_id=actor_id,
        reviewed_by_id=actor_id if manual else None,
        reviewed_at=now if manual else None,
        created_at=now,
        story_id=story_id,
        match_rule=match_rule,
        match_terms=list(match_terms),
        match_score=match_score,
        match_explanation=match_explanation or {},
    )
    if indicator_id is not None and not Indicator.objects.filter(pk=indicator_id).exists():
        raise ValidationError({"indicator": "Unknown indicator: choose one of the watch list."})
    event.validation_today = timezone.localdate(now)
    # The fields are validated either way; the constraints and foreign keys are checked here (a query
    # each) only for an analyst's event, whose form shows what to fix. A matcher's proposal has its
    # choices validated as fields, its indicator checked just above, its story and entries are those it
    # read, and the database still enforces every constraint (one event per story and indicator: the
    # proposer reads the existing event first and handles the IntegrityError of a race).
    event.full_clean(
        exclude=["indicator", "story"] if (story_id is None or not manual) else ["indicator"],
        validate_unique=False,
        validate_constraints=manual,
    )
    source_rows = [EventSource(event=event, **s) for s in sources]
    for row in source_rows:
        row.full_clean(
            exclude=["event"] if manual else ["event", "entry"],
            validate_unique=False,
            validate_constraints=False,
        )
    with transaction.atomic():
        event.save()
        seen = set()
        for row in source_rows:
            if row.url in seen:
                continue
            seen.add(row.url)
            row.event = event
            row.save()
        EventReview.objects.create(
            event=event,
            action=EventReview.Action.CREATED,
            to_state=event.state,
            actor_id=actor_id,
            actor_label=actor_label,
            at=now,
        )
    return event


def add_source(
    *,
    event_id,
    url,
    now,
    outlet="",
    language="",
    published_at=None,
    entry_id=None,
    claimant="unknown",
    stance="claim",
):
    """Attach one more piece of evidence to an event (same URL twice is ignored). Returns True if added.
    `claimant` and `stance`: who the text says claims it, and whether it claims or denies it."""
    fields = {
        "outlet": outlet,
        "language": language,
        "published_at": published_at,
        "entry_id": entry_id,
        "claimant": claimant,
        "stance": stance,
    }
    row = EventSource(event_id=event_id, url=url, **fields)
    row.full_clean(exclude=["event"], validate_unique=False, validate_constraints=False)
    _, created = EventSource.objects.get_or_create(event_id=event_id, url=url, defaults=fields)
    return created


# --- Reviewing events ---------------------------------------------------------------------------------

_TRANSITIONS = {
    "confirm": (State.CONFIRMED, EventReview.Action.CONFIRMED),
    "reject": (State.REJECTED, EventReview.Action.REJECTED),
    "reopen": (State.PROPOSED, EventReview.Action.REOPENED),
}


def review_event(event_id, *, action, actor_id, now, direction=None, indicator_id=None, note=""):
    """Confirm, reject or reopen an event, optionally correcting its direction or indicator first.

    Runs under a row lock so that two analysts acting at once each see the other's decision; every
    decision lands in the audit trail with what changed.
    """
    if action not in _TRANSITIONS:
        raise ValidationError({"action": f"Unknown review action {action!r}: use confirm, reject or reopen."})
    to_state, audit_action = _TRANSITIONS[action]
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_id)
        changes = _apply_edits(event, direction=direction, indicator_id=indicator_id)
        from_state = event.state
        if from_state == to_state and not changes:
            return event
        event.state = to_state
        event.reviewed_by_id = actor_id
        event.reviewed_at = now
        event.validation_today = timezone.localdate(now)
        event.full_clean(validate_unique=False, validate_constraints=False)
        event.save()
        EventReview.objects.create(
            event=event,
            action=audit_action,
            from_state=from_state,
            to_state=to_state,
            changes=changes,
            actor_id=actor_id,
            note=note,
            at=now,
        )
    return event


def edit_event(event_id, *, actor_id, now, note="", **fields):
    """Change an event's fields (direction, indicator_id, title, summary, occurred_on), with an audit line."""
    allowed = {"direction", "indicator_id", "title", "summary", "occurred_on"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_id)
        changes = _apply_edits(event, **fields)
        if not changes:
            return event
        event.validation_today = timezone.localdate(now)
        event.full_clean(validate_unique=False, validate_constraints=False)
        event.save()
        record_edit(event, now=now, changes=changes, note=note, actor_id=actor_id)
    return event


def record_edit(event, *, now, changes: dict, note: str = "", actor_id=None, actor_label: str = "") -> None:
    """One "edited" line in the event's audit trail (its state unchanged), by a user or a named process."""
    EventReview.objects.create(
        event=event,
        action=EventReview.Action.EDITED,
        from_state=event.state,
        to_state=event.state,
        changes=changes,
        note=note,
        actor_id=actor_id,
        actor_label=actor_label if actor_id is None else "",
        at=now,
    )


def _apply_edits(event, **fields):
    changes = {}
    for name, value in fields.items():
        if value is None:
            continue
        if name == "indicator_id" and not Indicator.objects.filter(pk=value).exists():
            raise ValidationError({"indicator": "Unknown indicator: choose one of the watch list."})
        old = getattr(event, name)
        if old != value:
            changes[name] = [_jsonable(old), _jsonable(value)]
            setattr(event, name, value)
    if "indicator_id" in changes:
        old_id, new_id = changes.pop("indicator_id")
        slugs = dict(Indicator.objects.filter(pk__in=[old_id, new_id]).values_list("pk", "slug"))
        changes["indicator"] = [slugs.get(old_id), slugs.get(new_id)]
        changes.update(_drop_details(event, slugs.get(new_id)))
    return changes


def _drop_details(event, new_slug):
    """An event moved to another indicator loses the threat's or meeting's details proposed for it, unless
    an outcome was recorded (then Event.clean refuses the move and says so)."""
    dropped = {}
    threat = Threat.objects.filter(event_id=event.pk).first() if new_slug != THREAT_SLUG else None
    if threat is not None and not threat.deadlines.exclude(outcome="").exists():
        dropped["threat"] = [str(threat), None]
        threat.delete()
    meeting = Meeting.objects.filter(event_id=event.pk).first() if new_slug != SUMMIT_SLUG else None
    if meeting is not None:
        dropped["meeting"] = [str(meeting), None]
        meeting.delete()
    return dropped


def _jsonable(value):
    return value.isoformat() if isinstance(value, datetime.date) else value


# --- Trends (CrisisWatch-style arrows) ----------------------------------------------------------------


class Arrow:
    IMPROVED = "improved"  # more confirmed advances than reverses in the window
    DETERIORATED = "deteriorated"  # more reverses than advances
    MIXED = "mixed"  # both, in equal number
    UNCHANGED = "unchanged"  # no confirmed event in the window

    SYMBOLS = {IMPROVED: "↑", DETERIORATED: "↓", MIXED: "↕", UNCHANGED: "→"}


@dataclass(frozen=True)
class Trend:
    advances: int
    reverses: int

    @property
    def arrow(self):
        if self.advances > self.reverses:
            return Arrow.IMPROVED
        if self.reverses > self.advances:
            return Arrow.DETERIORATED
        return Arrow.MIXED if self.advances else Arrow.UNCHANGED

    @property
    def symbol(self):
        return Arrow.SYMBOLS[self.arrow]


def indicator_trends(*, since, until, indicator_ids=None, only=None):
    """Confirmed advances and reverses per indicator id in [since, until] (dates), in one query.

    Every indicator gets a Trend, with zero counts where nothing was confirmed in the window (every
    indicator of the watch list, or those of `indicator_ids` when the caller has them already). `only`: a
    further condition on the events (a Q), e.g. the claims filter of the dashboards.
    """
    events = Event.objects.filter(state=State.CONFIRMED, occurred_on__gte=since, occurred_on__lte=until)
    if only is not None:
        events = events.filter(only)
    rows = (
        events.values("indicator_id")
        .annotate(
            advances=Count("id", filter=Q(direction=Direction.ADVANCE)),
            reverses=Count("id", filter=Q(direction=Direction.REVERSE)),
        )
        .order_by()
    )
    counts = {r["indicator_id"]: Trend(r["advances"], r["reverses"]) for r in rows}
    if indicator_ids is None:
        indicator_ids = Indicator.objects.values_list("pk", flat=True)
    return {pk: counts.get(pk, Trend(0, 0)) for pk in indicator_ids}
