import datetime

from django.contrib import admin, messages
from django.utils import timezone

from tracker.digests.models import DigestDelivery, Subscription

from . import schedule, sending
from .forms import AdminSubscriptionForm


class DigestDeliveryInline(admin.TabularInline):
    model = DigestDelivery
    extra = 0
    can_delete = False
    fields = ("week", "status", "recipient", "attempts", "claimed_at", "sent_at", "last_error")
    readonly_fields = fields
    ordering = ("-week",)
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = AdminSubscriptionForm
    list_display = (
        "__str__",
        "user",
        "weekday",
        "hour",
        "time_zone",
        "active",
        "next_due_at",
        "last_sent_week",
        "last_error",
    )
    list_filter = ("active", "weekday", "skip_empty")
    search_fields = ("email", "user__username", "user__email")
    raw_id_fields = ("user",)
    readonly_fields = (
        "unsubscribed_at",
        "next_due_at",
        "last_sent_week",
        "last_error",
        "last_error_at",
        "created_at",
    )
    inlines = [DigestDeliveryInline]

    def save_model(self, request, obj, form, change):
        schedule.save_subscription(obj, now=timezone.now())


class ClaimFilter(admin.SimpleListFilter):
    """Digests being sent: still within their lease, or whose worker stopped mid-send (lease run out)."""

    title = "claim"
    parameter_name = "claim"

    def lookups(self, request, model_admin):
        return [
            ("live", "Sending, within its lease"),
            ("expired", "Sending, lease run out (worker stopped)"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        expired = sending.expired_claims(now).values("pk")
        if self.value() == "live":
            return queryset.filter(status=DigestDelivery.Status.SENDING).exclude(pk__in=expired)
        if self.value() == "expired":
            return queryset.filter(pk__in=expired)
        return queryset


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "week",
        "subscription",
        "status",
        "recipient",
        "attempts",
        "claimed_at",
        "lease",
        "sent_at",
        "last_error",
    )
    list_filter = ("status", ClaimFilter, "week")
    search_fields = ("recipient", "subject", "week")
    readonly_fields = [f.name for f in DigestDelivery._meta.fields]
    actions = ["send_again", "release"]

    @admin.action(description="Send again now (failed or pending digests only)")
    def send_again(self, request, queryset):
        from .tasks import send_digest

        rows = list(
            queryset.filter(status__in=DigestDelivery.CLAIMABLE).values_list("subscription_id", "week")
        )
        for subscription_id, week in rows:
            send_digest.delay(subscription_id, week)
        self.message_user(
            request, f"{len(rows)} digest(s) queued; sent, refused and skipped ones were left alone."
        )

    @admin.action(
        description="Release digests stuck in “sending” (only if the mail log shows they did not go out)"
    )
    def release(self, request, queryset):
        now = timezone.now()
        released = sum(sending.release(pk, now=now) for pk in queryset.values_list("pk", flat=True))
        self.message_user(
            request,
            f"{released} digest(s) released: “Send again” will send them.",
            messages.SUCCESS if released else messages.WARNING,
        )

    @admin.display(description="lease")
    def lease(self, obj):
        """For a digest in "sending": when its claim runs out, or that it ran out and what happens next."""
        ends = sending.lease_ends_at(obj)
        if ends is None:
            return ""
        at = f"{ends.astimezone(datetime.UTC):%Y-%m-%d %H:%M} UTC"
        if ends > timezone.now():
            return f"runs out at {at}"
        if obj.attempts >= sending.AUTO_RELEASE_MAX_ATTEMPTS:
            return (
                f"ran out at {at}; not released automatically after {obj.attempts} attempts: check the "
                "mail log, then release it"
            )
        return f"ran out at {at}: released on the next digest run"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
