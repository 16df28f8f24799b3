from django.contrib import admin

from .models import Entry, Feed, Story


class FeedHealthFilter(admin.SimpleListFilter):
    title = "health"
    parameter_name = "health"

    def lookups(self, request, model_admin):
        return [("failing", "Failing"), ("ok", "OK"), ("never", "Never polled")]

    def queryset(self, request, queryset):
        if self.value() == "failing":
            return queryset.filter(consecutive_failures__gt=0)
        if self.value() == "ok":
            return queryset.filter(consecutive_failures=0, last_success_at__isnull=False)
        if self.value() == "never":
            return queryset.filter(last_fetched_at__isnull=True)
        return queryset


HEALTH_FIELDS = (
    "last_fetched_at",
    "last_success_at",
    "last_error_at",
    "last_error_kind",
    "last_error_message",
    "last_http_status",
    "consecutive_failures",
    "last_new_entries",
    "etag",
    "last_modified",
    "created_at",
)


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "language",
        "theatre",
        "active",
        "health",
        "last_success_at",
        "consecutive_failures",
        "last_error_kind",
        "last_error_short",
        "last_new_entries",
        "next_poll_at",
    )
    list_filter = (FeedHealthFilter, "language", "theatre", "active", "last_error_kind")
    search_fields = ("url", "title", "last_error_message")
    actions = ["poll_now", "reset_backoff"]
    readonly_fields = HEALTH_FIELDS
    fieldsets = (
        (None, {"fields": ("url", "title", "language", "theatre", "active")}),
        ("Schedule", {"fields": ("next_poll_at", "poll_interval")}),
        ("Health", {"fields": HEALTH_FIELDS}),
    )

    @admin.display(description="last error")
    def last_error_short(self, obj):
        return (
            (obj.last_error_message[:80] + "…")
            if len(obj.last_error_message) > 80
            else obj.last_error_message
        )

    @admin.action(description="Poll now (enqueue a poll for the selected feeds)")
    def poll_now(self, request, queryset):
        from django.utils import timezone

        from tracker.feeds.polling import poll_now

        n = poll_now(list(queryset.values_list("pk", flat=True)), timezone.now())
        self.message_user(request, f"{n} feed(s) queued for polling.")

    @admin.action(description="Reset backoff (clear failures, poll at the next beat)")
    def reset_backoff(self, request, queryset):
        from django.utils import timezone

        from tracker.feeds.polling import reset_backoff

        n = reset_backoff(list(queryset.values_list("pk", flat=True)), timezone.now())
        self.message_user(request, f"Backoff reset for {n} feed(s).")


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = ("title", "lang", "first_seen_at", "last_seen_at", "outlet_count")
    list_filter = ("lang",)
    search_fields = ("title",)


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ("title", "outlet", "lang", "published_at", "feed")
    list_filter = ("lang",)
    search_fields = ("title", "link", "guid")
    raw_id_fields = ("feed", "story")


# Milestones marked on the dashboards' timelines.
from tracker.dashboards import admin as _dashboards_admin  # noqa: E402,F401

# Digest subscriptions and the log of digests sent.
from tracker.digests import admin as _digests_admin  # noqa: E402,F401
