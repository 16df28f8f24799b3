"""Evaluate the matcher against the labelled headlines (tests/data/headlines.jsonl): `make eval`.

    python -m indicators.matching.evaluate [--split holdout|test|dev] [--errors] [--rules-only] [--file PATH]

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
import os
import sys
from pathlib import Path

from tracker.feeds.languages import LANGUAGES, detect_language

from . import quality
from .engine import Matcher

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "tests" / "data" / "headlines.jsonl"
# The labelled splits, in the order `make eval` reports them (the frozen holdout first), with their titles.
SPLITS = {
    "holdout": "frozen holdout (written apart, never trained on; its readings: CONTRIBUTING.md)",
    "long2": "long-summary set (3-5 sentences, written apart; decides nothing)",
    "unseen2": "unseen set 2 (one-sentence summaries, written apart; decides nothing)",
    "test": "test split (chose C and the thresholds, then trained on with dev: not a measure)",
    "dev": "dev split (training: not a measure)",
}


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


def evaluate(matcher: Matcher, rows: list[dict], given_lang: bool = False) -> quality.Report:
    """The rules alone on labelled rows (the language detected unless `given_lang`)."""
    predictions, detected_ok = [], 0
    for row in rows:
        detected = detect_language(f"{row['title']}. {row.get('summary') or ''}".strip(". "))
        detected_ok += detected == row["lang"]
        matches = matcher.match(
            row["title"],
            row.get("summary") or "",
            lang=row["lang"] if given_lang else None,
            theatre=bool(row.get("theatre")),
        )
        predictions.append({m.indicator: m.direction for m in matches})
    report = quality.score(rows, predictions)
    report.lang_detected_ok = detected_ok
    return report


def _model_section(model, rows, matcher, encoder, errors: bool) -> None:
    from . import training

    report, intervals = training.evaluate_model(model, rows, matcher, encoder)
    print(quality.format_report(f"-- rules + learned model {model.version} --", report, intervals))
    prepared = training.prepare(
        training.labelled_examples(rows, tuple(SPLITS)),
        matcher,
        encoder,
        model.indicators,
        model.uses_frames,
        model.uses_length,
    )
    probs, _ = model.probabilities(prepared.vectors, prepared.rules, prepared.counts_for(model))
    outcomes = [[slug in e.labels for slug in model.indicators] for e in prepared.examples]
    print(quality.format_reliability(quality.reliability(probs.ravel().tolist(), sum(outcomes, []))))
    if errors:
        for error in report.errors:
            print("   ", *error)


def main(argv: list[str] | None = None) -> int:
    """`make eval`: the frozen holdout first (the learned model shipped in fixtures/matcher/ with the
    rules, then the rules alone, both with 95% bootstrap intervals), then the long-summary set and the
    second unseen set (written apart like the holdout, never used for any decision), then the test and
    dev splits."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--split",
        choices=tuple(SPLITS),
        default=None,
        help="default: each split",
    )
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--errors", action="store_true", help="list every error")
    parser.add_argument("--rules-only", action="store_true", help="leave the learned model out")
    args = parser.parse_args(argv)

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from tracker.feeds.encoder import encoder_status, get_encoder

    from .learned import LearnedModel
    from .rules import fixture_matcher
    from .versions import SHIPPED_DIR

    matcher = fixture_matcher()
    encoder = None if args.rules_only else get_encoder()
    model_file = SHIPPED_DIR / "model.npz"
    model = LearnedModel.from_bytes(model_file.read_bytes()) if encoder and model_file.exists() else None
    if model is None and not args.rules_only:
        print(
            f"(no learned model: {encoder_status().detail if encoder is None else 'no ' + str(model_file)})"
        )
    rows = load_labelled(args.file)
    for split in [args.split] if args.split else SPLITS:
        subset = [r for r in rows if r.get("split") == split]
        langs = ", ".join(f"{lang} {sum(r['lang'] == lang for r in subset)}" for lang in LANGUAGES)
        print(f"== {SPLITS[split]}: {len(subset)} items ({langs}) ==")
        if model is not None:
            _model_section(model, subset, matcher, encoder, args.errors)
        report = evaluate(matcher, subset)
        print(quality.format_report("-- rules only --", report, quality.bootstrap(report)))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
