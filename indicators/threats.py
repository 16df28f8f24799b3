"""Threats and their deadlines; the second meeting.

A consequences-threat event may carry a Threat (who threatened, the consequence named) and its deadlines
(ThreatDeadline: the latest is the one in force). When a deadline has passed, the threat is *due*: an
analyst records its outcome — carried out (linked to the follow-up event, such as new sanctions),
extended (the deadline is decided as `extended` and the new one added: the rows keep the history), or
lapsed (a reverse event of consequences-threat is recorded through services.record_event, so the
indicator's status counts it). A deadline within COMING_DAYS shows as coming. Every change lands in the
threat event's audit trail (services.record_edit).

A second-summit event may carry a Meeting (status, place, date); `meeting_line` tells its history in one
line ("Budapest proposed 16 Oct; shelved 21 Oct").

Service functions take ids, `now` (or `today`) and validate through the models.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DateField, F, Value
from django.utils import timezone

from .models import (
    SUMMIT_DATE,
    SUMMIT_SLUG,
    THREAT_SLUG,
    DeadlineOutcome,
    Direction,
    Event,
    Indicator,
    Meeting,
    MeetingStatus,
    State,
    Threat,
    ThreatDeadline,
)
from .services import record_edit, record_event

COMING_DAYS = 7


def _iso(day):
    return day.isoformat() if day else None


def _day(day):
    return f"{day:%-d %b %Y}"


# --- Editing a threat's details and a meeting's -------------------------------------------------------


def set_threat(event_id, *, now, threatened_by="", consequence="", deadline=None, actor_id=None, note=""):
    """Set who threatened, the consequence and the deadline in force of a consequences-threat event, with
    an audit line saying what changed. `deadline` None removes an open deadline; a threat whose last
    deadline was decided (carried out, lapsed) keeps it: a new deadline comes by recording an extension."""
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_id)
        threat = Threat.objects.filter(event=event).first() or Threat(event=event)
        changes = {}
        for name, value in (("threatened_by", threatened_by), ("consequence", consequence)):
            value = (value or "").strip()
            if getattr(threat, name) != value:
                changes[name] = [getattr(threat, name), value]
                setattr(threat, name, value)
        threat.full_clean()
        threat.save()
        current = threat.deadlines.order_by("-set_at", "-id").first() if threat.pk else None
        old = current.due_on if current else None
        if deadline != old:
            if current is not None and current.outcome:
                raise ValidationError(
                    {
                        "deadline": f"The deadline of {_day(old)} is decided "
                        f"({current.get_outcome_display()}): for a new one, record the threat as extended."
                    }
                )
            if current is not None and deadline is None:
                current.delete()
            elif current is not None:
                current.due_on = deadline
                current.full_clean()
                current.save()
            else:
                row = ThreatDeadline(threat=threat, due_on=deadline, set_at=now)
                row.full_clean()
                row.save()
            changes["deadline"] = [_iso(old), _iso(deadline)]
        if changes:
            record_edit(event, now=now, changes=changes, note=note, actor_id=actor_id)
    return threat


def set_meeting(event_id, *, now, status, place="", date=None, actor_id=None, note=""):
    """Set a second-summit event's meeting (status, place, date), with an audit line."""
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_id)
        meeting = Meeting.objects.filter(event=event).first() or Meeting(event=event)
        changes = {}
        for name, value in (("status", status), ("place", (place or "").strip()), ("date", date)):
            old = getattr(meeting, name) if meeting.pk else None
            if old != value:
                changes[name] = [
                    _iso(old) if name == "date" else old,
                    _iso(value) if name == "date" else value,
                ]
                setattr(meeting, name, value)
        meeting.full_clean()
        meeting.save()
        if changes:
            record_edit(event, now=now, changes=changes, note=note, actor_id=actor_id)
    return meeting


