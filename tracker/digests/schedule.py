"""When a subscriber's weekly digest is due, and the subscription state that schedule depends on.

Everything here takes ids or subscriptions and `now`; tasks, views and the `send_digests` command call it.

The digest for ISO week W (Monday to Sunday) is due on the first (weekday, hour) of the subscriber's
choice after W ends, in the subscriber's time zone: `due_at(subscription, W)`. A subscription stores
`next_due_at` (UTC) so that the beat task finds due subscribers with one indexed query.
"""

import datetime

from django.db import transaction
from django.db.models import Q

from tracker.digests.models import Subscription

from .weeks import IsoWeek

SUBSCRIBER_FIELDS = ["user", "email", "time_zone", "weekday", "hour", "categories", "skip_empty", "active"]


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


def unsubscribe(subscription_id, *, now):
    """Stop the digests at once. Returns True if it was active. (A digest already being sent completes.)"""
    return bool(
        Subscription.objects.filter(pk=subscription_id, active=True).update(
            active=False, unsubscribed_at=now, next_due_at=None
        )
    )
