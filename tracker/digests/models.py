"""Digest subscriptions and the log of digests sent (see tracker/digests/).

A Subscription is either a user's (the address is the user's email) or an external address added by
the admin. Each subscriber picks a weekday, an hour in their own time zone and the categories they
follow. One DigestDelivery row per (subscription, ISO week) records each digest: its unique constraint,
and the conditional UPDATE that moves it to "sending", are what make a digest go out at most once.
"""

import functools
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from indicators.models import Category

__all__ = [
    "Subscription",
    "DigestDelivery",
    "DeliveryStatus",
    "Weekday",
    "validate_time_zone",
    "validate_categories",
]


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


@functools.cache
def time_zone_names():
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def validate_time_zone(value):
    if value not in time_zone_names():
        raise ValidationError(
            f"Unknown time zone {value!r}: use an IANA name such as Europe/Paris, America/New_York or UTC.",
            code="invalid_time_zone",
        )


def validate_categories(value):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError("Categories must be a list of category names.", code="invalid_categories")
    unknown = sorted(set(value) - set(Category.values))
    if unknown:
        raise ValidationError(
            f"Unknown categor{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}. "
            f"Choose among {', '.join(Category.values)} (none means all).",
            code="invalid_categories",
        )


class Subscription(models.Model):
    """Who receives the weekly digest, when, and about what."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="digest_subscriptions",
        help_text="A user of the web app; the digest goes to their account's email address.",
    )
    email = models.EmailField(
        max_length=254, blank=True, help_text="An external address (leave blank for a user's subscription)."
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    weekday = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY, validators=[MaxValueValidator(6)]
    )
    hour = models.PositiveSmallIntegerField(
        default=8,
        validators=[MinValueValidator(0), MaxValueValidator(23)],
        help_text="Hour of the day (0-23) in the subscriber's time zone.",
    )
    categories = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_categories],
        help_text="Categories followed: ground, humanitarian, political, coercive. Empty means all.",
    )
    skip_empty = models.BooleanField("skip weeks with nothing new", default=False)
    active = models.BooleanField(default=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    # Scheduling and the claim. next_due_at: when the next digest is due (UTC), the beat task's index.
    # last_sent_week: the latest ISO week ("2025-W36") whose digest was claimed (sent, skipped or failed).
    next_due_at = models.DateTimeField(null=True, blank=True, db_index=True, editable=False)
    last_sent_week = models.CharField(max_length=8, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_error_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(email=""), name="subscription_user_or_email"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(user__isnull=False), name="subscription_one_per_user"
            ),
            models.UniqueConstraint(
                Lower("email"), condition=Q(user__isnull=True), name="subscription_one_per_external_email"
            ),
            models.CheckConstraint(condition=Q(weekday__lte=6), name="subscription_weekday_valid"),
            models.CheckConstraint(condition=Q(hour__lte=23), name="subscription_hour_valid"),
        ]

    def __str__(self):
        return self.address or f"subscription {self.pk}"

    @property
    def address(self):
        """The address the digest goes to ("" when a user has none)."""
        if self.user_id is not None:
            return (self.user.email or "").strip()
        return self.email.strip()

    @property
    def tz(self):
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def followed(self):
        """Categories followed, in catalogue order (all when none is picked)."""
        picked = set(self.categories or [])
        return [c for c in Category.values if not picked or c in picked]

    def clean(self):
        super().clean()
        if self.user_id is None and not self.email:
            raise ValidationError({"email": "Enter an external address, or choose a user."})
        if self.user_id is not None and self.email:
            raise ValidationError(
                {"email": "A user's digest goes to their account's address: leave this blank, or no user."}
            )
        if self.categories:
            self.categories = [c for c in Category.values if c in set(self.categories)]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    SKIPPED = "skipped", "Skipped (nothing new)"
    FAILED = "failed", "Failed (will be retried)"
    REFUSED = "refused", "Refused by the mail server"


class DigestDelivery(models.Model):
    """One digest for one subscription and one ISO week: the audit trail of "sent exactly once"."""

    Status = DeliveryStatus

    # A delivery in one of these states may be claimed (moved to SENDING) by one worker.
    CLAIMABLE = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="deliveries")
    week = models.CharField(max_length=8, help_text='ISO week covered, e.g. "2025-W36".')
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    recipient = models.EmailField(max_length=254, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=300, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-week", "subscription_id"]
        verbose_name_plural = "digest deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "week"], name="digestdelivery_once_per_week"),
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="digestdelivery_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.week} → {self.recipient or self.subscription_id}: {self.get_status_display()}"
