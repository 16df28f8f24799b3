"""Evaluate the matcher against the labelled headlines (tests/data/headlines.jsonl).

    python -m indicators.matching.evaluate [--split dev|test|all] [--errors] [--file PATH]

Prints, for each split, per language, per indicator and overall:
- precision: matched (entry, indicator) pairs that are labelled / all matched pairs;
- recall: labelled pairs that were matched / all labelled pairs;
- direction accuracy: correctly matched pairs whose direction is also right;
- negatives matched: share of entries labelled with no indicator that got any match.
The language is detected (the `lang` field is ignored) unless --given-lang is passed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tracker.feeds.languages import LANGUAGES, detect_language

from .engine import Matcher

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "tests" / "data" / "headlines.jsonl"


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    direction_ok: int = 0
    negatives: int = 0
    negatives_matched: int = 0
    entries: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def direction_accuracy(self) -> float | None:
        return self.direction_ok / self.tp if self.tp else None

    @property
    def negatives_share(self) -> float | None:
        return self.negatives_matched / self.negatives if self.negatives else None


@dataclass
class Report:
    overall: Counts = field(default_factory=Counts)
    by_lang: dict = field(default_factory=lambda: defaultdict(Counts))
    by_indicator: dict = field(default_factory=lambda: defaultdict(Counts))
    lang_detected_ok: int = 0
    errors: list = field(default_factory=list)


def load_labelled(path: Path = DEFAULT_FILE) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{number}: not valid JSON ({exc.msg})") from None
    return rows


def evaluate(matcher: Matcher, rows: list[dict], given_lang: bool = False) -> Report:
    report = Report()
    for row in rows:
        lang = row["lang"]
        detected = detect_language(f"{row['title']}. {row.get('summary') or ''}".strip(". "))
        report.lang_detected_ok += detected == lang
        matches = matcher.match(
            row["title"],
            row.get("summary") or "",
            lang=lang if given_lang else None,
            theatre=bool(row.get("theatre")),
        )
        expected = {label["indicator"]: label["direction"] for label in row["labels"]}
        got = {m.indicator: m.direction for m in matches}
        buckets = [report.overall, report.by_lang[lang]]
        for counts in buckets:
            counts.entries += 1
            if not expected:
                counts.negatives += 1
                counts.negatives_matched += bool(got)
        for indicator in set(expected) | set(got):
            targets = [*buckets, report.by_indicator[indicator]]
            if indicator in expected and indicator in got:
                for counts in targets:
                    counts.tp += 1
                    counts.direction_ok += expected[indicator] == got[indicator]
                if expected[indicator] != got[indicator]:
                    report.errors.append((row["id"], "direction", indicator, row["title"]))
            elif indicator in got:
                for counts in targets:
                    counts.fp += 1
                report.errors.append((row["id"], "false positive", indicator, row["title"]))
            else:
                for counts in targets:
                    counts.fn += 1
                report.errors.append((row["id"], "missed", indicator, row["title"]))
    return report


def _fmt(value: float | None) -> str:
    return "   -" if value is None else f"{value:4.2f}"


def format_report(title: str, report: Report) -> str:
    head = f"{'':38} {'prec':>5} {'recall':>6} {'dir':>5} {'neg.m':>5} {'tp':>4} {'fp':>4} {'fn':>4}"
    lines = [title, head]

    def line(name: str, c: Counts) -> str:
        return (
            f"{name:38} {_fmt(c.precision):>5} {_fmt(c.recall):>6} {_fmt(c.direction_accuracy):>5} "
            f"{_fmt(c.negatives_share):>5} {c.tp:4d} {c.fp:4d} {c.fn:4d}"
        )

    for lang in LANGUAGES:
        if lang in report.by_lang:
            lines.append(line(f"lang {lang}", report.by_lang[lang]))
    for indicator in sorted(report.by_indicator):
        lines.append(line(f"  {indicator}", report.by_indicator[indicator]))
    lines.append(line("OVERALL", report.overall))
    total = report.overall.entries
    if total:
        lines.append(f"language detection: {report.lang_detected_ok}/{total} correct")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--split", choices=("dev", "test", "holdout", "all"), default=None, help="default: each split"
    )
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--errors", action="store_true", help="list every error")
    parser.add_argument("--given-lang", action="store_true", help="use the labelled language, no detection")
    args = parser.parse_args(argv)

    from .rules import fixture_matcher

    matcher = fixture_matcher()
    rows = load_labelled(args.file)
    splits = [args.split] if args.split else ["dev", "test", "holdout"]
    for split in splits:
        subset = rows if split == "all" else [r for r in rows if r.get("split") == split]
        report = evaluate(matcher, subset, given_lang=args.given_lang)
        print(format_report(f"== split {split}: {len(subset)} entries ==", report))
        if args.errors:
            for error in report.errors:
                print("   ", *error)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
