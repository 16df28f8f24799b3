"""Dry-run of a rule change: what matches would be gained and lost over the stored entries.

    result = dry_run_rule(candidate)   # an unsaved MatchRule carrying the proposed values
    result.gained / result.lost / result.flipped

Only the candidate's (indicator, language) rule differs between the two matchers, so only that
indicator can change; entries are read newest first, at most `limit` of them. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.feeds.models import Entry

DEFAULT_LIMIT = 20_000


@dataclass(frozen=True)
class Change:
    entry_id: int
    title: str
    direction: str
    score: float
    terms: tuple[str, ...]
    before_direction: str = ""  # for flipped ones


@dataclass
class DryRunResult:
    indicator: str
    language: str
    entries_checked: int
    matched_before: int = 0
    matched_after: int = 0
    gained: list[Change] = field(default_factory=list)
    lost: list[Change] = field(default_factory=list)
    flipped: list[Change] = field(default_factory=list)

    def as_dict(self) -> dict:
        def rows(changes):
            return [
                {
                    "entry": c.entry_id,
                    "title": c.title,
                    "direction": c.direction,
                    "score": c.score,
                    "terms": list(c.terms),
                    **({"before": c.before_direction} if c.before_direction else {}),
                }
                for c in changes
            ]

        return {
            "indicator": self.indicator,
            "language": self.language,
            "entries_checked": self.entries_checked,
            "matched_before": self.matched_before,
            "matched_after": self.matched_after,
            "gained": rows(self.gained),
            "lost": rows(self.lost),
            "flipped": rows(self.flipped),
        }


def dry_run_rule(candidate, *, limit: int = DEFAULT_LIMIT, entry_ids=None) -> DryRunResult:
    """Compare the current rules with the rules where `candidate` (a MatchRule, saved or not) replaces
    the rule of its indicator and language. A disabled candidate removes the rule."""
    from indicators.models import Indicator
    from indicators.proposals import match_entry

    from .store import build_matcher

    slug = Indicator.objects.values_list("slug", flat=True).get(pk=candidate.indicator_id)
    key = (slug, candidate.language)
    before = build_matcher(only=key)
    after = build_matcher(
        replace={key: candidate.spec(indicator_slug=slug) if candidate.enabled else None}, only=key
    )

    entries = Entry.objects.select_related("feed").order_by("-published_at", "-id")
    if entry_ids is not None:
        entries = entries.filter(pk__in=list(entry_ids))
    result = DryRunResult(indicator=slug, language=candidate.language, entries_checked=0)
    for entry in entries[:limit].iterator(chunk_size=1000):
        result.entries_checked += 1
        old = {m.indicator: m for m in match_entry(before, entry)}.get(slug)
        new = {m.indicator: m for m in match_entry(after, entry)}.get(slug)
        result.matched_before += old is not None
        result.matched_after += new is not None
        if new and not old:
            result.gained.append(Change(entry.pk, entry.title, new.direction, new.score, tuple(new.terms)))
        elif old and not new:
            result.lost.append(Change(entry.pk, entry.title, old.direction, old.score, tuple(old.terms)))
        elif old and new and old.direction != new.direction:
            result.flipped.append(
                Change(entry.pk, entry.title, new.direction, new.score, tuple(new.terms), old.direction)
            )
    return result