def propose_details(event, *, slug, text, lang, published_on):
    """What the matcher reads for a new proposal (called by indicators.proposals, in its transaction):
    a consequences-threat event gets who threatened and the deadline proposed from the text, a
    second-summit event the place and date; nothing when the text says none of it."""
    from .matching.deadlines import find_actor, find_date, find_deadline, find_place

    if slug == THREAT_SLUG:
        who, deadline = find_actor(text), find_deadline(text, lang, published_on)
        if not who and deadline is None:
            return
        threat = Threat.objects.create(event=event, threatened_by=who)
        if deadline is not None:
            ThreatDeadline.objects.create(threat=threat, due_on=deadline, set_by_label="matcher")
    elif slug == SUMMIT_SLUG:
        place, day = find_place(text), find_date(text, lang, published_on)
        if not place and day is None:
            return
        status = MeetingStatus.CANCELLED if event.direction == Direction.REVERSE else MeetingStatus.PROPOSED
        Meeting.objects.create(event=event, status=status, place=place, date=day)


# --- Due and coming -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenDeadline:
    """A deadline in force of a confirmed threat, as of a day: due (passed) or coming (within 7 days)."""

    deadline_id: int
    event_id: int
    title: str
    threatened_by: str
    consequence: str
    due_on: datetime.date
    today: datetime.date

    @property
    def days(self):
        return (self.due_on - self.today).days

    @property
    def is_due(self):
        return self.days < 0

    @property
    def when(self):
        d = self.days
        if d < 0:
            return f"deadline passed {-d} day{'s' if d != -1 else ''} ago"
        if d == 0:
            return "deadline today"
        return f"deadline in {d} day{'s' if d != 1 else ''}"


def open_deadlines(today):
    """Deadlines of confirmed threats awaiting their outcome that have passed (due) or fall within
    COMING_DAYS of `today` (coming), oldest first: one query."""
    rows = (
        ThreatDeadline.objects.filter(
            outcome=DeadlineOutcome.PENDING,
            threat__event__state=State.CONFIRMED,
            due_on__lte=today + datetime.timedelta(days=COMING_DAYS),
        )
        .order_by("due_on", "id")
        .values_list("pk", "threat__event_id", "threat__event__title", "threat__threatened_by",
                     "threat__consequence", "due_on")
    )  # fmt: skip
    return [OpenDeadline(*row, today=today) for row in rows]


# --- Outcomes -----------------------------------------------------------------------------------------


def record_outcome(
    event_id, *, outcome, now, actor_id=None, follow_up_id=None, new_deadline=None, note=""
) -> ThreatDeadline:
    """Record what became of the deadline in force of the threat `event_id`:

    - carried_out: `follow_up_id` names the event that followed (a confirmed event other than the threat);
    - extended: `new_deadline` is later than the current one; the current is kept as `extended`;
    - lapsed: a reverse event of consequences-threat is recorded (confirmed, by the analyst), the
      indicator's reverse, and linked; only once the deadline has passed.

    Raises ValidationError saying what to fix; every outcome writes an audit line on the threat event."""
    if outcome not in (DeadlineOutcome.CARRIED_OUT, DeadlineOutcome.EXTENDED, DeadlineOutcome.LAPSED):
        raise ValidationError({"outcome": "Choose an outcome: carried out, extended or lapsed."})
    today = timezone.localdate(now)
    with transaction.atomic():
        event = Event.objects.select_for_update().get(pk=event_id)
        current = (
            ThreatDeadline.objects.select_for_update()
            .filter(threat__event=event, outcome=DeadlineOutcome.PENDING)
            .select_related("threat")
            .first()
        )
        if current is None:
            raise ValidationError("This threat has no deadline awaiting an outcome.")
        changes = {"deadline_outcome": [None, outcome]}
        if outcome == DeadlineOutcome.CARRIED_OUT:
            follow = Event.objects.filter(pk=follow_up_id, state=State.CONFIRMED).exclude(pk=event.pk).first()
            if follow is None:
                raise ValidationError(
                    {
                        "follow_up": "Pick the confirmed event that carried the threat out "
                        "(e.g. new sanctions)."
                    }
                )
            current.follow_up = follow
            changes["follow_up"] = [None, f"#{follow.pk} {follow.title}"]
        elif outcome == DeadlineOutcome.EXTENDED:
            if new_deadline is None or new_deadline <= current.due_on:
                raise ValidationError(
                    {"new_deadline": f"Give the new deadline, a day after {_day(current.due_on)}."}
                )
            changes["deadline"] = [_iso(current.due_on), _iso(new_deadline)]
        else:
            if current.due_on >= today:
                raise ValidationError(
                    {
                        "outcome": f"The deadline of {_day(current.due_on)} has not passed yet: "
                        "a threat lapses after it."
                    }
                )
            threat = current.threat
            reverse = record_event(
                indicator_id=Indicator.objects.get(slug=THREAT_SLUG).pk,
                direction=Direction.REVERSE,
                occurred_on=min(today, current.due_on + datetime.timedelta(days=1)),
                title=f"Deadline of {_day(current.due_on)} lapsed: {threat}"[:500],
                summary=f"The threat “{event.title}” was not carried out by its deadline. {note}",
                now=now,
                actor_id=actor_id,
            )
            current.follow_up = reverse
            changes["follow_up"] = [None, f"#{reverse.pk} {reverse.title}"]
        current.outcome = outcome
        current.decided_at = now
        current.decided_by_id = actor_id
        current.note = note
        current.full_clean()
        current.save()
        if outcome == DeadlineOutcome.EXTENDED:
            nxt = ThreatDeadline(threat=current.threat, due_on=new_deadline, set_at=now)
            nxt.full_clean(validate_constraints=False)
            nxt.save()
        record_edit(event, now=now, changes=changes, note=note, actor_id=actor_id)
    return current


