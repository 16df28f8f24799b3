"""Retraining, as one service for `manage.py train_matcher` and the weekly beat task:

retrain(now)
  1. examples: the labelled headlines (dev, test) + every analyst decision in the database
  2. train: fit on dev (+ decisions), choose C and thresholds on test, refit on both
  3. judge: the frozen holdout, with 95% bootstrap intervals (never used by steps 1-2)
  4. compare: what the candidate gains and loses against the active model on recent stored entries
  5. store the candidate; activate it only if its holdout F1 is no worse than the active model's
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from indicators.proposals import entry_text
from tracker.feeds.embeddings import vectors_for
from tracker.feeds.encoder import encoder_status, get_encoder
from tracker.feeds.models import Entry

from . import training, versions
from .combined import CombinedMatcher
from .evaluate import DEFAULT_FILE, load_labelled
from .store import get_matcher

COMPARE_ENTRIES = 2000


class RetrainError(Exception):
    """Training cannot run; the message says why and what to do."""


@dataclass
class Retrained:
    model: object
    row: object
    report: object
    intervals: dict
    validation: dict
    holdout: dict
    activated: bool = False
    message: str = ""
    changes: dict = field(default_factory=dict)


def retrain(now, *, file: Path = DEFAULT_FILE, reviews: bool = True, activate: bool = True) -> Retrained:
    encoder = get_encoder()
    if encoder is None:
        raise RetrainError(f"no sentence encoder: {encoder_status().detail}")
    rows = _labelled(file)
    holdout = [r for r in rows if r.get("split") == "holdout"]
    examples = training.labelled_examples(rows) + (training.decision_examples() if reviews else [])
    matcher = get_matcher()
    model, validation = training.train(examples, matcher, encoder, _indicators(), now=now)
    report, intervals = training.evaluate_model(model, holdout, matcher, encoder)
    figures = {
        **report.summary(),
        "intervals": {k: [round(a, 3), round(b, 3)] for k, (a, b) in intervals.items()},
    }
    result = Retrained(model, None, report, intervals, validation, figures)
    result.changes = compare_with_active(model)
    result.row = versions.save_candidate(model, now=now, validation=validation, holdout=figures)
    if activate:
        active = versions.active_model()
        theirs = None
        if active is not None and active.encoder == encoder.name:
            theirs = training.evaluate_model(active, holdout, matcher, encoder)[0].summary()
        result.activated, result.message = versions.activate_if_no_worse(
            result.row, now=now, active_holdout=theirs
        )
    else:
        result.message = f"stored {result.row.version} (not activated)"
    return result


def _labelled(file: Path) -> list[dict]:
    if not file.exists():
        raise RetrainError(f"no labelled file at {file}")
    rows = load_labelled(file)
    if not any(r.get("split") == "holdout" for r in rows):
        raise RetrainError(f"{file} has no holdout split: nothing to judge a candidate by")
    return rows


def _indicators() -> list[str]:
    from indicators.models import Indicator

    return list(Indicator.objects.order_by("slug").values_list("slug", flat=True))


def compare_with_active(candidate, limit: int = COMPARE_ENTRIES) -> dict:
    """What the candidate would propose differently from the active model on the latest stored entries
    that have a vector: {"entries", "active", "candidate", "gained": [...], "lost": [...], "flipped":
    [...]}, each change with the entry, its title and link, the indicator, the direction before and after
    and the probability that decided it."""
    encoder = get_encoder()
    current = versions.active_model()
    active = CombinedMatcher(get_matcher(), current, encoder)
    proposed = CombinedMatcher(get_matcher(), candidate, encoder)
    entries = list(Entry.objects.filter(vector__isnull=False).select_related("feed").order_by("-id")[:limit])
    vectors = vectors_for([e.pk for e in entries])
    out = {
        "entries": len(entries),
        "active": current.version if current else "rules only",
        "candidate": candidate.version,
        "gained": [],
        "lost": [],
        "flipped": [],
    }
    for entry in entries:
        text = entry_text(entry)
        args = (text.title, text.summary, text.lang, text.theatre)
        before = {m.indicator: m for m in active.match(*args, vector=vectors.get(entry.pk))}
        after = {m.indicator: m for m in proposed.match(*args, vector=vectors.get(entry.pk))}
        for slug in sorted(set(before) | set(after)):
            kind = "gained" if slug not in before else "lost" if slug not in after else None
            if kind is None and before[slug].direction != after[slug].direction:
                kind = "flipped"
            if kind:
                out[kind].append(_change(entry, slug, before.get(slug), after.get(slug)))
    return out


def _change(entry, slug, before, after) -> dict:
    deciding = after or before
    return {
        "entry": entry.pk,
        "title": entry.title[:200],
        "link": entry.link if (entry.link or "").startswith(("http://", "https://")) else "",
        "indicator": slug,
        "before": before.direction if before else "",
        "after": after.direction if after else "",
        "probability": getattr(deciding, "probability", None),
        "frames": list(getattr(deciding, "frames", []) or []),
    }
