"""The weekly digest: when it is due, what it says, and sending it exactly once.

Everything here takes ids and `now`; tasks, views and the `send_digests` command call these functions.

Schedule. The digest for ISO week W (Monday to Sunday) is due on the first (weekday, hour) of the
subscriber's choice after W ends, in the subscriber's time zone: `due_at(subscription, W)`. A subscription
stores `next_due_at` (UTC) so that the beat task finds due subscribers with one indexed query.

Exactly once. One DigestDelivery row per (subscription, week) exists (unique constraint). A worker may
send only after it has moved that row from pending (or failed, for a retry) to sending with a conditional
UPDATE that returned 1, inside a transaction that also holds the subscription's row lock. Two workers, a
task delivered twice or run again after a retry all race for the same UPDATE: one wins, the others see 0
and send nothing. A send that fails on the transport puts the row back to failed (retried by the task
with backoff); the subscription's schedule has already moved on, so the next week is never blocked.
"""

import datetime
import logging
import smtplib
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import F, Prefetch, Q
from django.urls import reverse

from indicators.models import STAGE_CHOICES, Category, Event, EventSource, Indicator, State
from indicators.roles import is_analyst
from indicators.services import (
    Status,
    confirmed_daily,
    indicator_trends,
    pending_counts,
    statuses_from_daily,
)
from tracker.digests.models import DeliveryStatus, DigestDelivery, Subscription

from . import emails
from .weeks import IsoWeek

log = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "tracker.digests.unsubscribe"
MAX_SOURCES_SHOWN = 5

# --- Schedule -----------------------------------------------------------------------------------------


def due_at(subscription, week):
    """When the digest covering `week` is due (aware UTC datetime).

    The first chosen weekday after the week, at the chosen hour in the subscriber's zone. An hour that a
    daylight-saving jump skips (02:00 on the spring change in Europe) falls at the moment of the jump; an
    hour that happens twice (autumn) is its first occurrence.
    """
    day = week.next().monday + datetime.timedelta(days=subscription.weekday)
    local = datetime.datetime.combine(day, datetime.time(subscription.hour), tzinfo=subscription.tz)
    return local.astimezone(datetime.UTC)


def latest_due_week(subscription, now):
    """The most recent week whose digest is due at `now` (a week is due once it ended and the hour came)."""
    week = IsoWeek.containing(now.astimezone(subscription.tz).date()).prev()
    return week if due_at(subscription, week) <= now else week.prev()


def next_due(subscription, now):
    """(week, due time) of the subscriber's next digest: the first one still to come after `now`, and
    never a week already claimed."""
    week = latest_due_week(subscription, now).next()
    if subscription.last_sent_week:
        last = IsoWeek.parse(subscription.last_sent_week)
        if week <= last:
            week = last.next()
    return week, due_at(subscription, week)


def schedule(subscription, now):
    """Set `next_due_at` from the subscriber's schedule (call after creating it or changing the schedule)."""
    subscription.next_due_at = next_due(subscription, now)[1] if subscription.active else None


def due_subscriptions(now):
    """[(subscription id, week)] for every active subscription whose digest is due at `now`.

    When several weeks were missed (no beat for a while) only the latest is sent: three stale digests at
    once help nobody. A subscription with no `next_due_at` yet gets one and waits for it.
    """
    due = []
    rows = (
        Subscription.objects.filter(active=True)
        .filter(Q(user__isnull=True) | Q(user__is_active=True))  # a deactivated account gets nothing
        .filter(Q(next_due_at__lte=now) | Q(next_due_at__isnull=True))
        .order_by("next_due_at", "id")
    )
    for sub in rows:
        week = latest_due_week(sub, now)
        claimed = IsoWeek.parse(sub.last_sent_week) if sub.last_sent_week else None
        if sub.next_due_at is None or (claimed is not None and week <= claimed):
            # Not scheduled yet, or the schedule changed after this week was sent: move on to the next.
            Subscription.objects.filter(pk=sub.pk, next_due_at=sub.next_due_at).update(
                next_due_at=next_due(sub, now)[1]
            )
            continue
        due.append((sub.pk, week))
    return due


def save_subscription(sub, *, now):
    """Validate and save a subscription (new or changed) and schedule its next digest."""
    if sub.active:
        sub.unsubscribed_at = None
    elif sub.unsubscribed_at is None:
        sub.unsubscribed_at = now
    sub.full_clean()
    if sub.pk is None:
        schedule(sub, now)
        sub.save()
        return sub
    with transaction.atomic():
        # The claim fields belong to the senders: read them fresh, never write back a stale copy.
        sub.last_sent_week = (
            Subscription.objects.select_for_update()
            .filter(pk=sub.pk)
            .values_list("last_sent_week", flat=True)
            .get()
        )
        schedule(sub, now)
        sub.save(update_fields=[*SUBSCRIBER_FIELDS, "unsubscribed_at", "next_due_at"])
    return sub


