"""Forms: the date-range filter every page follows, the log-an-event form, the review decision form.

Forms only parse and explain; the services in indicators.services validate against the models and write.
"""

import datetime
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from indicators.models import Category, Direction, Indicator, State, http_url_validator

from .queries import DEFAULT_SINCE, Filters

MAX_SOURCES = 20


def errors_to_form(form, exc: ValidationError) -> None:
    """A service's ValidationError shown on the form: on the field it names, else above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class FilterForm(forms.Form):
    since = forms.DateField(required=False, widget=DateInput(), label="From")
    until = forms.DateField(required=False, widget=DateInput(), label="To")
    category = forms.ChoiceField(required=False, choices=[("", "all categories"), *Category.choices])
    indicator = forms.SlugField(required=False, widget=forms.HiddenInput)
    direction = forms.ChoiceField(required=False, choices=[("", "both directions"), *Direction.choices])
    state = forms.ChoiceField(
        required=False,
        choices=[("", "confirmed"), *State.choices, ("all", "every state")],
        widget=forms.HiddenInput,
    )
    claims = forms.ChoiceField(
        required=False,
        label="Claims",
        choices=[("", "every claim status"), ("confirmed", "confirmed by both sides or independently")],
    )

    error_messages = {
        "order": "The start date is after the end date: swap them or change one.",
        "early": "Dates start on 1 January 2000: choose a later date.",
        "late": "Dates go at most a year ahead (to {latest:%d %B %Y}): choose an earlier date.",
        "span": "Choose a range of at most {years} years (this one spans {days:,} days).",
    }
    EARLIEST = datetime.date(2000, 1, 1)
    MAX_AHEAD = datetime.timedelta(days=365)
    MAX_YEARS = 5

    def __init__(self, data=None, **kwargs):
        super().__init__(data if data is not None else {}, **kwargs)
        for name in ("since", "until"):
            self.fields[name].error_messages["invalid"] = (
                "Enter a date as YYYY-MM-DD, for example 2025-08-15."
            )

    def clean(self):
        """A sane range only: from 2000 to a year from today, at most five years wide (one column a week
        on the heatmap; an unbounded range cost seconds and megabytes per request)."""
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        latest = timezone.localdate() + self.MAX_AHEAD
        for name, value in (("since", since), ("until", until)):
            if value and value < self.EARLIEST:
                self.add_error(name, ValidationError(self.error_messages["early"], code="early"))
            elif value and value > latest:
                self.add_error(
                    name, ValidationError(self.error_messages["late"].format(latest=latest), code="late")
                )
        if since and until and since > until:
            raise ValidationError(self.error_messages["order"], code="order")
        start, end = since or DEFAULT_SINCE, until or timezone.localdate()
        if (end - start).days > 366 * self.MAX_YEARS and not self.errors:
            message = self.error_messages["span"].format(years=self.MAX_YEARS, days=(end - start).days)
            raise ValidationError(message, code="span")
        return data

    def filters(self, *, default_state=State.CONFIRMED):
        """The Filters to apply: cleaned values, with the default range where a field is empty or invalid."""
        data = self.cleaned_data if self.is_valid() else {}
        today = timezone.localdate()
        state = data.get("state") or default_state
        return Filters(
            since=data.get("since") or DEFAULT_SINCE,
            until=data.get("until") or today,
            category=data.get("category") or "",
            indicator=data.get("indicator") or "",
            direction=data.get("direction") or "",
            state="" if state == "all" else state,
            claims=data.get("claims") or "",
        )


class IndicatorChoiceField(forms.ModelChoiceField):
    default_error_messages = {
        "invalid_choice": "Unknown indicator: choose one of the 16 indicators of the watch list."
    }

    def label_from_instance(self, obj):
        return f"{obj.get_category_display()} · {obj.title}"


def indicator_field(**kwargs):
    return IndicatorChoiceField(
        queryset=Indicator.objects.all(),
        to_field_name="slug",
        empty_label="Choose an indicator",
        error_messages={"required": "Choose the indicator this event bears on."},
        **kwargs,
    )


class EventForm(forms.Form):
    indicator = indicator_field()
    direction = forms.ChoiceField(
        choices=Direction.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Say whether the event is an advance or a reverse for this indicator.",
            "invalid_choice": "Direction must be advance or reverse.",
        },
    )
    occurred_on = forms.DateField(
        label="Happened on",
        widget=DateInput(),
        error_messages={
            "required": "Give the date the event happened.",
            "invalid": "Enter the date as YYYY-MM-DD, for example 2025-08-15.",
        },
    )
    title = forms.CharField(
        max_length=500,
        error_messages={
            "required": "Give the event a title: one line saying what happened.",
            "max_length": "Shorten the title to at most %(limit_value)d characters (it has %(show_value)d).",
        },
    )
    summary = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    sources = forms.CharField(
        label="Source URLs",
        help_text="One web address per line, where the event was reported.",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://"}),
        error_messages={"required": "Add at least one source URL: the web address where this was reported."},
    )

    def clean_title(self):
        title = " ".join(self.cleaned_data["title"].split())
        if not title:
            raise ValidationError("Give the event a title: one line saying what happened.")
        return title

    def clean_occurred_on(self):
        day = self.cleaned_data["occurred_on"]
        if day < datetime.date(1990, 1, 1):
            raise ValidationError(f"{day:%d %B %Y} is too far in the past: check the year.")
        return day  # dates in the future are refused by the model, with the latest date allowed

    def clean_sources(self):
        lines = [line.strip() for line in self.cleaned_data["sources"].splitlines()]
        urls = [line for line in lines if line]
        if not urls:
            raise ValidationError("Add at least one source URL: the web address where this was reported.")
        if len(urls) > MAX_SOURCES:
            raise ValidationError(f"Give at most {MAX_SOURCES} source URLs (there are {len(urls)}).")
        errors = []
        for number, url in enumerate(urls, start=1):
            try:
                http_url_validator(url)
            except ValidationError:
                shown = url if len(url) <= 80 else url[:77] + "..."
                errors.append(
                    ValidationError(
                        f"Source {number} ({shown!r}) is not a web address: enter a full address starting "
                        "with http:// or https://."
                    )
                )
        if errors:
            raise ValidationError(errors)
        return list(dict.fromkeys(urls))

    def source_rows(self):
        return [{"url": url, "outlet": outlet_from_url(url)} for url in self.cleaned_data["sources"]]


def outlet_from_url(url):
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


class ReviewForm(forms.Form):
    ACTIONS = [("confirm", "Confirm"), ("reject", "Reject"), ("reopen", "Reopen"), ("edit", "Save changes")]

    action = forms.ChoiceField(
        choices=ACTIONS,
        error_messages={"invalid_choice": "Unknown decision: use confirm, reject, reopen or save changes."},
    )
    direction = forms.ChoiceField(
        required=False,
        choices=[("", "keep"), *Direction.choices],
        error_messages={"invalid_choice": "Direction must be advance or reverse."},
    )
    indicator = indicator_field(required=False)
    note = forms.CharField(required=False, max_length=2000, widget=forms.TextInput)
