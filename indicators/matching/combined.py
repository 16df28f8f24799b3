"""Rules and the learned model together: what the matcher proposes, and why.

For one entry:
1. the rules read it (`Matcher.analyse`): the theatre scope, a hard gate (another theatre, and nothing
   is proposed), and each rule's score, direction and terms;
2. the learned model turns the entry's vector and that rule evidence into one probability per indicator
   and a direction; the indicators at or above its threshold are the signals;
   (an entry without a theatre cue needs a higher probability; another theatre never passes);
3. each signal explains itself: the rule and terms that fired, if any, the words whose n-grams weighed
   most, and the three labelled examples nearest to the entry ("close to: ... - prisoner-exchange,
   advance").

Without an encoder or an active model, the rules alone decide (`rules_only`), as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracker.feeds.embeddings import encoder_text, entry_text

from .engine import MATCH_THRESHOLD, Match
from .learned import LearnedModel, Neighbour


@dataclass
class Signal(Match):
    """A match of the combined matcher: the rule's fields (empty when no rule fired) plus the model's."""

    probability: float | None = None  # the model's P(indicator), None in rules-only mode
    model: str = ""  # the model version, "" in rules-only mode
    neighbours: list[Neighbour] = field(default_factory=list)
    frames: list[str] = field(
        default_factory=list
    )  # how the report frames it (frames.py), if the model reads it
    words: list[str] = field(default_factory=list)  # the words whose n-grams weighed most (lexical.py)

    def as_dict(self) -> dict:
        out = super().as_dict()
        out.update(
            probability=self.probability,
            model=self.model,
            neighbours=[n.as_dict() for n in self.neighbours],
            frames=list(self.frames),
            words=list(self.words),
        )
        return out


def gate(analysis: dict, rule_threshold: float = MATCH_THRESHOLD) -> str:
    """The rules' theatre scope, as the hard gate reads it: "in scope"; "no theatre cue" when a rule still
    matched outright (the model then needs more confidence); anything else blocks the entry. (A weak
    term alone, "strike" in an airline story, lets half of a general news feed through to the encoder.)"""
    scope = analysis["scope"]
    strong = any(v["score"] >= rule_threshold and not v["excluded_by"] for v in analysis.get("verdicts", ()))
    if scope == "no theatre cue" and not strong:
        return "no evidence"
    return scope


def _verdicts_by_indicator(analysis: dict) -> dict:
    best = {}
    for verdict in analysis.get("verdicts", ()):
        if verdict["excluded_by"]:
            continue
        slug = verdict["rule"].indicator
        if slug not in best or verdict["score"] > best[slug]["score"]:
            best[slug] = verdict
    return best


def combine(model: LearnedModel, vectors, rules, scopes, analyses, counts=None):
    """Signals for prepared entries (used by evaluation and by `CombinedMatcher`); no explanations yet.
    `scopes` are the gates (`gate`): another theatre never gives a signal, and an entry with no theatre
    cue needs the model's `no_cue_threshold` and at least one rule term. `counts`: the entries'
    `model.lexical_counts`, for a model that reads n-grams."""
    probs, reverse = model.probabilities(vectors, rules, counts)
    out = []
    for row, rev, scope, analysis in zip(probs, reverse, scopes, analyses, strict=True):
        needed = model.threshold_for(scope)
        verdicts = _verdicts_by_indicator(analysis)
        signals = [
            _signal(slug, float(row[i]), float(rev[i]), verdicts.get(slug), analysis, model)
            for i, slug in enumerate(model.indicators)
            if needed is not None and row[i] >= needed
        ]
        out.append(sorted(signals, key=lambda s: (-s.score, s.indicator)))
    return out


def _signal(slug, probability, reverse, verdict, analysis, model) -> Signal:
    return Signal(
        indicator=slug,
        direction="reverse" if reverse >= 0.5 else "advance",
        score=round(probability, 3),
        terms=list(verdict["terms"]) if verdict else [],
        rule=verdict["rule"].rule_id if verdict else "",
        lang=analysis["lang"],
        reverse_cues=list(verdict["reverse_cues"]) if verdict else [],
        theatre_cues=list(analysis["theatre_cues"]),
        probability=round(probability, 3),
        model=model.version,
        frames=sorted(analysis.get("frames", {})) if model.uses_frames else [],
    )


class CombinedMatcher:
    """`match(title, summary, lang, theatre, vector=None)` like the rules' Matcher, with the learned model
    when there is one (and a vector for the entry), the rules alone otherwise."""

    def __init__(self, rules, model: LearnedModel | None = None, encoder=None):
        self.rules = rules
        self.model = (
            model if (model is not None and encoder is not None and model.encoder == encoder.name) else None
        )
        self.encoder = encoder

    @property
    def mode(self) -> str:
        return f"rules + learned model {self.model.version}" if self.model else "rules only"

    def match(self, title, summary="", lang=None, theatre=False, vector=None, analysis=None) -> list[Match]:
        """`analysis`: the rules' full `analyse` of this text, when the caller already has it (the
        enrichment step's gate), so that the text is read once."""
        if self.model is None:
            if analysis is not None:
                return self.rules.matches_from(analysis)
            return self.rules.match(title, summary, lang=lang, theatre=theatre)
        if analysis is None:
            analysis = self.rules.analyse(title, summary, lang=lang, theatre=theatre)
        scope = gate(analysis)
        if self.model.threshold_for(scope) is None:
            return []
        if vector is None:
            vector = self.encoder.embed([encoder_text(title, summary)])[0]
        rules = self.model.rule_features(analysis)[None, :]
        text = entry_text(title, summary)
        counts = self.model.lexical_counts([text])
        [signals] = combine(self.model, np.asarray(vector)[None, :], rules, [scope], [analysis], counts)
        if signals:
            neighbours = self.model.neighbours(vector)
            words = self.model.weighing_words(text, counts=counts)
            for signal in signals:
                signal.neighbours = neighbours
                signal.words = words.get(signal.indicator, [])
        return signals
