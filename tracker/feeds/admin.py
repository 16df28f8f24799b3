"""Admin of news in. `FeedAdmin` is registered by tracker.pipeline.admin, which adds "poll now" (a poll is
the pipeline's business, above this layer)."""

from django.contrib import admin
from django.utils import timezone

from .models import Entry, Story
from .schedule import reset_backoff


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


class FeedAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "language",
        "theatre",
        "camp",
        "active",
        "health",
        "last_success_at",
        "consecutive_failures",
        "last_error_kind",
        "last_error_short",
        "last_new_entries",
        "next_poll_at",
    )
    list_filter = (FeedHealthFilter, "language", "theatre", "camp", "active", "last_error_kind")
    search_fields = ("url", "title", "last_error_message")
    actions = ["reset_backoff"]
    readonly_fields = HEALTH_FIELDS
    fieldsets = (
        (None, {"fields": ("url", "title", "language", "theatre", "camp", "active")}),
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

    @admin.action(description="Reset backoff (clear failures, poll at the next beat)")
    def reset_backoff(self, request, queryset):
        n = reset_backoff(list(queryset.values_list("pk", flat=True)), timezone.now())
        self.message_user(request, f"Backoff reset for {n} feed(s).")


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = ("title", "lang", "first_seen_at", "last_seen_at", "outlet_count")
    list_filter = ("lang",)
    search_fields = ("title",)


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ("title", "outlet", "lang", "published_at", "feed", "enriched_at", "enrich_attempts")
    list_filter = ("lang", ("enriched_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "link", "guid")
    raw_id_fields = ("feed", "story")
