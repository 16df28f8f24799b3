"""How good a matcher is on labelled items: micro precision, recall and F1, direction accuracy, negatives
matched, per language and per indicator, with 95% bootstrap intervals, and the reliability of the
learned model's probabilities.

Predictions are {indicator: direction} per item; labels the same. `score` counts them; `bootstrap`
resamples the items (not the pairs) 1,000 times with a fixed seed, so the interval is reproducible.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from tracker.feeds.languages import LANGUAGES

BOOTSTRAP_SAMPLES = 1000


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    direction_ok: int = 0
    negatives: int = 0
    negatives_matched: int = 0
    items: int = 0

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def precision(self):
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self):
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self):
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)

    @property
    def direction(self):
        return self.direction_ok / self.tp if self.tp else None

    direction_accuracy = direction

    @property
    def negatives_share(self):
        return self.negatives_matched / self.negatives if self.negatives else None


METRICS = ("precision", "recall", "f1", "direction", "negatives_share")


def item_counts(expected: dict[str, str], got: dict[str, str]) -> Counts:
    c = Counts(items=1)
    if not expected:
        c.negatives, c.negatives_matched = 1, int(bool(got))
    for indicator in set(expected) | set(got):
        if indicator in expected and indicator in got:
            c.tp += 1
            c.direction_ok += expected[indicator] == got[indicator]
        elif indicator in got:
            c.fp += 1
        else:
            c.fn += 1
    return c


@dataclass
class Report:
    overall: Counts = field(default_factory=Counts)
    by_lang: dict = field(default_factory=lambda: defaultdict(Counts))
    by_indicator: dict = field(default_factory=lambda: defaultdict(Counts))
    per_item: list = field(default_factory=list)  # (lang, Counts) for the bootstrap
    errors: list = field(default_factory=list)
    lang_detected_ok: int = 0  # the rules' evaluation: languages detected right

    def summary(self) -> dict:
        o = self.overall
        out = {name: _round(getattr(o, name)) for name in METRICS}
        out.update(items=o.items, tp=o.tp, fp=o.fp, fn=o.fn)
        out["f1_by_lang"] = {lang: _round(c.f1) for lang, c in sorted(self.by_lang.items())}
        return out


def _round(value):
    return None if value is None else round(value, 3)


def score(rows: list[dict], predictions: list[dict[str, str]]) -> Report:
    """Compare predictions with the labels of `rows` (dicts with lang, labels, id, title)."""
    report = Report()
    for row, got in zip(rows, predictions, strict=True):
        expected = {label["indicator"]: label["direction"] for label in row["labels"]}
        counts = item_counts(expected, got)
        report.overall.add(counts)
        report.by_lang[row["lang"]].add(counts)
        report.per_item.append((row["lang"], counts))
        for indicator in set(expected) | set(got):
            _count_pair(report.by_indicator[indicator], expected.get(indicator), got.get(indicator))
            if expected.get(indicator) != got.get(indicator):
                kind = (
                    "missed"
                    if indicator not in got
                    else "false positive"
                    if indicator not in expected
                    else "direction"
                )
                report.errors.append((row.get("id"), kind, indicator, row.get("title", "")))
    return report


def _count_pair(counts: Counts, expected: str | None, got: str | None) -> None:
    """One (item, indicator) pair, for the per-indicator table (negatives are counted per item only)."""
    if expected and got:
        counts.tp += 1
        counts.direction_ok += expected == got
    elif got:
        counts.fp += 1
    else:
        counts.fn += 1


def bootstrap(report: Report, samples: int = BOOTSTRAP_SAMPLES, seed: int = 20250815) -> dict:
    """95% intervals of the overall metrics and of each language's F1, resampling items."""
    rng = random.Random(seed)
    items = report.per_item
    draws: dict[str, list[float]] = defaultdict(list)
    for _ in range(samples):
        total = Counts()
        langs: dict[str, Counts] = defaultdict(Counts)
        for _ in range(len(items)):
            lang, counts = items[rng.randrange(len(items))]
            total.add(counts)
            langs[lang].add(counts)
        for name in METRICS:
            value = getattr(total, name)
            if value is not None:
                draws[name].append(value)
        for lang, counts in langs.items():
            if counts.f1 is not None:
                draws[f"f1_{lang}"].append(counts.f1)
    return {name: (float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))) for name, v in draws.items()}


