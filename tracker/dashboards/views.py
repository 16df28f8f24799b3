"""Dashboard pages, the log-an-event form and the review queue. Thin: parse, call queries/services, render."""

import dataclasses
import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from indicators import claims, threats
from indicators import figures as news_figures
from indicators.matching.versions import matching_mode
from indicators.models import Category, Event, Indicator, MeetingStatus, Origin, State
from indicators.services import edit_event, indicator_trends, record_event, review_event
from tracker.feeds import enrichment
from tracker.feeds.models import Feed

from . import cache, figures, queries, review
from .access import analyst_required, is_analyst, viewer_required
from .atom import feed_key
from .exports import FIELDS
from .forms import EventForm, FilterForm, ReviewForm, errors_to_form

EVENTS_PER_PAGE = 50
QUEUE_PER_PAGE = 20


def _filters(request):
    """The page's filters. Dashboards show confirmed events only (exports may choose another state)."""
    form = FilterForm(request.GET)
    return form, dataclasses.replace(form.filters(), state=State.CONFIRMED)


def _trends(filters, indicator_ids=None):
    until = filters.until or timezone.localdate()
    since = until - datetime.timedelta(days=queries.TREND_DAYS - 1)
    only = claims.confirmed_q() if filters.claims == "confirmed" else None
    return indicator_trends(since=since, until=until, indicator_ids=indicator_ids, only=only), since, until


def _cards(statuses, trends):
    return [{"status": s, "trend": trends.get(s.indicator.pk)} for s in statuses]


def _card_context(request, trend_since, trend_until):
    query = request.GET.urlencode()
    return {
        "query_suffix": f"?{query}" if query else "",
        "trend_range": f"{trend_since:%-d %b}–{trend_until:%-d %b %Y}",
    }


def _events_page(page, request, filters, count):
    """One page of the `count` confirmed events the filters select, its items cached; loaded only when
    the page's content is rendered (not when it comes from the cache)."""
    qs = queries.event_list(filters.events())
    return SimpleLazyObject(
        lambda: cache.cached_page(
            page, request, (filters,), count, EVENTS_PER_PAGE, lambda bottom, top: qs[bottom:top]
        )
    )


@viewer_required
def overview(request):
    form, filters = _filters(request)
    filters = dataclasses.replace(filters, category="", indicator="", direction="")  # the whole watch list
    data = cache.cached("overview", request, (filters,), lambda: _overview_data(filters))
    context = {"form": form, "filters": filters, **data}
    context.update(_card_context(request, data["trend_since"], data["trend_until"]))
    return cache.render(request, "tracker/overview.html", context, page="overview", parts=(filters,))


def _overview_data(filters):
    daily = queries.Daily.load(filters)
    statuses = queries.indicator_statuses(filters, daily=daily)
    trends, trend_since, trend_until = _trends(filters, [s.indicator.pk for s in statuses])
    weekly = queries.weekly_counts(filters, daily, {s.indicator.pk: s.indicator.category for s in statuses})
    progress = queries.stage_progress([s.indicator for s in statuses])
    marks = queries.milestones(filters)
    # Threats due or coming, and the second meeting's line: one query (the watch list's ids are known).
    threats_open, meeting = threats.overview_lines(
        timezone.localdate(), since=filters.since, until=filters.until
    )
    return {
        "threats_open": threats_open,
        "meeting_line": meeting,
        "groups": queries.indicators_by_category(
            _cards(statuses, trends), key=lambda c: c["status"].indicator
        ),
        "trend_since": trend_since,
        "trend_until": trend_until,
        "pending_total": sum(s.pending for s in statuses),
        "confirmed_total": sum(s.confirmed for s in statuses),
        "timeline": figures.timeline_json(weekly, marks, since=filters.since, until=filters.until),
        "progress": progress,
        "progress_figure": figures.stage_progress_json(progress),
        "milestones": marks,
    }


