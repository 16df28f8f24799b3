"""How well reports are grouped into stories, on labelled cluster sets (tests/data/stories/*.txt).

    python -m tracker.pipeline.story_quality        (part of `make eval`)

Each labelled report (`story | outlet | lang | published | title | summary`) goes through what the
pipeline does, in publication order: the lexical join of store time (clustering.py), then, with the
encoder, the semantic join of enrichment (semantic.py), then the events proposing makes of them (one per
story and indicator, or the event of another story that tells the same one). Printed: B-cubed and
pairwise precision, recall and F1 of the stories, lexical alone and lexical + semantic; the proposals
against the distinct (true story, indicator) pairs, and the pairwise figures of the events (a wrong
join of events hides one). `holdout-2.txt` (fresh, written apart on 2026-12-01) and `holdout.txt` are only
measured; `dev.txt` trains the join model (story_training.py).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "stories"


@dataclass(frozen=True)
class Report:
    story: str
    outlet: str
    lang: str
    published: datetime
    title: str
    summary: str


def load_reports(path: Path) -> list[Report]:
    reports = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 6:
            raise ValueError(f"{path.name}:{number}: expected 6 fields separated by |, got {len(parts)}")
        story, outlet, lang, published, title, summary = parts
        when = datetime.fromisoformat(published.replace("Z", "+00:00"))
        reports.append(Report(story, outlet, lang, when, title, summary))
    return sorted(reports, key=lambda r: r.published)


def embed_reports(reports: list[Report], encoder):
    from tracker.feeds.embeddings import encoder_text

    return encoder.embed([encoder_text(r.title, r.summary) for r in reports]) if encoder else None


def evidence(reports: list[Report], vectors) -> list:
    """What each report brings to the semantic join (`semantic.ReportEvidence`), as enrichment reads it."""
    from tracker.feeds.semantic import ReportEvidence

    return [
        ReportEvidence.of(v, r.title, r.summary, r.lang, r.outlet, r.published)
        for r, v in zip(reports, vectors, strict=True)
    ]


def cluster(reports: list[Report], encoder=None, vectors=None, model=None) -> list[int]:
    """A story number per report: lexical joins, then (with an encoder or vectors) semantic joins by the
    join model (`model`, default the shipped one)."""
    from tracker.feeds.clustering import signature
    from tracker.feeds.semantic import StoryIndex
    from tracker.feeds.store import TitleIndex

    lexical = TitleIndex()
    semantic = StoryIndex()
    if vectors is None:
        vectors = embed_reports(reports, encoder)
    brought = evidence(reports, vectors) if vectors is not None else None
    assigned: list[int] = []
    for i, report in enumerate(reports):
        sig = signature(report.title, report.lang)
        key = lexical.find(sig, report.published)
        if key is None and brought is not None:
            story, _ = semantic.best(brought[i], model=model)
            key = story.key if story else None
        if key is None:
            key = i
        lexical.add(key, sig, report.published)
        if brought is not None:
            semantic.add_report(key, brought[i])
        assigned.append(key)
    return assigned


def bcubed(predicted: list, gold: list) -> tuple[float, float, float]:
    pred_sizes, gold_sizes = Counter(predicted), Counter(gold)
    both = Counter(zip(predicted, gold, strict=True))
    n = len(gold)
    precision = sum(both[(p, g)] / pred_sizes[p] for p, g in zip(predicted, gold, strict=True)) / n
    recall = sum(both[(p, g)] / gold_sizes[g] for p, g in zip(predicted, gold, strict=True)) / n
    return precision, recall, 2 * precision * recall / (precision + recall)


def pairwise(predicted: list, gold: list) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for (p1, g1), (p2, g2) in combinations(zip(predicted, gold, strict=True), 2):
        same_p, same_g = p1 == p2, g1 == g2
        tp += same_p and same_g
        fp += same_p and not same_g
        fn += same_g and not same_p
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def converge(reports: list[Report], predicted: list, vectors, signals: list, model=None) -> list[dict]:
    """What proposing does with the stories: per report, {indicator: event}. A story's first report on an
    indicator proposes an event, unless another story within the window tells the same event
    (`semantic.same_event`, as `indicators.proposals` decides it), whose event it corroborates."""
    from tracker.feeds.semantic import StoryIndex, same_event, story_score

    index = StoryIndex()
    brought = evidence(reports, vectors) if vectors is not None else None
    event_of: dict = {}  # (story, indicator) -> event
    by_indicator: dict = {}  # indicator -> [(story, event)]
    out = []
    for i in range(len(reports)):
        key = predicted[i]
        if brought is not None:
            index.add_report(key, brought[i])
        mine = index.get(key)
        for slug in sorted(signals[i]):
            if (key, slug) in event_of:
                continue
            close = [
                (story_score(mine, index.get(k), model), event)
                for k, event in by_indicator.get(slug, [])
                if mine is not None and k != key and same_event(mine, index.get(k), model)
            ]
            event_of[(key, slug)] = max(close)[1] if close else (key, slug)
            if not close:
                by_indicator.setdefault(slug, []).append((key, (key, slug)))
        out.append({slug: event_of[(key, slug)] for slug in signals[i]})
    return out


def report_line(name: str, predicted: list, gold: list, signals=None, events=None) -> str:
    b, p = bcubed(predicted, gold), pairwise(predicted, gold)
    line = (
        f"  {name:22} stories {len(set(predicted)):4d} (true {len(set(gold))})  "
        f"B-cubed P {b[0]:.2f} R {b[1]:.2f} F1 {b[2]:.2f}   pairwise P {p[0]:.2f} R {p[1]:.2f} F1 {p[2]:.2f}"
    )
    if signals is not None:
        if events is None:
            events = [
                {slug: (story, slug) for slug in found}
                for story, found in zip(predicted, signals, strict=True)
            ]
        items = [(ev[slug], (story, slug)) for ev, story in zip(events, gold, strict=True) for slug in ev]
        proposed, distinct = {e for e, _ in items}, {g for _, g in items}
        if distinct:
            ep = pairwise([e for e, _ in items], [g for _, g in items])
            line += f"\n  {'':22} proposals {len(proposed)} for {len(distinct)} (story, indicator) pairs"
            line += f" = {len(proposed) / len(distinct):.2f}x; events pairwise P {ep[0]:.2f} R {ep[1]:.2f}"
            line += f" F1 {ep[2]:.2f}"
    return line


def indicators_found(reports: list[Report], encoder, vectors=None) -> list[set]:
    """The indicators found in each report by the shipped matcher (fixtures/rules/ and the learned model
    in fixtures/matcher/; the rules alone without an encoder): what would be proposed."""
    from indicators.matching.combined import CombinedMatcher
    from indicators.matching.learned import LearnedModel
    from indicators.matching.rules import fixture_matcher
    from indicators.matching.versions import SHIPPED_DIR

    shipped = SHIPPED_DIR / "model.npz"
    model = LearnedModel.from_bytes(shipped.read_bytes()) if encoder and shipped.exists() else None
    matcher = CombinedMatcher(fixture_matcher(), model, encoder)
    vectors = vectors if vectors is not None else [None] * len(reports)
    return [
        {m.indicator for m in matcher.match(r.title, r.summary, lang=r.lang, vector=v)}
        for r, v in zip(reports, vectors, strict=True)
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "files", nargs="*", type=Path, help="default: tests/data/stories/holdout-2.txt, holdout.txt, dev.txt"
    )
    args = parser.parse_args(argv)
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from tracker.feeds.encoder import get_encoder

    encoder = get_encoder()
    files = args.files or [DATA / name for name in ("holdout-2.txt", "holdout.txt", "dev.txt")]
    for path in files:
        reports = load_reports(path)
        gold = [r.story for r in reports]
        langs = Counter(r.lang for r in reports)
        print(f"== stories: {path.name}: {len(reports)} reports, {len(set(gold))} stories, {dict(langs)} ==")
        vectors = embed_reports(reports, encoder)
        signals = indicators_found(reports, encoder, vectors)
        print(report_line("lexical only", cluster(reports), gold, signals))
        if vectors is not None:
            stories = cluster(reports, vectors=vectors)
            print(
                report_line(
                    "lexical + semantic", stories, gold, signals, converge(reports, stories, vectors, signals)
                )
            )
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
