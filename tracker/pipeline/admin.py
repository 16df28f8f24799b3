"""The feed admin, with "poll now": polling is the pipeline's, so the action lives here."""

from django.contrib import admin

from indicators import changes
from tracker.feeds.admin import FeedAdmin
from tracker.feeds.models import Feed

from .tasks import poll_now


@admin.register(Feed)
class PolledFeedAdmin(FeedAdmin):
    actions = ["poll_now", *FeedAdmin.actions]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "camp" in form.changed_data:  # events' claim status reads the camp: the cached pages follow
            changes.bump()

    @admin.action(description="Poll now (enqueue a poll for the selected feeds)")
    def poll_now(self, request, queryset):
        n = poll_now(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{n} feed(s) queued for polling.")
