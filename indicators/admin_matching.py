"""Admin for the matching rules: edit phrases per indicator and language, dry-run a change before saving."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .matching import versions
from .matching.dryrun import dry_run_rule
from .models import MatchRule, ScopeTerm

DRYRUN_BUTTON = "_dryrun"
SHOWN = 50


@admin.register(MatchRule)
class MatchRuleAdmin(admin.ModelAdmin):
    list_display = ("indicator", "language", "enabled", "weight", "phrase_count", "updated_at")
    list_filter = ("indicator", "language", "enabled")
    search_fields = (
        "indicator__slug",
        "indicator__title",
        "terms",
        "reverse_terms",
        "reverse_cues",
        "exclusions",
    )
    list_select_related = ("indicator",)
    ordering = ("indicator__position", "language")
    change_form_template = "admin/indicators/matchrule/change_form.html"
    fieldsets = (
        (None, {"fields": ("indicator", "language", "enabled", "weight")}),
        (
            "Phrases (one per line)",
            {
                "fields": ("terms", "reverse_terms", "reverse_cues", "exclusions"),
                "description": (
                    "Words are stemmed like the headlines (one form covers the inflected ones). "
                    "<code>word*</code> matches words starting with it, <code>=word</code> only that exact "
                    "word, <code>phrase | 0.4</code> sets a phrase's weight (default 0.7). "
                    "Use “Dry-run against stored entries” to see what a change gains and loses before saving."
                ),
            },
        ),
    )

    @admin.display(description="phrases")
    def phrase_count(self, obj):
        return sum(
            len([x for x in (getattr(obj, f) or "").splitlines() if x.strip()])
            for f in ("terms", "reverse_terms", "reverse_cues", "exclusions")
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and DRYRUN_BUTTON in request.POST:
            return self._dry_run_view(request, object_id, form_url, extra_context)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _dry_run_view(self, request, object_id, form_url, extra_context):
        """Validate the submitted form, compare matches before/after over stored entries, save nothing,
        and show the same form again (still filled in) with what would be gained and lost."""
        obj = self.get_object(request, object_id) if object_id else None
        add = obj is None
        if (add and not self.has_add_permission(request)) or (
            not add and not self.has_change_permission(request, obj)
        ):
            raise PermissionDenied
        form_class = self.get_form(request, obj, change=not add)
        form = form_class(request.POST, request.FILES, instance=obj)
        dryrun = None
        if form.is_valid():
            candidate = form.save(commit=False)
            dryrun = dry_run_rule(candidate)
        else:
            self.message_user(request, "Fix the errors below to run the dry-run.", messages.ERROR)
        admin_form = helpers.AdminForm(
            form,
            list(self.get_fieldsets(request, obj)),
            self.get_prepopulated_fields(request, obj)
            if add or self.has_change_permission(request, obj)
            else {},
            self.get_readonly_fields(request, obj),
            model_admin=self,
        )
        title = _("Add %s") if add else _("Change %s")
        context = {
            **self.admin_site.each_context(request),
            "title": title % self.opts.verbose_name,
            "subtitle": str(obj) if obj else None,
            "adminform": admin_form,
            "object_id": object_id,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "dryrun": dryrun,
            "dryrun_shown": SHOWN,
            "dryrun_gained": dryrun.gained[:SHOWN] if dryrun else [],
            "dryrun_lost": dryrun.lost[:SHOWN] if dryrun else [],
            "dryrun_flipped": dryrun.flipped[:SHOWN] if dryrun else [],
            "candidate_models": versions.candidates(),
            **(extra_context or {}),
        }
        return self.render_change_form(request, context, add=add, change=not add, obj=obj, form_url=form_url)


@admin.register(ScopeTerm)
class ScopeTermAdmin(admin.ModelAdmin):
    list_display = ("phrase", "language", "kind", "updated_at")
    list_filter = ("language", "kind")
    search_fields = ("phrase",)
