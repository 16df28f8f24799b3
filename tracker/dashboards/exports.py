"""CSV and JSON exports of events, following the same filters as the pages; streamed, so 100,000 events
never sit in memory at once. The codebook page documents every field."""

import csv
import dataclasses
import json

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.utils import timezone

from indicators.models import THREAT_SLUG, State

from . import cache
from .access import viewer_required
from .forms import FilterForm
from .queries import events_with_evidence

CHUNK = 2000
# An export of at most this many events is built whole and kept in the dashboards' cache (same keys and
# invalidation as the pages: filters, visitor class, day, generation): under load the filtered exports
# cost more than every page. A larger one is streamed, never held in memory.
CACHED_EVENTS = 5000

# Field name -> what it means (shown on the codebook page, in this order in the CSV).
FIELDS = [
    ("id", "Watchpost's identifier for the event (stable)."),
    ("indicator", "Slug of the indicator the event bears on (see the indicator list below)."),
    ("indicator_title", "The indicator's short English title."),
    ("category", "ground, humanitarian, political or coercive: the editorial's four families of signals."),
    (
        "stage",
        "1, 2 or 3: the step of the editorial's de-escalation sequence the indicator belongs to; "
        "empty where the sequence does not place it.",
    ),
    ("direction", "advance (the watched thing happens or moves forward) or reverse (it goes the other way)."),
    ("occurred_on", "The day the event happened (YYYY-MM-DD), not the day it was reported."),
    ("title", "One line saying what happened."),
    ("summary", "Optional longer description."),
    ("state", "confirmed (counts towards the status), proposed (awaiting review) or rejected."),
    ("origin", "feed (proposed by the matcher from news feeds) or manual (logged by an analyst)."),
    ("created_at", "When the event was recorded in Watchpost (UTC, ISO 8601)."),
    ("reviewed_at", "When it was confirmed or rejected (UTC, ISO 8601); empty while proposed."),
    ("reviewed_by", "User name of the analyst who made the last review decision."),
    ("outlets", "Number of independent outlets among the sources (corroboration)."),
    (
        "claim_status",
        "Who claims it, from the sources' claimants and stances and the outlets' camps, first that "
        "applies: both_sides (claimed by Kyiv and by Moscow), independent (claimed by Washington, European "
        "capitals or another party, or reported with no claimant by a Western or other outlet), contested "
        "(a source denies it), one_side (claimed by Kyiv only or Moscow only), unattributed (none of these).",
    ),
    (
        "sources",
        "The source URLs. In CSV: separated by a space. In JSON: a list of objects with url, "
        "outlet, language, published_at, claimant (who the text says claims it: kyiv, moscow, washington, "
        "europe, other or unknown) and stance (claim, or denial: a counter-claim).",
    ),
    (
        "deadline",
        "Consequences-threat events only: the deadline in force (YYYY-MM-DD; after an extension, the new "
        "one). null in JSON, empty in CSV for other events and for threats with no deadline.",
    ),
    (
        "deadline_outcome",
        "Consequences-threat events with a deadline only: what became of the deadline in force: pending "
        "(not recorded yet: not passed, or due), carried_out (followed by action, e.g. new sanctions), "
        "lapsed (dropped; also recorded as a reverse event of the indicator); deadlines_extended lists the "
        "earlier deadlines. null in JSON, empty in CSV otherwise.",
    ),
    (
        "deadlines_extended",
        "Consequences-threat events only: the earlier deadlines this threat was extended from "
        "(YYYY-MM-DD, oldest first; in CSV separated by a space). An empty list for threats never "
        "extended, null in JSON and empty in CSV for other events.",
    ),
]


def _filters(request):
    """(filters, None) for the export, or (None, errors) when a parameter is wrong: a script asking for an
    impossible range must hear so, not silently get another range. An anonymous visitor (public
    dashboards) gets confirmed events only."""
    form = FilterForm(request.GET)
    if not form.is_valid():
        return None, {field: [str(m) for m in messages] for field, messages in form.errors.items()}
    filters = form.filters()
    if not request.user.is_authenticated:
        filters = dataclasses.replace(filters, state=State.CONFIRMED)
    return filters, None


def _problem_text(errors):
    lines = [f"{'range' if f == '__all__' else f}: {m}" for f, messages in errors.items() for m in messages]
    return "The export was not made. Fix the query string and ask again:\n" + "\n".join(lines) + "\n"


def _events(filters):
    qs = (
        events_with_evidence(filters.events())
        .select_related("threat")
        .prefetch_related("threat__deadlines")
        .order_by("occurred_on", "id")
    )
    return qs.iterator(chunk_size=CHUNK)