def reliability(probabilities: list[float], outcomes: list[bool], bins: int = 10) -> list[tuple]:
    """Rows (low, high, count, mean predicted, observed rate) for predicted probabilities in each bin."""
    rows = []
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(outcomes, dtype=float)
    for b in range(bins):
        low, high = b / bins, (b + 1) / bins
        mask = (p >= low) & ((p < high) if b < bins - 1 else (p <= high))
        if mask.any():
            rows.append((low, high, int(mask.sum()), float(p[mask].mean()), float(y[mask].mean())))
    return rows


def _fmt(value) -> str:
    return "   -" if value is None else f"{value:4.2f}"


def format_report(title: str, report: Report, intervals: dict | None = None) -> str:
    o = report.overall
    lines = [title]
    if intervals is not None:
        for name, label in (
            ("precision", "precision"),
            ("recall", "recall"),
            ("f1", "F1"),
            ("direction", "direction"),
            ("negatives_share", "negatives matched"),
        ):
            low, high = intervals.get(name, (None, None))
            ci = f"  [95% CI {low:.2f}-{high:.2f}]" if low is not None else ""
            lines.append(f"  {label:18} {_fmt(getattr(o, name))}{ci}")
        for lang in LANGUAGES:
            if lang in report.by_lang:
                low, high = intervals.get(f"f1_{lang}", (None, None))
                ci = f"  [95% CI {low:.2f}-{high:.2f}]" if low is not None else ""
                lines.append(f"  F1 {lang:15} {_fmt(report.by_lang[lang].f1)}{ci}")
    head = (
        f"  {'':36} {'prec':>5} {'recall':>6} {'F1':>5} {'dir':>5} {'neg.m':>5} {'tp':>4} {'fp':>4} {'fn':>4}"
    )
    lines.append(head)

    def line(name, c):
        return (
            f"  {name:36} {_fmt(c.precision):>5} {_fmt(c.recall):>6} {_fmt(c.f1):>5} {_fmt(c.direction):>5} "
            f"{_fmt(c.negatives_share):>5} {c.tp:4d} {c.fp:4d} {c.fn:4d}"
        )

    for lang in LANGUAGES:
        if lang in report.by_lang:
            lines.append(line(f"lang {lang}", report.by_lang[lang]))
    for indicator in sorted(report.by_indicator):
        lines.append(line(f"  {indicator}", report.by_indicator[indicator]))
    lines.append(line(f"OVERALL ({o.items} items, {o.negatives} negatives)", o))
    return "\n".join(lines)


def format_reliability(rows: list[tuple]) -> str:
    lines = [
        "  reliability of P(indicator) (learned model, every item x indicator pair):",
        f"  {'bin':>11} {'pairs':>6} {'predicted':>9} {'observed':>8}",
    ]
    for low, high, count, mean_p, observed in rows:
        lines.append(f"  {low:4.1f}-{high:<4.1f}  {count:6d} {mean_p:9.2f} {observed:8.2f}")
    return "\n".join(lines)


def score_predictions(model, prepared, rows: list[dict] | None = None) -> Report:
    """Score a learned model on prepared examples, the rules' theatre gate applied as in production.
    `rows` (the labelled rows behind the examples, same order) name the items in the error list."""
    from .combined import combine

    predictions = combine(
        model,
        prepared.vectors,
        prepared.rules,
        prepared.scopes,
        prepared.analyses,
        prepared.counts_for(model),
    )
    if rows is None:
        rows = [
            {
                "lang": e.lang or "en",
                "title": e.title,
                "labels": [{"indicator": k, "direction": v} for k, v in e.labels.items()],
            }
            for e in prepared.examples
        ]
    return score(rows, [{p.indicator: p.direction for p in preds} for preds in predictions])
