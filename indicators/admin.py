from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from tracker.feeds.admin import EntryAdmin, StoryAdmin
from tracker.feeds.models import Entry, Story

from . import services, stories, threats
from .matching import versions
from .models import (
    SUMMIT_SLUG,
    THREAT_SLUG,
    Event,
    EventReview,
    EventSource,
    Indicator,
    MatcherModel,
    Meeting,
    ProposedPoint,
    Series,
    SeriesPoint,
    SeriesPointRevision,
    State,
    Threat,
)


class EventInline(admin.TabularInline):
    model = Event
    fields = ("occurred_on", "direction", "state", "origin", "title")
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False
    ordering = ("-occurred_on", "-id")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Indicator)
class IndicatorAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "category", "stage", "status_label", "status_since", "pending")
    list_filter = ("category", "stage")
    search_fields = ("slug", "title", "title_fr", "advance_criteria", "reverse_criteria")
    readonly_fields = ("slug",)
    inlines = [EventInline]

    @staticmethod
    def _status(obj):
        if not hasattr(obj, "_status"):
            obj._status = services.indicator_status(obj.pk)  # 16 rows at most: a few queries each
        return obj._status

    @admin.display(description="status")
    def status_label(self, obj):
        return self._status(obj).label

    @admin.display(description="since")
    def status_since(self, obj):
        return self._status(obj).since

    @admin.display(description="pending review")
    def pending(self, obj):
        return self._status(obj).pending

    def has_delete_permission(self, request, obj=None):
        return False  # the watch list is seeded; slugs are stable


class EventSourceInline(admin.TabularInline):
    model = EventSource
    fields = ("url", "outlet", "language", "published_at", "claimant", "stance")
    extra = 0


class EventReviewInline(admin.TabularInline):
    model = EventReview
    fields = ("at", "action", "from_state", "to_state", "actor", "actor_label", "changes", "note")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ThreatInlineForm(forms.ModelForm):
    """Who threatened, the consequence and the deadline in force; saved through threats.set_threat (an
    audit line), never directly."""

    deadline = forms.DateField(required=False, help_text="The deadline in force (YYYY-MM-DD); empty: none.")

    class Meta:
        model = Threat
        fields = ("threatened_by", "consequence")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.current = self.instance.deadlines.last() if self.instance.pk else None
        if self.current is not None:
            self.fields["deadline"].initial = self.current.due_on

    def clean_deadline(self):
        value = self.cleaned_data["deadline"]
        if self.current is not None and self.current.outcome and value != self.current.due_on:
            raise ValidationError(
                f"The deadline of {self.current.due_on} is decided ({self.current.get_outcome_display()}): "
                "record an extension on the event page instead."
            )
        return value


class ThreatInline(admin.StackedInline):
    model = Threat
    form = ThreatInlineForm
    extra = 0
    max_num = 1
    can_delete = False
    verbose_name = "threat (consequences-threat events)"


