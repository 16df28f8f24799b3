from django.contrib import admin
from django.utils import timezone

from tracker.models import DigestDelivery, Subscription

from . import services
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
        services.save_subscription(obj, now=timezone.now())


@admin.register(DigestDelivery)
class DigestDeliveryAdmin(admin.ModelAdmin):
    list_display = ("week", "subscription", "status", "recipient", "attempts", "sent_at", "last_error")
    list_filter = ("status", "week")
    search_fields = ("recipient", "subject", "week")
    readonly_fields = [f.name for f in DigestDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