# --- The ledger ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerDeadline:
    due_on: datetime.date
    outcome: str
    outcome_label: str
    follow_up_id: int | None
    follow_up_title: str


@dataclass
class LedgerThreat:
    event_id: int
    title: str
    occurred_on: datetime.date
    threatened_by: str
    consequence: str
    deadlines: list = field(default_factory=list)

    @property
    def outcome(self):
        return self.deadlines[-1].outcome_label if self.deadlines else "no deadline"


@dataclass
class Ledger:
    threats: list
    since: datetime.date
    counts: dict  # outcome -> deadlines since `since`

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def credibility(self):
        """ "3 deadlines since 15 Aug: 1 followed by action, 1 extended, 1 lapsed" (and those still open)."""
        c, n = self.counts, self.total
        if not n:
            return f"No deadline since {self.since:%-d %b} yet: nothing to judge a threat's credibility by."
        line = (
            f"{n} deadline{'s' if n != 1 else ''} since {self.since:%-d %b}: "
            f"{c.get(DeadlineOutcome.CARRIED_OUT, 0)} followed by action, "
            f"{c.get(DeadlineOutcome.EXTENDED, 0)} extended, {c.get(DeadlineOutcome.LAPSED, 0)} lapsed"
        )
        if c.get(DeadlineOutcome.PENDING):
            pending = c[DeadlineOutcome.PENDING]
            line += f", {pending} awaiting {'its' if pending == 1 else 'their'} outcome"
        return line


def threat_ledger(since=SUMMIT_DATE):
    """Every confirmed threat (consequences-threat advance) with its deadlines and outcomes, newest first,
    and the count of deadlines falling on or after `since` by outcome: two queries."""
    labels = dict(DeadlineOutcome.choices)
    events = (
        Event.objects.filter(indicator__slug=THREAT_SLUG, state=State.CONFIRMED, direction=Direction.ADVANCE)
        .order_by("-occurred_on", "-id")
        .values_list("pk", "title", "occurred_on", "threat__threatened_by", "threat__consequence")
    )
    threats = {
        pk: LedgerThreat(pk, title, day, who or "", what or "") for pk, title, day, who, what in events
    }
    counts = Counter()
    rows = (
        ThreatDeadline.objects.filter(threat__event_id__in=list(threats))
        .order_by("set_at", "id")
        .values_list("threat__event_id", "due_on", "outcome", "follow_up_id", "follow_up__title")
    )
    for event_id, due_on, outcome, follow_id, follow_title in rows:
        threats[event_id].deadlines.append(
            LedgerDeadline(due_on, outcome, labels[outcome], follow_id, follow_title or "")
        )
        if due_on >= since:
            counts[outcome] += 1
    return Ledger(threats=list(threats.values()), since=since, counts=dict(counts))


