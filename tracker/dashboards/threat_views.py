"""Threats and the second meeting: the analysts' forms on the event page (who threatened, the consequence,
the deadline; a meeting's status, place and date) and the page recording a deadline's outcome. Thin:
parse, call indicators.threats, answer with what to fix (never a 500)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from indicators import threats
from indicators.models import (
    SUMMIT_SLUG,
    THREAT_SLUG,
    Category,
    DeadlineOutcome,
    Event,
    MeetingStatus,
    State,
    ThreatDeadline,
)

from .access import analyst_required
from .forms import DateInput, errors_to_form

DATE_ERROR = {"invalid": "Give a real day as YYYY-MM-DD, e.g. 2025-08-08."}
FOLLOW_UPS = 200  # the latest confirmed coercive events offered as a threat's follow-up


class ThreatForm(forms.Form):
    threatened_by = forms.CharField(required=False, max_length=100, label="Who threatened")
    consequence = forms.CharField(required=False, max_length=300, label="Consequence named")
    deadline = forms.DateField(
        required=False, widget=DateInput(), error_messages=DATE_ERROR, help_text="YYYY-MM-DD; empty: none."
    )


class MeetingForm(forms.Form):
    status = forms.ChoiceField(
        choices=MeetingStatus.choices,
        error_messages={"invalid_choice": "Choose a status: proposed, set, cancelled or held."},
    )
    place = forms.CharField(required=False, max_length=100)
    date = forms.DateField(
        required=False, widget=DateInput(), error_messages=DATE_ERROR, label="Meeting date"
    )


OUTCOMES = [(v, label) for v, label in DeadlineOutcome.choices if v]


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=OUTCOMES,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose an outcome: carried out, extended or lapsed.",
            "invalid_choice": "Choose an outcome: carried out, extended or lapsed.",
        },
    )
    follow_up = forms.ModelChoiceField(
        queryset=Event.objects.none(),
        required=False,
        label="Carried out by (a confirmed event)",
        error_messages={"invalid_choice": "Pick the follow-up event from the list."},
    )
    new_deadline = forms.DateField(
        required=False, widget=DateInput(), error_messages=DATE_ERROR, label="New deadline (extended)"
    )
    note = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["follow_up"].queryset = (
            Event.objects.filter(state=State.CONFIRMED, indicator__category=Category.COERCIVE)
            .exclude(pk=event.pk)
            .select_related("indicator")
            .order_by("-occurred_on", "-id")
        )
        self.fields["follow_up"].label_from_instance = lambda e: (
            f"{e.occurred_on:%-d %b %Y} · {e.indicator.title} · {e.title[:100]}"
        )


def _say_errors(request, form, what):
    for name, errors in form.errors.items():
        label = form.fields[name].label or name.replace("_", " ") if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{what} not saved: {f'{label}: ' if label else ''}{error}")


def _save_details(request, pk, slug, form_class, save, saved, what):
    """Validate the form, call the service `save(event_id, now=, actor_id=, **fields)`, say what happened
    and go back to the event page (a refused value is named with what to fix)."""
    event = get_object_or_404(Event.objects.select_related("indicator"), pk=pk, indicator__slug=slug)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            save(event.pk, now=timezone.now(), actor_id=request.user.pk, **form.cleaned_data)
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            messages.success(request, saved)
            return redirect("event", pk=event.pk)
    _say_errors(request, form, what)
    return redirect("event", pk=event.pk)


@require_POST
@analyst_required
def threat_edit(request, pk):
    return _save_details(
        request,
        pk,
        THREAT_SLUG,
        ThreatForm,
        threats.set_threat,
        "Saved the threat's details.",
        "The threat's details were",
    )


@require_POST
@analyst_required
def meeting_edit(request, pk):
    return _save_details(
        request,
        pk,
        SUMMIT_SLUG,
        MeetingForm,
        threats.set_meeting,
        "Saved the meeting's status, place and date.",
        "The meeting was",
    )


@analyst_required
def threat_outcome(request, pk):
    """What became of a threat's deadline in force: carried out, extended or lapsed. Bad input: 400 with
    what to fix."""
    event = get_object_or_404(Event.objects.select_related("indicator"), pk=pk, indicator__slug=THREAT_SLUG)
    deadlines = list(ThreatDeadline.objects.filter(threat__event=event).select_related("follow_up"))
    current = next((d for d in deadlines if not d.outcome), None)
    status = 200
    if request.method == "POST":
        form = OutcomeForm(request.POST, event=event)
        if form.is_valid():
            data = form.cleaned_data
            try:
                threats.record_outcome(
                    event.pk,
                    outcome=data["outcome"],
                    now=timezone.now(),
                    actor_id=request.user.pk,
                    follow_up_id=data["follow_up"].pk if data["follow_up"] else None,
                    new_deadline=data["new_deadline"],
                    note=data["note"],
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                label = dict(DeadlineOutcome.choices)[data["outcome"]]
                messages.success(request, f"Recorded: the deadline was {label}.")
                return redirect("event", pk=event.pk)
        status = 400
    else:
        form = OutcomeForm(event=event)
    context = {"event": event, "deadlines": deadlines, "current": current, "form": form}
    return render(request, "tracker/threat_outcome.html", context, status=status)