class MeetingInline(admin.StackedInline):
    model = Meeting
    fields = ("status", "place", "date")
    extra = 0
    max_num = 1
    can_delete = False
    verbose_name = "meeting (second-summit events)"


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("title", "indicator", "direction", "state", "origin", "occurred_on", "source_count")
    list_filter = ("indicator__category", "indicator__stage", "direction", "state", "origin", "indicator")
    search_fields = ("title", "summary", "sources__url", "sources__outlet", "indicator__slug")
    date_hierarchy = "occurred_on"
    list_select_related = ("indicator",)
    readonly_fields = (
        "state",
        "origin",
        "created_by",
        "created_at",
        "reviewed_by",
        "reviewed_at",
        "story",
        "match_rule",
        "match_terms",
        "match_score",
    )
    raw_id_fields = ("indicator",)
    inlines = [EventSourceInline, ThreatInline, MeetingInline, EventReviewInline]
    actions = ["confirm_selected", "reject_selected"]

    def get_inlines(self, request, obj):
        slug = obj.indicator.slug if obj is not None else None
        keep = {ThreatInline: slug == THREAT_SLUG, MeetingInline: slug == SUMMIT_SLUG}
        return [inline for inline in self.inlines if keep.get(inline, True)]

    def save_formset(self, request, form, formset, change):
        """A threat's and a meeting's details go through indicators.threats, with an audit line; so does a
        source's claimant or stance corrected in the sources inline."""
        if formset.model is EventSource:
            return self._save_sources(request, form, formset, change)
        if formset.model not in (Threat, Meeting):
            return super().save_formset(request, form, formset, change)
        now, event_id = timezone.now(), form.instance.pk
        for f in formset.forms:
            if not f.has_changed():
                continue
            data = f.cleaned_data
            if formset.model is Threat:
                threats.set_threat(
                    event_id,
                    now=now,
                    threatened_by=data.get("threatened_by", ""),
                    consequence=data.get("consequence", ""),
                    deadline=data.get("deadline"),
                    actor_id=request.user.pk,
                )
            else:
                threats.set_meeting(
                    event_id,
                    now=now,
                    status=data["status"],
                    place=data.get("place", ""),
                    date=data.get("date"),
                    actor_id=request.user.pk,
                )
        return None

    def _save_sources(self, request, form, formset, change):
        edits = {}
        for f in formset.forms:
            if f.instance.pk and not formset._should_delete_form(f):
                for name in {"claimant", "stance"} & set(f.changed_data):
                    edits[f"source {f.instance.pk} {name}"] = [f.initial.get(name), f.cleaned_data[name]]
        super().save_formset(request, form, formset, change)
        if edits:
            services.record_edit(form.instance, now=timezone.now(), changes=edits, actor_id=request.user.pk)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_sources=Count("sources"))

    @admin.display(description="sources", ordering="n_sources")
    def source_count(self, obj):
        return obj.n_sources

    def save_model(self, request, obj, form, change):
        now = timezone.now()
        if change:
            fields = {
                name: form.cleaned_data[name]
                for name in form.changed_data
                if name in {"direction", "title", "summary", "occurred_on"}
            }
            if "indicator" in form.changed_data:
                fields["indicator_id"] = form.cleaned_data["indicator"].pk
            services.edit_event(obj.pk, actor_id=request.user.pk, now=now, **fields)
            obj.refresh_from_db()
        else:
            # Added in the admin: a manual event, confirmed, with its author recorded.
            obj.origin = "manual"
            obj.state = State.CONFIRMED
            obj.created_by = obj.reviewed_by = request.user
            obj.reviewed_at = obj.created_at = now
            super().save_model(request, obj, form, change)
            EventReview.objects.create(
                event=obj, action=EventReview.Action.CREATED, to_state=obj.state, actor=request.user, at=now
            )

    def _review(self, request, queryset, action):
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                services.review_event(pk, action=action, actor_id=request.user.pk, now=timezone.now())
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"Event {pk}: {'; '.join(exc.messages)}", messages.ERROR)
        self.message_user(request, f"{done} event(s) {action}ed.", messages.SUCCESS)

    @admin.action(description="Confirm selected events")
    def confirm_selected(self, request, queryset):
        self._review(request, queryset, "confirm")

    @admin.action(description="Reject selected events")
    def reject_selected(self, request, queryset):
        self._review(request, queryset, "reject")


@admin.register(EventReview)
class EventReviewAdmin(admin.ModelAdmin):
    list_display = ("at", "event", "action", "from_state", "to_state", "actor", "actor_label")
    list_filter = ("action", "to_state")
    search_fields = ("event__title", "note")
    list_select_related = ("event", "actor")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


from . import admin_matching  # noqa: E402,F401  (MatchRule, ScopeTerm)