SUBSCRIBER_FIELDS = ["user", "email", "time_zone", "weekday", "hour", "categories", "skip_empty", "active"]


def unsubscribe(subscription_id, *, now):
    """Stop the digests at once. Returns True if it was active. (A digest already being sent completes.)"""
    return bool(
        Subscription.objects.filter(pk=subscription_id, active=True).update(
            active=False, unsubscribed_at=now, next_due_at=None
        )
    )


# --- Contents -----------------------------------------------------------------------------------------


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


def unsubscribe_token(subscription):
    """A signed, non-expiring token naming the subscription (an old email's link keeps working)."""
    return signing.dumps([subscription.pk, int(subscription.created_at.timestamp())], salt=UNSUBSCRIBE_SALT)


def subscription_from_token(token):
    """The Subscription a token names, or None for a forged, mangled or outdated token."""
    try:
        pk, created = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    sub = Subscription.objects.select_related("user").filter(pk=pk).first()
    if sub is None or int(sub.created_at.timestamp()) != created:
        return None
    return sub


def build_digest(subscription_id, week, now):
    """The digest `subscription_id` gets for `week` (an IsoWeek or "YYYY-Www"), as of `now`."""
    sub = Subscription.objects.select_related("user").get(pk=subscription_id)
    return build_digest_for(sub, week, now)


def build_digest_for(sub, week, now):
    week = IsoWeek.parse(week) if isinstance(week, str) else week
    followed = sub.followed
    monday, sunday = week.monday, week.sunday

    # One read of the confirmed events serves the statuses before and after the week.
    indicators = list(Indicator.objects.all())
    daily = confirmed_daily(until=sunday)
    pending = pending_counts()
    earlier = [row for row in daily if row[0] < monday]
    before = {s.indicator.pk: s for s in statuses_from_daily(indicators, earlier, pending)}
    after = statuses_from_daily(indicators, daily, pending)
    trends = indicator_trends(since=monday, until=sunday)

    labels = dict(Category.choices)
    sections = {c: Section(category=c, label=labels[c]) for c in followed}
    for s in after:
        section = sections.get(s.indicator.category)
        if section is None:
            continue
        prev = before[s.indicator.pk]
        if prev.status != s.status:
            section.changes.append(StatusChange(s.indicator, prev, s, trends[s.indicator.pk]))

    # New confirmed events: those that happened during the week, and those that happened earlier but
    # were confirmed since the previous digest was due (so that late confirmations are never lost).
    late_from, late_until = due_at(sub, week.prev()), due_at(sub, week)
    events = (
        Event.objects.filter(state=State.CONFIRMED, indicator__category__in=followed)
        .filter(
            Q(occurred_on__gte=monday, occurred_on__lte=sunday)
            | Q(occurred_on__lt=monday, reviewed_at__gte=late_from, reviewed_at__lt=late_until)
        )
        .select_related("indicator")
        .prefetch_related(Prefetch("sources", queryset=EventSource.objects.order_by("published_at", "id")))
        .order_by("occurred_on", "indicator__position", "id")
    )
    for event in events:
        sources = list(event.sources.all())
        sections[event.indicator.category].events.append(
            EventItem(
                event=event,
                late=event.occurred_on < monday,
                sources=sources[:MAX_SOURCES_SHOWN],
                more_sources=max(0, len(sources) - MAX_SOURCES_SHOWN),
                corroboration=event.corroboration,
            )
        )

    pending_total = None
    if sub.user_id is not None and is_analyst(sub.user):
        pending = defaultdict(int)
        for s in after:
            pending[s.indicator.category] += s.pending
        for c, section in sections.items():
            section.pending = pending[c]
        pending_total = sum(pending[c] for c in followed)

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

    return Digest(
        subscription=sub,
        week=week,
        now=now,
        sections=list(sections.values()),
        stages=stages,
        pending_total=pending_total,
        overview_url=absolute(reverse("overview")),
        manage_url=absolute(reverse("digests:manage")),
        unsubscribe_url=absolute(reverse("digests:unsubscribe", args=[unsubscribe_token(sub)])),
    )


def next_digest(subscription_id, now):
    """The digest the subscriber would get next, as it stands at `now` (the preview page)."""
    sub = Subscription.objects.select_related("user").get(pk=subscription_id)
    week, _ = next_due(sub, now)
    return build_digest_for(sub, week, now)


# --- Sending exactly once -----------------------------------------------------------------------------


class DigestTransportError(Exception):
    """The mail server could not be reached or asked us to try later: the task retries."""


@dataclass(frozen=True)
class Outcome:
    subscription_id: int
    week: str
    status: str  # a DeliveryStatus value, or "already-claimed", "inactive", "missing"
    recipient: str = ""
    detail: str = ""

    def as_dict(self):
        return {
            "subscription_id": self.subscription_id,
            "week": self.week,
            "status": self.status,
            "recipient": self.recipient,
            "detail": self.detail,
        }