def _iso(value):
    return value.isoformat() if value else ""


def _row(e, *, reviewers=True):
    sources = list(e.sources.all())
    return {
        "id": e.pk,
        "indicator": e.indicator.slug,
        "indicator_title": e.indicator.title,
        "category": e.indicator.category,
        "stage": e.indicator.stage,
        "direction": e.direction,
        "occurred_on": _iso(e.occurred_on),
        "title": e.title,
        "summary": e.summary,
        "state": e.state,
        "origin": e.origin,
        "created_at": _iso(e.created_at),
        "reviewed_at": _iso(e.reviewed_at),
        "reviewed_by": e.reviewed_by.get_username() if (reviewers and e.reviewed_by) else "",
        "outlets": e.corroboration,
        "claim_status": e.claim_status,
        **_deadline_fields(e),
        "sources": [
            {
                "url": s.url,
                "outlet": s.outlet,
                "language": s.language,
                "published_at": _iso(s.published_at) or None,
                "claimant": s.claimant,
                "stance": s.stance,
            }
            for s in sources
        ],
    }


def _deadline_fields(e):
    """deadline, deadline_outcome and deadlines_extended of a consequences-threat event (None otherwise)."""
    empty = {"deadline": None, "deadline_outcome": None, "deadlines_extended": None}
    if e.indicator.slug != THREAT_SLUG:
        return empty
    threat = getattr(e, "threat", None)
    deadlines = list(threat.deadlines.all()) if threat is not None else []
    if not deadlines:
        return {**empty, "deadlines_extended": []}
    current = deadlines[-1]
    return {
        "deadline": current.due_on.isoformat(),
        "deadline_outcome": current.outcome or "pending",
        "deadlines_extended": [d.due_on.isoformat() for d in deadlines[:-1]],
    }


class _Echo:
    def write(self, value):
        return value


def _csv_safe(value):
    # Cells starting with = + - @ are formulas in spreadsheets: prefix them so they stay text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@viewer_required
def events_csv(request):
    filters, errors = _filters(request)
    if errors:
        return HttpResponseBadRequest(_problem_text(errors), content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Echo())
    names = [name for name, _ in FIELDS]

    def rows():
        yield "\ufeff"  # BOM: spreadsheets open UTF-8 (French, Russian, Ukrainian text) correctly
        yield writer.writerow(names)
        for e in _events(filters):
            row = _row(e, reviewers=request.user.is_authenticated)
            row["sources"] = " ".join(s["url"] for s in row["sources"])
            row["stage"] = row["stage"] or ""
            row["deadline"], row["deadline_outcome"] = row["deadline"] or "", row["deadline_outcome"] or ""
            row["deadlines_extended"] = " ".join(row["deadlines_extended"] or [])
            yield writer.writerow([_csv_safe(row[n]) for n in names])

    response = _response(request, "export-csv", filters, rows, "text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="watchpost-events-{timezone.localdate():%Y%m%d}.csv"'
    )
    return response


def _response(request, name, filters, chunks, content_type):
    """The export whole from the cache (or built and kept) when it is small, else streamed."""
    if filters.events().count() > CACHED_EVENTS:
        return StreamingHttpResponse(chunks(), content_type=content_type)
    body = cache.cached(name, request, (filters,), lambda: {"body": "".join(chunks())})["body"]
    return HttpResponse(body, content_type=content_type)


@viewer_required
def events_json(request):
    filters, errors = _filters(request)
    if errors:
        return JsonResponse({"error": _problem_text(errors).splitlines()[0], "fields": errors}, status=400)
    head = {
        "generated_at": timezone.now().isoformat(),
        "filters": {
            "since": _iso(filters.since),
            "until": _iso(filters.until),
            "category": filters.category,
            "indicator": filters.indicator,
            "direction": filters.direction,
            "state": filters.state or "all",
            "claims": filters.claims or "all",
        },
        "codebook": request.build_absolute_uri("/codebook/"),
    }

    def chunks():
        yield json.dumps(head, ensure_ascii=False)[:-1] + ', "events": ['
        first = True
        for e in _events(filters):
            row = _row(e, reviewers=request.user.is_authenticated)
            yield ("" if first else ",\n") + json.dumps(row, ensure_ascii=False)
            first = False
        yield "]}\n"

    response = _response(request, "export-json", filters, chunks, "application/json; charset=utf-8")
    response["Content-Disposition"] = (
        f'inline; filename="watchpost-events-{timezone.localdate():%Y%m%d}.json"'
    )
    return response