@admin.register(MatcherModel)
class MatcherModelAdmin(admin.ModelAdmin):
    """Versions of the learned matcher: which is active, how each did, activation and rollback."""

    list_display = (
        "version",
        "active",
        "activated_at",
        "holdout_f1",
        "validation_f1",
        "encoder",
        "created_at",
    )
    list_filter = ("active", "encoder")
    readonly_fields = (
        "version",
        "encoder",
        "created_at",
        "active",
        "activated_at",
        "trained_on",
        "validation",
        "holdout",
        "compare_link",
    )
    exclude = ("data",)
    actions = ["make_active", "roll_back", "compare_with_active"]

    def has_add_permission(self, request):
        return False  # versions come from `manage.py train_matcher`

    @admin.display(description="holdout F1")
    def holdout_f1(self, obj):
        return (obj.holdout or {}).get("f1")

    @admin.display(description="validation F1")
    def validation_f1(self, obj):
        return (obj.validation or {}).get("f1")

    @admin.action(description="Make the selected version active")
    def make_active(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to make active.", messages.ERROR)
            return
        row = queryset.get()
        versions.activate(row.version, now=timezone.now())
        self.message_user(request, f"{row.version} is now the active matcher.")

    @admin.action(description="Roll back to the version active before the current one")
    def roll_back(self, request, queryset):
        try:
            version = versions.rollback(now=timezone.now())
        except versions.VersionError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        self.message_user(request, f"Rolled back: {version} is active again.")

    @admin.action(description="Compare with the active version on stored entries")
    def compare_with_active(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to compare.", messages.ERROR)
            return None
        return redirect("admin:indicators_matchermodel_compare", queryset.get().pk)

    @admin.display(description="on stored entries")
    def compare_link(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        url = reverse("admin:indicators_matchermodel_compare", args=[obj.pk])
        return format_html('<a href="{}">What it would gain and lose against the active version</a>', url)

    def get_urls(self):
        view = self.admin_site.admin_view(self.compare_view)
        return [
            path("<int:pk>/compare/", view, name="indicators_matchermodel_compare"),
            *super().get_urls(),
        ]

    def compare_view(self, request, pk):
        """The dry-run of a model version: what it would propose differently from the active one on the
        latest stored entries, entry by entry (nothing is changed)."""
        from indicators.matching.learned import LearnedModel
        from indicators.matching.retraining import COMPARE_ENTRIES, compare_with_active

        row = get_object_or_404(MatcherModel, pk=pk)
        if not self.has_view_permission(request, row):
            raise PermissionDenied
        changes = compare_with_active(LearnedModel.from_bytes(row.data))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Dry-run of matcher {row.version} on stored entries",
            "row": row,
            "changes": changes,
            "limit": COMPARE_ENTRIES,
            "sections": [
                ("gained", "Gained: proposed by this version, not by the active one"),
                ("lost", "Lost: proposed by the active version, not by this one"),
                ("flipped", "Direction changed"),
            ],
        }
        return render(request, "admin/indicators/matchermodel/compare.html", context)


# Stories are news in (tracker.feeds.admin); merging and splitting them moves events, so the actions that
# do it are added here, where events live.
admin.site.unregister(Story)
admin.site.unregister(Entry)


@admin.register(Story)
class StoryWithEventsAdmin(StoryAdmin):
    actions = ["merge_stories"]

    @admin.action(description="Merge the selected stories into the oldest (one event, with its events)")
    def merge_stories(self, request, queryset):
        rows = list(queryset.order_by("first_seen_at", "pk"))
        if len(rows) < 2:
            self.message_user(request, "Select at least two stories to merge.", messages.ERROR)
            return
        try:
            for other in rows[1:]:
                stories.merge_stories(other.pk, rows[0].pk, timezone.now(), actor_id=request.user.pk)
        except stories.MergeConflict as exc:
            self.message_user(request, f"Not merged: {exc}.", messages.ERROR)
            return
        self.message_user(
            request, f"Merged {len(rows) - 1} stor{'y' if len(rows) == 2 else 'ies'} into “{rows[0]}”."
        )


@admin.register(Entry)
class EntryWithEventsAdmin(EntryAdmin):
    actions = ["split_story"]

    @admin.action(description="Split the selected entries into a story of their own (a wrong join)")
    def split_story(self, request, queryset):
        try:
            new_story = stories.split_story(
                list(queryset.values_list("pk", flat=True)), timezone.now(), actor_id=request.user.pk
            )
        except ValueError as exc:
            self.message_user(request, f"Not split: {exc}.", messages.ERROR)
            return
        n = queryset.count()
        entries = f"{n} entr{'y' if n == 1 else 'ies'}"
        self.message_user(request, f"Split {entries} into story {new_story}; its events are proposed again.")


# --- Measured series (indicators/series.py) -----------------------------------------------------------


class SeriesPointInline(admin.TabularInline):
    model = SeriesPoint
    fields = ("date", "value", "source_url", "note", "updated_at")
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False
    ordering = ("-date",)

    def has_add_permission(self, request, obj=None):
        return False  # points go in through import_series or the series page, which keep their history


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "indicator", "unit", "baseline_since", "baseline_until", "last_signal")
    list_filter = ("indicator",)
    search_fields = ("slug", "title", "source")
    readonly_fields = ("last_signal", "last_signal_on")
    inlines = [SeriesPointInline]

    def get_readonly_fields(self, request, obj=None):
        # The slug is stable once points and exports refer to it.
        return self.readonly_fields + (("slug",) if obj else ())


class SeriesPointRevisionInline(admin.TabularInline):
    model = SeriesPointRevision
    fields = ("at", "old_value", "new_value", "source_url", "note", "actor", "actor_label")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SeriesPoint)
class SeriesPointAdmin(admin.ModelAdmin):
    list_display = ("series", "date", "value", "updated_at")
    list_filter = ("series",)
    date_hierarchy = "date"
    readonly_fields = ("series", "date", "value", "source_url", "note", "created_at", "updated_at")
    inlines = [SeriesPointRevisionInline]

    def has_add_permission(self, request):
        return False  # through import_series or the series page, which write the history

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ProposedPoint)
class ProposedPointAdmin(admin.ModelAdmin):
    """Figures read from the news, awaiting or past review (decided in the review queue, which writes the
    point through the series service and keeps its history)."""

    list_display = ("series", "date", "value", "state", "entry", "created_at", "reviewed_by")
    list_filter = ("state", "series")
    date_hierarchy = "date"
    readonly_fields = [f.name for f in ProposedPoint._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