@viewer_required
def category(request, category):
    if category not in Category.values:
        raise Http404("No such category: use ground, humanitarian, political or coercive.")
    form, filters = _filters(request)
    filters = dataclasses.replace(filters, category=category, indicator="")
    data = cache.cached("category", request, (filters,), lambda: _category_data(filters, category))
    context = {"form": form, "filters": filters, "category": category, **data}
    context["events"] = _events_page("category-events", request, filters, data["events_count"])
    context.update(_card_context(request, data["trend_since"], data["trend_until"]))
    return cache.render(request, "tracker/category.html", context, page="category", parts=(filters,))


def _category_data(filters, category):
    daily = queries.Daily.load(filters)
    statuses = queries.indicator_statuses(filters, Indicator.objects.filter(category=category), daily)
    trends, trend_since, trend_until = _trends(filters)
    weekly = queries.weekly_counts(filters, daily, {s.indicator.pk: category for s in statuses})
    marks = queries.milestones(filters)
    return {
        "ledger": threats.threat_ledger() if category == Category.COERCIVE else None,
        "category_label": queries.category_label(category),
        "cards": _cards(statuses, trends),
        "trend_since": trend_since,
        "trend_until": trend_until,
        "timeline": figures.timeline_json(
            weekly, marks, since=filters.since, until=filters.until, categories=[category]
        ),
        "events_count": filters.events().count(),
    }


@viewer_required
def indicator(request, slug):
    form, filters = _filters(request)
    filters = dataclasses.replace(filters, category="", indicator=slug)
    # Anonymous visitors (public dashboards) see confirmed events only: no list of proposals.
    public = not request.user.is_authenticated
    data = cache.cached("indicator", request, (filters,), lambda: _indicator_data(filters, slug, public))
    context = {"form": form, "filters": filters, **data}
    context["events"] = _events_page("indicator-events", request, filters, data["events_count"])
    return cache.render(request, "tracker/indicator.html", context, page="indicator", parts=(filters,))


def _indicator_data(filters, slug, public):
    ind = get_object_or_404(Indicator, slug=slug)  # raised, not cached
    daily = queries.Daily.load(filters)
    status = queries.indicator_statuses(filters, Indicator.objects.filter(pk=ind.pk), daily)[0]
    trends, trend_since, trend_until = _trends(filters)
    weekly = queries.weekly_counts(filters, daily, {ind.pk: ind.category})
    marks = queries.milestones(filters)
    pending = []
    if not public:
        proposed = ind.events.filter(state=State.PROPOSED).order_by("-created_at", "-id")
        pending = list(queries.event_list(proposed)[:20])
    return {
        "indicator": ind,
        "status": status,
        "trend": trends.get(ind.pk),
        "trend_since": trend_since,
        "trend_until": trend_until,
        "timeline": figures.timeline_json(
            weekly, marks, since=filters.since, until=filters.until, categories=[ind.category]
        ),
        "events_count": filters.events().count(),
        "pending": pending,
    }


@viewer_required
def heatmap(request):
    form, filters = _filters(request)
    data = cache.cached("heatmap", request, (filters,), lambda: _heatmap_data(filters))
    context = {"form": form, "filters": filters, **data}
    return cache.render(request, "tracker/heatmap.html", context, page="heatmap", parts=(filters,))


def _heatmap_data(filters):
    indicators = list(Indicator.objects.all())
    if filters.category:
        indicators = [i for i in indicators if i.category == filters.category]
    cells = queries.heatmap_cells(filters)
    weeks = _weeks(filters.since, filters.until)
    figure = figures.heatmap(indicators, weeks, cells, queries.milestones(filters))
    return {"heatmap": figures.to_json(figure), "cells": len(cells)}


@viewer_required
def feed_health(request):
    feeds = Feed.objects.order_by("-active", "title", "url")
    context = {
        "feeds": feeds,
        "now": timezone.now(),
        "matching": matching_mode(),
        "backlog": enrichment.backlog(),
    }
    return render(request, "tracker/feed_health.html", context)


