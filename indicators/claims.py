"""Who claims an event: its claim status, from its sources' claimants, stances and outlets' camps.

Each source says who claims it (`claimant`: kyiv, moscow, washington, europe, other, unknown; proposed
from the text by indicators.matching.claimants, editable) and whether it claims or denies it (`stance`:
a denial is a counter-claim attached to the event it denies). Each feed has a camp (the outlet's side).
The rule, first that applies:

1. **confirmed by both sides**: claims (not denials) by Kyiv and by Moscow;
2. **independently confirmed**: a claim by Washington, European capitals or another party, or a claim
   with no claimant reported by an outlet of the Western or other camp (a source typed by hand has no
   camp);
3. **contested**: a denial, by anyone (an event claimed by Moscow and denied by Kyiv);
4. **claimed by one side**: claims by Kyiv only, or by Moscow only;
5. **unattributed**: none of these (no claimant named, outlets of the two sides only).

`claim_status(rows)` is the rule on (claimant, stance, camp) rows; `event_claim_status(event)` reads an
event's prefetched sources (`sources_prefetch()` gives them their feed's camp in the same query);
`confirmed_q()` is rules 1 and 2 as a filter, for `?claims=confirmed` on the pages.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Prefetch, Q

from tracker.feeds.models import Camp

from .models import Claimant, Event, EventSource, Stance
from .services import record_edit

BOTH_SIDES = "both_sides"
INDEPENDENT = "independent"
CONTESTED = "contested"
ONE_SIDE = "one_side"
UNATTRIBUTED = "unattributed"
LABELS = {
    BOTH_SIDES: "confirmed by both sides",
    INDEPENDENT: "independently confirmed",
    CONTESTED: "contested",
    ONE_SIDE: "claimed by one side",
    UNATTRIBUTED: "unattributed",
}
CONFIRMED = (BOTH_SIDES, INDEPENDENT)  # what `?claims=confirmed` keeps

_THIRD_PARTIES = (Claimant.WASHINGTON, Claimant.EUROPE, Claimant.OTHER)
_INDEPENDENT_CAMPS = (Camp.WESTERN, Camp.OTHER)


def claim_status(rows) -> str:
    """The status of an event from its sources' (claimant, stance, camp or None) rows."""
    rows = list(rows)
    claims = {who for who, stance, _ in rows if stance == Stance.CLAIM}
    if Claimant.KYIV in claims and Claimant.MOSCOW in claims:
        return BOTH_SIDES
    if any(
        stance == Stance.CLAIM
        and (who in _THIRD_PARTIES or (who == Claimant.UNKNOWN and camp in _INDEPENDENT_CAMPS))
        for who, stance, camp in rows
    ):
        return INDEPENDENT
    if any(stance == Stance.DENIAL for _, stance, _ in rows):
        return CONTESTED
    if claims & {Claimant.KYIV, Claimant.MOSCOW}:
        return ONE_SIDE
    return UNATTRIBUTED


def _camp(source):
    if hasattr(source, "feed_camp"):
        return source.feed_camp
    entry = source.entry if source.entry_id else None  # not prefetched with the camp: one query
    return entry.feed.camp if entry is not None and entry.feed_id else None


def event_claim_status(event) -> str:
    return claim_status((s.claimant, s.stance, _camp(s)) for s in event.sources.all())


def label(status: str) -> str:
    return LABELS.get(status, status)


def sources_prefetch(lookup="sources"):
    """An event's sources in order, each with its feed's camp (`feed_camp`), in one query."""
    return Prefetch(
        lookup,
        queryset=EventSource.objects.annotate(feed_camp=F("entry__feed__camp")).order_by(
            "published_at", "id"
        ),
    )


def confirmed_q() -> Q:
    """Events confirmed by both sides or independently (rules 1 and 2), as a filter on Event."""
    claims = EventSource.objects.filter(event=OuterRef("pk"), stance=Stance.CLAIM)
    independent = Q(claimant__in=_THIRD_PARTIES) | Q(
        claimant=Claimant.UNKNOWN, entry__feed__camp__in=_INDEPENDENT_CAMPS
    )
    return (
        Exists(claims.filter(claimant=Claimant.KYIV)) & Exists(claims.filter(claimant=Claimant.MOSCOW))
    ) | Exists(claims.filter(independent))


def set_claimant(source_id, *, claimant, stance=None, now, actor_id=None, note="") -> EventSource:
    """Correct who claims a source (and whether it claims or denies), with an audit line on its event."""
    with transaction.atomic():
        source = EventSource.objects.select_for_update().get(pk=source_id)
        changes = {}
        for name, value in (("claimant", claimant), ("stance", stance)):
            if value is not None and getattr(source, name) != value:
                changes[f"source {source.pk} {name}"] = [getattr(source, name), value]
                setattr(source, name, value)
        if changes:
            source.full_clean(exclude=["event"], validate_unique=False, validate_constraints=False)
            source.save(update_fields=["claimant", "stance"])
            record_edit(
                Event.objects.get(pk=source.event_id), now=now, changes=changes, note=note, actor_id=actor_id
            )
    return source
