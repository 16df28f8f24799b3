"""What a weekly digest says: status changes, newly confirmed events, pending reviews, threats due or
coming, and stage lines.

`build_digest_for` gathers the statuses before and after the week once, then fills one Section per
followed category; the email templates and the preview page render the resulting Digest.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone

from indicators.models import STAGE_CHOICES, Category, Event, EventSource, Indicator, State
from indicators.roles import is_analyst
from indicators.services import (
    Status,
    confirmed_daily,
    indicator_trends,
    pending_counts,
    statuses_from_daily,
)
from indicators.threats import open_deadlines
from tracker.digests.models import Subscription

from .schedule import due_at, next_due
from .tokens import unsubscribe_token
from .weeks import IsoWeek

MAX_SOURCES_SHOWN = 5


def absolute(path):
    return f"{settings.SITE_URL}{path}"


@dataclass(frozen=True)
class StatusChange:
    indicator: object
    before: object  # IndicatorStatus at the end of the previous week
    after: object  # IndicatorStatus at the end of the week
    trend: object  # Trend of the week (CrisisWatch arrow)

    @property
    def url(self):
        return absolute(reverse("indicator", args=[self.indicator.slug]))

    @property
    def before_label(self):
        return Status.LABELS[self.before.status]

    @property
    def after_label(self):
        return Status.LABELS[self.after.status]


@dataclass(frozen=True)
class EventItem:
    event: object
    late: bool  # happened before the week, confirmed since the previous digest
    sources: list
    more_sources: int
    corroboration: int

    @property
    def url(self):
        return absolute(reverse("indicator", args=[self.event.indicator.slug]))


@dataclass
class Section:
    category: str
    label: str
    changes: list = field(default_factory=list)
    events: list = field(default_factory=list)
    pending: int | None = None

    @property
    def is_empty(self):
        return not self.changes and not self.events


@dataclass(frozen=True)
class StageLine:
    stage: int
    label: str
    total: int
    advancing: int
    reversed: int


@dataclass
class Digest:
    subscription: Subscription
    week: IsoWeek
    now: datetime.datetime
    sections: list
    stages: list
    pending_total: int | None  # proposals awaiting review, for analysts only
    overview_url: str
    manage_url: str
    unsubscribe_url: str
    threats: list = field(default_factory=list)  # ThreatItem: deadlines due or coming (coercive followed)

    @property
    def start(self):
        return self.week.monday

    @property
    def end(self):
        return self.week.sunday

    @property
    def period(self):
        a, b = self.start, self.end
        if a.year != b.year:
            return f"{a.day} {a:%B %Y} – {b.day} {b:%B %Y}"
        if a.month != b.month:
            return f"{a.day} {a:%B} – {b.day} {b:%B %Y}"
        return f"{a.day}–{b.day} {b:%B %Y}"

    @property
    def period_ascii(self):
        """The period for the subject line: plain ASCII keeps the header unencoded and readable."""
        return self.period.replace("–", "-")

    @property
    def category_labels(self):
        return ", ".join(s.label.lower() for s in self.sections)

    @property
    def change_count(self):
        return sum(len(s.changes) for s in self.sections)

    @property
    def event_count(self):
        return sum(len(s.events) for s in self.sections)

    @property
    def is_empty(self):
        """Nothing new: no status change and no newly confirmed event in the categories followed."""
        return not self.change_count and not self.event_count

    @property
    def all_categories(self):
        return len(self.sections) == len(Category.values)


@dataclass(frozen=True)
class ThreatItem:
    deadline: object  # indicators.threats.OpenDeadline

    @property
    def url(self):
        return absolute(reverse("event", args=[self.deadline.event_id]))

    @property
    def outcome_url(self):
        return absolute(reverse("threat-outcome", args=[self.deadline.event_id]))


def _threats(sub, now):
    """Threats whose deadline has passed without a recorded outcome, or falls within 7 days of the
    digest's day, for subscribers following the coercive category."""
    if Category.COERCIVE not in sub.followed:
        return []
    return [ThreatItem(d) for d in open_deadlines(timezone.localdate(now))]


def build_digest(subscription_id, week, now):
    """The digest `subscription_id` gets for `week` (an IsoWeek or "YYYY-Www"), as of `now`."""
    sub = Subscription.objects.select_related("user").get(pk=subscription_id)
    return build_digest_for(sub, week, now)


def next_digest(subscription_id, now):
    """The digest the subscriber would get next, as it stands at `now` (the preview page)."""
    sub = Subscription.objects.select_related("user").get(pk=subscription_id)
    week, _ = next_due(sub, now)
    return build_digest_for(sub, week, now)