def claim(subscription_id, week, now):
    """Claim the subscriber's digest for `week`. Returns (DigestDelivery in "sending" state, None) when
    this caller won and must send it, or (None, reason) when it must not send."""
    week = str(week)
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().filter(pk=subscription_id).first()
        if sub is None:
            return None, "missing"
        if not sub.active or (sub.user_id is not None and not sub.user.is_active):
            return None, "inactive"
        delivery, _ = DigestDelivery.objects.get_or_create(
            subscription_id=subscription_id, week=week, defaults={"created_at": now}
        )
        # The claim: only one UPDATE can move this row out of a claimable state. Its WHERE clause names
        # only this row's own columns, so PostgreSQL rechecks it against the committed row after waiting.
        won = DigestDelivery.objects.filter(pk=delivery.pk, status__in=DigestDelivery.CLAIMABLE).update(
            status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now
        )
        if not won:
            return None, "already-claimed"
        # Move the subscriber's schedule past this week (never backwards: --week may resend an old one).
        if not sub.last_sent_week or sub.last_sent_week < week:
            Subscription.objects.filter(pk=sub.pk).update(
                last_sent_week=week, next_due_at=due_at(sub, IsoWeek.parse(week).next())
            )
    delivery = DigestDelivery.objects.select_related("subscription__user").get(pk=delivery.pk)
    return delivery, ""


def claim_and_send(subscription_id, week, now):
    """Send the subscriber's digest for `week` unless it was already claimed. Returns an Outcome; raises
    DigestTransportError when the mail server failed in a way worth retrying (the row is then "failed")."""
    week = IsoWeek.parse(week) if isinstance(week, str) else week
    delivery, reason = claim(subscription_id, week, now)
    if delivery is None:
        return Outcome(subscription_id, str(week), reason)
    return _send_claimed(delivery, now)


def _finish(delivery, status, **fields):
    DigestDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(
        status=status, **fields
    )
    return Outcome(
        delivery.subscription_id,
        delivery.week,
        status,
        recipient=fields.get("recipient", delivery.recipient),
        detail=fields.get("last_error", ""),
    )


def _record_error(sub, message, now):
    Subscription.objects.filter(pk=sub.pk).update(last_error=message, last_error_at=now)


def _send_claimed(delivery, now):
    sub = delivery.subscription
    try:
        digest = build_digest_for(sub, delivery.week, now)
        if sub.skip_empty and digest.is_empty:
            return _finish(delivery, DeliveryStatus.SKIPPED, sent_at=now)
        address = sub.address
        if not address:
            message = f"{sub.user} has no email address: add one to the account, or remove the subscription."
            _record_error(sub, message, now)
            return _finish(delivery, DeliveryStatus.REFUSED, last_error=message)
        message = emails.digest(address, digest)
        message.send()
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        error = describe_error(exc)
        _record_error(sub, error, now)
        if is_permanent(exc):
            log.warning("Digest %s for subscription %s refused: %s", delivery.week, sub.pk, error)
            return _finish(delivery, DeliveryStatus.REFUSED, last_error=error, recipient=sub.address)
        log.warning("Digest %s for subscription %s failed, will retry: %s", delivery.week, sub.pk, error)
        _finish(delivery, DeliveryStatus.FAILED, last_error=error, recipient=sub.address)
        raise DigestTransportError(error) from exc
    except Exception as exc:
        # Not a transport problem (a bug, a lost database): record it so the admin sees it, then let it
        # surface. The row becomes "failed": a later run (or `send_digests --week`) may try it again.
        _finish(delivery, DeliveryStatus.FAILED, last_error=describe_error(exc))
        raise
    Subscription.objects.filter(pk=sub.pk).update(last_error="", last_error_at=None)
    return _finish(
        delivery,
        DeliveryStatus.SENT,
        sent_at=now,
        recipient=address,
        subject=message.subject[:300],
        message_id=message.extra_headers.get("Message-ID", "")[:300],
        last_error="",
    )


def release(delivery_id, *, now):
    """An admin's decision after checking the mail server's logs: a digest stuck in "sending" (its worker
    died mid-send) did not go out, so it may be claimed and sent again. Returns True if released."""
    return bool(
        DigestDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.FAILED,
            last_error=f"Released for a resend by an admin at {now:%Y-%m-%d %H:%M} UTC.",
        )
    )


def is_permanent(exc):
    """Errors that a retry cannot fix: an address the server refuses for good (5xx), or a malformed one."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False  # our configuration: fixed by the operator, then the retry succeeds
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, ValueError)


def describe_error(exc):
    """One line saying what went wrong (newlines from a hostile address are shown as \\n)."""
    return _describe_error(exc).replace("\r", "\\r").replace("\n", "\\n")[:2000]


def _describe_error(exc):
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = []
        for addr, (code, msg) in exc.recipients.items():
            text = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
            parts.append(f"{addr}: {code} {text}")
        return "Recipient refused: " + "; ".join(parts)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return f"{type(exc).__name__}: {exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}"
