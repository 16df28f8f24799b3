from django.contrib import admin, messages
from django.utils import timezone

from tracker.digests.models import DigestDelivery, Subscription

from . import schedule, sending
from .forms import AdminSubscriptionForm


class DigestDeliveryInline(admin.TabularInline):
    model = DigestDelivery
    extra = 0
    can_delete = False
    fields = ("week", "status", "recipient", "attempts", "sent_at", "last_error")
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


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(admin.ModelAdmin):
    list_display = ("week", "subscription", "status", "recipient", "attempts", "sent_at", "last_error")
    list_filter = ("status", "week")
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