def build_digest_for(sub, week, now):
    """The digest `sub` gets for `week` (an IsoWeek or "YYYY-Www"), as of `now`."""
    week = IsoWeek.parse(week) if isinstance(week, str) else week
    before, after = _statuses_around(week)
    # The watch list's ids are known: the trends need no query of their own (the threats section takes it).
    ids = [s.indicator.pk for s in after]
    trends = indicator_trends(since=week.monday, until=week.sunday, indicator_ids=ids)
    sections = _empty_sections(sub.followed)
    _add_status_changes(sections, before, after, trends)
    _add_new_events(sections, _new_events(sub, week), week)
    pending_total = _add_pending_counts(sections, sub, after)
    return Digest(
        subscription=sub,
        week=week,
        now=now,
        sections=list(sections.values()),
        stages=_stage_lines(after),
        pending_total=pending_total,
        **_links(sub),
        threats=_threats(sub, now),
    )


def _statuses_around(week):
    """({indicator id: status at the end of the previous week}, [statuses at the end of `week`]).

    One read of the confirmed events serves the statuses before and after the week.
    """
    indicators = list(Indicator.objects.all())
    daily = confirmed_daily(until=week.sunday)
    pending = pending_counts()
    earlier = [row for row in daily if row[0] < week.monday]
    before = {s.indicator.pk: s for s in statuses_from_daily(indicators, earlier, pending)}
    after = statuses_from_daily(indicators, daily, pending)
    return before, after


def _empty_sections(followed):
    """{category: empty Section} for the followed categories, in their order."""
    labels = dict(Category.choices)
    return {c: Section(category=c, label=labels[c]) for c in followed}


def _add_status_changes(sections, before, after, trends):
    """Add a StatusChange to its category's section for every indicator whose status moved in the week."""
    for s in after:
        section = sections.get(s.indicator.category)
        if section is None:
            continue
        prev = before[s.indicator.pk]
        if prev.status != s.status:
            section.changes.append(StatusChange(s.indicator, prev, s, trends[s.indicator.pk]))


def _new_events(sub, week):
    """New confirmed events in the followed categories: those that happened during the week, and those
    that happened earlier but were confirmed since the previous digest was due (so that late
    confirmations are never lost)."""
    late_from, late_until = due_at(sub, week.prev()), due_at(sub, week)
    return (
        Event.objects.filter(state=State.CONFIRMED, indicator__category__in=sub.followed)
        .filter(
            Q(occurred_on__gte=week.monday, occurred_on__lte=week.sunday)
            | Q(occurred_on__lt=week.monday, reviewed_at__gte=late_from, reviewed_at__lt=late_until)
        )
        .select_related("indicator")
        .prefetch_related(Prefetch("sources", queryset=EventSource.objects.order_by("published_at", "id")))
        .order_by("occurred_on", "indicator__position", "id")
    )


def _add_new_events(sections, events, week):
    """Add an EventItem to its category's section for every event, with its first few sources."""
    for event in events:
        sources = list(event.sources.all())
        sections[event.indicator.category].events.append(
            EventItem(
                event=event,
                late=event.occurred_on < week.monday,
                sources=sources[:MAX_SOURCES_SHOWN],
                more_sources=max(0, len(sources) - MAX_SOURCES_SHOWN),
                corroboration=event.corroboration,
            )
        )


def _add_pending_counts(sections, sub, after):
    """For an analyst: set each section's count of proposals awaiting review and return their total.
    For anyone else: None, and the sections keep no count."""
    if sub.user_id is None or not is_analyst(sub.user):
        return None
    pending = defaultdict(int)
    for s in after:
        pending[s.indicator.category] += s.pending
    for c, section in sections.items():
        section.pending = pending[c]
    return sum(pending[c] for c in sub.followed)


def _stage_lines(after):
    """One StageLine per stage: how many indicators it has, how many advance and how many reversed."""
    stages = []
    for stage, label in STAGE_CHOICES:
        in_stage = [s for s in after if s.indicator.stage == stage]
        stages.append(
            StageLine(
                stage=stage,
                label=label.split(" - ", 1)[-1],
                total=len(in_stage),
                advancing=sum(1 for s in in_stage if s.status == Status.ADVANCING),
                reversed=sum(1 for s in in_stage if s.status == Status.REVERSED),
            )
        )
    return stages


def _links(sub):
    """The digest's links back to the site, including the subscriber's one-click unsubscribe link."""
    return {
        "overview_url": absolute(reverse("overview")),
        "manage_url": absolute(reverse("digests:manage")),
        "unsubscribe_url": absolute(reverse("digests:unsubscribe", args=[unsubscribe_token(sub)])),
    }
