"""Measured series: the series page (figure, sentence, points with their history, the analysts' form to
add or correct a point) and its exports. Thin: parse, call indicators.series, render."""

import csv
import re

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from indicators import series as svc
from indicators.models import Series, SeriesPoint, SeriesPointRevision

from . import figures
from .access import analyst_required, viewer_required
from .exports import _csv_safe
from .forms import DateInput, errors_to_form

BASELINE_COLOUR = "#555"
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,64}")


class PointForm(forms.Form):
    date = forms.DateField(
        widget=DateInput(),
        help_text="The day the figure is for (YYYY-MM-DD).",
        error_messages={"invalid": "Give a real day as YYYY-MM-DD, e.g. 2025-09-07."},
    )
    value = forms.CharField(max_length=40, help_text="A number of 0 or more, e.g. 412 or 12.5.")
    source_url = forms.URLField(
        required=False,
        max_length=2000,
        assume_scheme="https",
        label="Source URL",
        error_messages={"invalid": "Give a full web address starting with http:// or https://."},
    )
    note = forms.CharField(required=False, max_length=500)

    def clean_value(self):
        return svc.parse_value(self.cleaned_data["value"])


def _page(request, series, form, status=200):
    reading = svc.read(series)
    revisions = Prefetch("revisions", queryset=SeriesPointRevision.objects.select_related("actor"))
    points = series.points.order_by("-date").prefetch_related(revisions)
    context = {
        "series": series,
        "reading": reading,
        "figure": series_figure(reading),
        "form": form,
        "points": points,
    }
    return render(request, "tracker/series.html", context, status=status)


@viewer_required
def series_page(request, slug):
    series = get_object_or_404(Series.objects.select_related("indicator"), slug=slug)
    return _page(request, series, PointForm(initial={"date": timezone.localdate()}))


@require_POST
@analyst_required
def series_point(request, slug):
    """Add or correct a point; bad input re-renders the page with what to fix (400), never a 500."""
    series = get_object_or_404(Series.objects.select_related("indicator"), slug=slug)
    form = PointForm(request.POST)
    if form.is_valid():
        data, now = form.cleaned_data, timezone.now()
        try:
            outcome = svc.save_point(
                series.pk,
                data["date"],
                data["value"],
                now=now,
                source_url=data["source_url"],
                note=data["note"],
                actor_id=request.user.pk,
            )
        except ValidationError as exc:
            errors_to_form(form, exc)
        else:
            try:
                proposed = svc.points_changed([series.pk], now=now)
            except ValidationError as exc:  # the point is saved; say why no proposal could be made
                proposed = []
                messages.warning(request, f"The point is saved, but no proposal was made: {svc.message(exc)}")
            day = f"{data['date']:%-d %b %Y}"
            text = {
                svc.PointOutcome.NEW: f"Added {svc.number(data['value'])} for {day}.",
                svc.PointOutcome.UPDATED: (
                    f"Corrected {day} to {svc.number(data['value'])}; the old figure is kept in its history."
                ),
                svc.PointOutcome.UNCHANGED: f"{day} already has that figure: nothing changed.",
            }[outcome]
            if proposed:
                text += f" The 28-day mean crossed a threshold: “{proposed[0].title}” is proposed for review."
            messages.success(request, text)
            return redirect("series", slug=series.slug)
    return _page(request, series, form, status=400)


def series_figure(reading):
    """Daily values, 7-day and 28-day trailing means, and the baseline mean over the baseline's span."""
    s, points = reading.series, reading.points
    x = [d.isoformat() for d, _ in points]
    unit = svc.per_unit(s.unit)
    data = [
        {
            "type": "bar",
            "x": x,
            "y": [v for _, v in points],
            "name": "daily",
            "marker": {"color": "#b9c7d8"},
            "hovertemplate": f"%{{x|%d %b %Y}}: %{{y}} {unit}<extra></extra>",
        }
    ]
    for days, colour, name in (
        (svc.SHORT_DAYS, "#1f7a8c", "7-day mean"),
        (svc.RECENT_DAYS, "#a23b52", "28-day mean"),
    ):
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": x,
                "y": svc.rolling(points, days),
                "name": name,
                "line": {"color": colour, "width": 2},
                "connectgaps": False,
                "hovertemplate": f"{name} to %{{x|%d %b %Y}}: %{{y:.1f}}<extra></extra>",
            }
        )
    if reading.baseline.mean is not None:
        b = reading.baseline
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [b.since.isoformat(), b.until.isoformat()],
                "y": [b.mean, b.mean],
                "name": "pre-summit baseline",
                "line": {"color": BASELINE_COLOUR, "width": 2, "dash": "dash"},
                "hovertemplate": f"baseline mean: {b.mean:.1f}<extra></extra>",
            }
        )
    layout = {
        "barmode": "overlay",
        "xaxis": {"type": "date"},
        "yaxis": {"title": {"text": f"{s.title.lower()} ({s.unit})"}, "rangemode": "tozero"},
    }
    return figures.to_json(figures._figure(data, layout, height=340))


# --- Exports ------------------------------------------------------------------------------------------


def _series_or_error(request):
    slug = request.GET.get("series", "").strip()
    series = Series.objects.filter(slug=slug).first() if SLUG.fullmatch(slug) else None
    if series is not None:
        return series, None
    known = list(Series.objects.values_list("slug", flat=True))
    what = f"Unknown series {slug!r}" if slug else "No series given"
    error = f"{what}: pass ?series=SLUG with one of {', '.join(known) or 'the series an admin adds'}."
    return None, JsonResponse({"error": error, "series": known}, status=400)


def _iso(day):
    return day.isoformat() if day else None


@viewer_required
def series_json(request):
    series, problem = _series_or_error(request)
    if problem:
        return problem
    reading = svc.read(series)
    recent = reading.recent
    body = {
        "series": series.slug,
        "title": series.title,
        "unit": series.unit,
        "indicator": series.indicator.slug,
        "points": [{"date": d.isoformat(), "value": v} for d, v in reading.points],
        "baseline": {
            "since": _iso(series.baseline_since),
            "until": _iso(series.baseline_until),
            "mean": reading.baseline.mean,
        },
        "recent": {
            "days": svc.RECENT_DAYS,
            "since": _iso(recent.since) if recent else None,
            "until": _iso(recent.until) if recent else None,
            "mean": recent.mean if recent else None,
        },
        "change": reading.change,
        "sentence": reading.sentence,
    }
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


@viewer_required
def series_csv(request):
    series, problem = _series_or_error(request)
    if problem:
        return problem
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="watchpost-series-{series.slug}.csv"'
    writer = csv.writer(response)
    writer.writerow(["series", "date", "value", "source_url", "note"])
    rows = SeriesPoint.objects.filter(series=series).order_by("date")
    for day, value, url, note in rows.values_list("date", "value", "source_url", "note"):
        plain = str(int(value)) if value.is_integer() else repr(value)
        writer.writerow([series.slug, day.isoformat(), plain, _csv_safe(url), _csv_safe(note)])
    return response
