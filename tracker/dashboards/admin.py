from django.contrib import admin

from tracker.dashboards.models import Milestone


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ("date", "label", "note")
    search_fields = ("label", "note")
    date_hierarchy = "date"
