"""Figures from the news: an entry reporting the night's figures ("Russia launched 810 drones and 13
missiles overnight") proposes a point per series (ProposedPoint), reviewed in the same queue as events;
confirming one writes the point through indicators.series (its revision kept, points_changed called),
rejecting one writes nothing.

Only entries about this war propose figures: the rules' theatre gate must read them "in scope" (a
theatre cue, or a theatre feed); a text with no theatre cue, or another theatre's ("Israel launched 30
drones at Gaza overnight"), proposes nothing, even where the event gate lets it through on a rule match.

Wire copy: when a proposal or a point already holds that series, day and value, nothing is proposed; a
different value is still proposed, and the analyst decides.
"""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tracker.feeds.models import Entry

from . import series as series_svc
from .matching.figures import night_figures, night_of
from .matching.store import get_matcher
from .models import ProposedPoint, Series, SeriesPoint, State
from .proposals import entry_text


def propose_figures(entry_ids, now, analyses: dict[int, dict] | None = None) -> int:
    """Propose the figures the entries report, for entries in the theatre's scope. `analyses`: the rules'
    analysis of entries the gate already read (`entries_worth_reading`), by entry id. Returns the number
    of proposals created."""
    analyses = analyses or {}
    slugs = dict(Series.objects.values_list("slug", "pk"))
    created = 0
    entries = Entry.objects.filter(pk__in=list(entry_ids or [])).select_related("feed")
    for entry in entries.iterator(chunk_size=500):
        text = entry_text(entry)
        found = night_figures(text.title, text.summary, text.lang)
        if not found:
            continue
        analysis = analyses.get(entry.pk) or get_matcher().analyse(
            text.title, text.summary, lang=text.lang, theatre=text.theatre
        )
        if analysis["scope"] != "in scope":
            continue
        day = night_of(entry.published_at or entry.fetched_at or now)
        for slug, value in found.items():
            series_id = slugs.get(slug)
            if series_id is None:
                continue
            created += _propose_one(entry, series_id, day, float(value), now)
    return created


def _propose_one(entry, series_id, day, value, now) -> int:
    same = {"series_id": series_id, "date": day}
    if (
        ProposedPoint.objects.filter(**same, entry=entry).exists()
        or ProposedPoint.objects.filter(**same, value=value).exists()
        or SeriesPoint.objects.filter(**same, value=value).exists()
    ):
        return 0
    point = ProposedPoint(
        **same, value=value, entry=entry, source_url=entry.link or entry.canonical_link, created_at=now
    )
    try:
        point.full_clean(exclude=["series", "entry"], validate_constraints=False)
    except ValidationError:
        point.source_url = ""  # a link that is no http(s) URL: the entry still names the source
        point.full_clean(exclude=["series", "entry"], validate_constraints=False)
    try:
        with transaction.atomic():
            point.save()
    except IntegrityError:  # another worker proposed it first
        return 0
    return 1


def _decide(pk, actor_id, now):
    # Lock the proposal row only (`of`): PostgreSQL cannot lock the nullable side of the join to its entry.
    point = ProposedPoint.objects.select_for_update(of=("self",)).select_related("entry").get(pk=pk)
    if point.state != State.PROPOSED:
        raise ValidationError(f"This figure was already {point.get_state_display().lower()}.")
    point.reviewed_by_id, point.reviewed_at = actor_id, now
    return point


def confirm_figure(pk, actor_id, now) -> str:
    """Write the proposed figure as the series' point (a revision kept) and check the series' signal.
    Returns the series service's outcome (new, updated or unchanged)."""
    with transaction.atomic():
        point = _decide(pk, actor_id, now)
        entry = point.entry
        note = f"From the news: {entry.outlet or 'entry'}: {entry.title}"[:500] if entry else "From the news"
        outcome = series_svc.save_point(
            point.series_id,
            point.date,
            point.value,
            now=now,
            source_url=point.source_url,
            note=note,
            actor_id=actor_id,
        )
        point.state = State.CONFIRMED
        point.save(update_fields=["state", "reviewed_by", "reviewed_at"])
    series_svc.points_changed([point.series_id], now=now)
    return outcome


def reject_figure(pk, actor_id, now) -> None:
    """Reject the proposed figure: no point is written."""
    with transaction.atomic():
        point = _decide(pk, actor_id, now)
        point.state = State.REJECTED
        point.save(update_fields=["state", "reviewed_by", "reviewed_at"])


def pending():
    """Proposed figures awaiting review, newest first, with their series and entry (one query)."""
    return ProposedPoint.objects.filter(state=State.PROPOSED).select_related("series", "entry")
