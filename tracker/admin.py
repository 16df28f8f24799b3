from django.contrib import admin

from .models import Entry, Feed, Story


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "language",
        "theatre",
        "active",
        "last_success_at",
        "last_error_kind",
        "next_poll_at",
    )
    list_filter = ("language", "theatre", "active")
    search_fields = ("url", "title")


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = ("title", "first_seen_at", "outlet_count")
    search_fields = ("title",)


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ("title", "outlet", "lang", "published_at", "feed")
    list_filter = ("lang",)
    search_fields = ("title", "link", "guid")
    raw_id_fields = ("feed", "story")