# --- The second meeting -------------------------------------------------------------------------------

VERBS = {
    MeetingStatus.PROPOSED: "proposed",
    MeetingStatus.SET: "set",
    MeetingStatus.CANCELLED: "shelved",
    MeetingStatus.HELD: "held",
}


def meeting_line(rows):
    """One line from second-summit meetings in order, rows of (occurred_on, status, place, date):
    "Budapest proposed 16 Oct; shelved 21 Oct". A place is named when it changes; a meeting's own date
    follows in brackets ("set 22 Oct (for 30 Oct)")."""
    parts, last_place = [], ""
    for occurred_on, status, place, day in rows:
        words = []
        if place and place != last_place:
            words.append(place)
            last_place = place
        words.append(f"{VERBS.get(status, status)} {occurred_on:%-d %b}")
        if day and status in (MeetingStatus.PROPOSED, MeetingStatus.SET):
            words.append(f"(for {day:%-d %b})")
        parts.append(" ".join(words))
    return "; ".join(parts)


def meeting_rows(*, since=None, until=None):
    """(occurred_on, status, place, date) of confirmed second-summit events with a meeting, in order."""
    qs = Meeting.objects.filter(event__state=State.CONFIRMED, event__indicator__slug=SUMMIT_SLUG)
    if since:
        qs = qs.filter(event__occurred_on__gte=since)
    if until:
        qs = qs.filter(event__occurred_on__lte=until)
    return list(
        qs.order_by("event__occurred_on", "event_id").values_list(
            "event__occurred_on", "status", "place", "date"
        )
    )


def overview_lines(today, *, since=None, until=None):
    """(open deadlines as of `today`, the second meeting's line) for the overview, in one query: the
    open deadlines and the meetings read as one UNION ALL (the overview's queries do not grow)."""
    columns = ("kind", "ident", "event_ref", "text1", "text2", "text3", "day1", "day2")
    deadlines = (
        ThreatDeadline.objects.filter(
            outcome=DeadlineOutcome.PENDING,
            threat__event__state=State.CONFIRMED,
            due_on__lte=today + datetime.timedelta(days=COMING_DAYS),
        )
        .order_by()
        .annotate(
            kind=Value("deadline"),
            ident=F("pk"),
            event_ref=F("threat__event_id"),
            text1=F("threat__event__title"),
            text2=F("threat__threatened_by"),
            text3=F("threat__consequence"),
            day1=F("due_on"),
            day2=Value(None, output_field=DateField()),
        )
        .values_list(*columns)
    )
    meetings = Meeting.objects.filter(event__state=State.CONFIRMED, event__indicator__slug=SUMMIT_SLUG)
    if since:
        meetings = meetings.filter(event__occurred_on__gte=since)
    if until:
        meetings = meetings.filter(event__occurred_on__lte=until)
    meetings = (
        meetings.order_by()
        .annotate(
            kind=Value("meeting"),
            ident=F("event_id"),
            event_ref=F("event_id"),
            text1=F("status"),
            text2=F("place"),
            text3=Value(""),
            day1=F("event__occurred_on"),
            day2=F("date"),
        )
        .values_list(*columns)
    )
    open_rows, meeting = [], []
    for kind, ident, event_id, text1, text2, text3, day1, day2 in deadlines.union(meetings, all=True):
        if kind == "deadline":
            open_rows.append(OpenDeadline(ident, event_id, text1, text2, text3, day1, today=today))
        else:
            meeting.append((day1, event_id, text1, text2, day2))
    open_rows.sort(key=lambda d: (d.due_on, d.deadline_id))
    meeting.sort()
    return open_rows, meeting_line([(day, status, place, date) for day, _, status, place, date in meeting])