@viewer_required
def event_detail(request, pk):
    # Public dashboards show anonymous visitors confirmed events and their sources only: no proposals,
    # no rejections, no reviewers' names or notes (the template leaves the audit trail out for them).
    visible = (
        Event.objects.all() if request.user.is_authenticated else Event.objects.filter(state=State.CONFIRMED)
    )
    event = get_object_or_404(queries.events_with_evidence(visible).prefetch_related("reviews__actor"), pk=pk)
    context = {
        "event": event,
        "can_review": is_analyst(request.user),
        "meeting_statuses": MeetingStatus.choices,
    }
    return render(request, "tracker/event.html", context)


@analyst_required
def log_event(request):
    if request.method == "POST":
        form = EventForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                event = record_event(
                    indicator_id=data["indicator"].pk,
                    direction=data["direction"],
                    occurred_on=data["occurred_on"],
                    title=data["title"],
                    summary=data["summary"],
                    sources=form.source_rows(),
                    origin=Origin.MANUAL,
                    actor_id=request.user.pk,
                    now=timezone.now(),
                )
            except ValidationError as exc:
                errors_to_form(form, exc)
            else:
                messages.success(request, f"Logged and confirmed: {event.title}")
                return redirect("event", pk=event.pk)
    else:
        initial = {"occurred_on": timezone.localdate()}
        slug = request.GET.get("indicator", "")
        if slug and Indicator.objects.filter(slug=slug).exists():
            initial["indicator"] = slug
        form = EventForm(initial=initial)
    return render(request, "tracker/log_event.html", {"form": form})


@analyst_required
def review_queue(request):
    page = review.proposed_cards(request.GET.get("page"), QUEUE_PER_PAGE)
    return render(
        request,
        "tracker/review_queue.html",
        {
            "page": page,
            "indicators": list(Indicator.objects.all()),
            "actions": ReviewForm.ACTIONS,
            "matching": matching_mode(),
            "proposed_figures": list(news_figures.pending()),
        },
    )


@require_POST
@analyst_required
def review_decision(request, pk):
    event = get_object_or_404(Event.objects.only("id", "title", "state"), pk=pk)
    form = ReviewForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, {request.get_host()}, require_https=request.is_secure()):
        back = reverse("review-queue")
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, f"Nothing changed for “{event.title}”: {error}")
        return redirect(back)
    data = form.cleaned_data
    changes = {
        "direction": data.get("direction") or None,
        "indicator_id": data["indicator"].pk if data.get("indicator") else None,
    }
    now = timezone.now()
    try:
        if data["action"] == "edit":
            edit_event(pk, actor_id=request.user.pk, now=now, note=data["note"], **changes)
            messages.success(request, f"Saved changes to “{event.title}” (still awaiting review).")
        else:
            review_event(
                pk, action=data["action"], actor_id=request.user.pk, now=now, note=data["note"], **changes
            )
            done = {"confirm": "Confirmed", "reject": "Rejected", "reopen": "Reopened"}[data["action"]]
            messages.success(request, f"{done}: “{event.title}”.")
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"Nothing changed for “{event.title}”: {message}")
    return redirect(back)


# --- helpers ------------------------------------------------------------------------------------------


def _page(request, qs, per_page):
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


def _weeks(since, until):
    start = since - datetime.timedelta(days=since.weekday())
    weeks = []
    while start <= until:
        weeks.append(start)
        start += datetime.timedelta(days=7)
    return weeks


@viewer_required
def export(request):
    form = FilterForm(request.GET)
    filters = form.filters()
    query = request.GET.urlencode()
    key = feed_key(request.user) if request.user.is_authenticated else ""
    return render(
        request,
        "tracker/export.html",
        {
            "form": form,
            "filters": filters,
            "query": query,
            "count": filters.events().count(),
            "categories": Category.choices,
            "feed_key": key,
        },
    )


@viewer_required
def codebook(request):
    indicators = Indicator.objects.all()
    return render(
        request,
        "tracker/codebook.html",
        {"fields": FIELDS, "groups": queries.indicators_by_category(indicators)},
    )
