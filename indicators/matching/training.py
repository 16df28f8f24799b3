"""Training the learned matcher (scikit-learn), from the labelled headlines and the analysts' decisions.

    examples = labelled_examples(rows) + decision_examples()     # what to learn from
    model = train(examples, matcher, encoder)                    # a LearnedModel, threshold chosen on `test`

- Every labelled headline (split `dev`) is an example with its full label set: an indicator absent from
  its labels is a negative for that indicator.
- Every analyst decision on an event proposed from a feed is an example too, partial: a confirmed event
  is a positive for its (possibly corrected) indicator and direction, a rejected one a negative for that
  indicator only. Decisions made on other indicators of the same entry stay unknown.
- One logistic regression per indicator over the entry's vector, the rules' evidence and the hashed
  character n-grams of its text (`lexical.py`), and one per indicator for the direction (P(reverse), over
  the vector and the rules), both L2-regularised; the decision threshold is the one with
  the best micro F1 on the `test` split among those reaching 0.90 precision there (never the holdout,
  which is only measured).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from django.conf import settings
from scipy import sparse

from tracker.feeds.embeddings import encoder_text, entry_text
from tracker.feeds.encoder import MAX_CHARS

from . import lexical
from .combined import gate
from .learned import REVERSE, LearnedModel, features, rule_features

log = logging.getLogger(__name__)

C_GRID = (0.5, 1.0, 2.0, 4.0)
DIRECTION_C = 1.0
THRESHOLD_GRID = tuple(round(t, 2) for t in np.arange(0.3, 0.91, 0.05))
NO_CUE_GRID = (None, 0.6, 0.7, 0.8, 0.9)
TARGET_PRECISION = 0.90
MIN_DIRECTION_EXAMPLES = 3  # of each direction, for an indicator's own direction model
FRAME_FEATURES = True  # new models read the frames (frames.py) beside the vector and the rules
LENGTH_FEATURES = True  # and the summary's length (learned.length_features)
LEXICAL_FEATURES = True  # and the n-grams of the text (lexical.py)


@dataclass
class Example:
    title: str
    summary: str
    theatre: bool
    labels: dict[str, str]  # indicator -> direction, for the indicators known to apply
    known: set[str] | None = None  # indicators whose answer is known; None: all of them
    lang: str | None = None
    split: str = "dev"
    origin: str = "labelled"

    @property
    def text(self) -> str:
        """The whole text (the n-grams read it)."""
        return entry_text(self.title, self.summary)

    @property
    def encoder_text(self) -> str:
        """What the encoder reads (title and first sentence)."""
        return encoder_text(self.title, self.summary)

    def knows(self, indicator: str) -> bool:
        return self.known is None or indicator in self.known


@dataclass
class Prepared:
    """Examples with their vectors and rule features, ready to fit or score."""

    examples: list[Example]
    vectors: np.ndarray
    rules: np.ndarray
    scopes: list[str]  # the rules' theatre scope: "in scope", "no theatre cue" or "another theatre"
    analyses: list[dict] = field(default_factory=list)
    frames: bool = False  # whether `rules` hold the frames, then
    length: bool = False  # the summary's length
    _counts: dict = field(default_factory=dict, repr=False)  # n-gram counts, by configuration

    def counts(self, config: dict | None):
        """The examples' n-gram counts under `config` (computed once per configuration), or None."""
        if not config:
            return None
        key = repr(sorted(config.items()))
        if key not in self._counts:
            self._counts[key] = lexical.counts([e.text for e in self.examples], config)
        return self._counts[key]

    def counts_for(self, model: LearnedModel):
        return self.counts(model.lexical_config)


def labelled_examples(rows: list[dict], splits=("dev", "test")) -> list[Example]:
    return [
        Example(
            title=row["title"],
            summary=row.get("summary") or "",
            theatre=bool(row.get("theatre")),
            labels={label["indicator"]: label["direction"] for label in row["labels"]},
            lang=row.get("lang"),
            split=row.get("split", "dev"),
        )
        for row in rows
        if row.get("split") in splits
    ]


def decision_examples() -> list[Example]:
    """Every analyst decision on a feed-proposed event with a stored entry, as a partial example."""
    from indicators.models import Event, Origin, State

    examples: dict[int, Example] = {}
    events = (
        Event.objects.filter(origin=Origin.FEED, state__in=[State.CONFIRMED, State.REJECTED])
        .select_related("indicator")
        .prefetch_related("sources__entry__feed")
    )
    for event in events:
        entry = next((s.entry for s in event.sources.all() if s.entry_id), None)
        if entry is None:
            continue
        example = examples.setdefault(
            entry.pk,
            Example(
                entry.title,
                entry.plain_summary,
                bool(entry.feed and entry.feed.theatre),
                {},
                set(),
                origin="review",
            ),
        )
        example.known.add(event.indicator.slug)
        if event.state == State.CONFIRMED:
            example.labels[event.indicator.slug] = event.direction
    return list(examples.values())


# --------------------------------------------------------------------------- features


def _cache_path(encoder_name: str) -> Path:
    key = f"{encoder_name}|{MAX_CHARS}|lede"
    digest = hashlib.sha1(key.encode()).hexdigest()[:12]  # noqa: S324 - a file name, not security
    return Path(settings.VAR_DIR) / "cache" / f"labelled-vectors-{digest}.npz"


def embed_texts(texts: list[str], encoder) -> np.ndarray:
    """Vectors of `texts`, from a cache of earlier runs where possible (keyed by the text's hash)."""
    path = _cache_path(encoder.name)
    cache: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path, allow_pickle=False) as data:
            cache = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in cache}.items())
    if missing:
        vectors = encoder.embed([t for _, t in missing])
        cache.update({k: v for (k, _), v in zip(missing, vectors, strict=True)})
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, keys=np.array(list(cache)), vectors=np.array(list(cache.values()), dtype=np.float32))
    return np.array([cache[k] for k in keys], dtype=np.float32).reshape(len(texts), encoder.dim)


def prepare(
    examples: list[Example],
    matcher,
    encoder,
    indicators: list[str],
    with_frames: bool = FRAME_FEATURES,
    with_length: bool = LENGTH_FEATURES,
) -> Prepared:
    """Vectors, rule evidence (frames, length) and gates of `examples`. To score an existing model, pass
    its own `with_frames` and `with_length` (`model.uses_frames`, `model.uses_length`): models trained
    before those features do not read them."""
    analyses = [matcher.analyse(e.title, e.summary, lang=e.lang, theatre=e.theatre) for e in examples]
    rows = [rule_features(a, indicators, with_frames, with_length) for a in [*analyses, {}]]
    rules = np.array(rows[:-1], dtype=np.float32).reshape(len(examples), len(rows[-1]))  # 0 examples too
    vectors = embed_texts([e.encoder_text for e in examples], encoder)
    return Prepared(
        examples,
        vectors,
        rules,
        [gate(a) for a in analyses],
        analyses,
        frames=with_frames,
        length=with_length,
    )


# --------------------------------------------------------------------------- fitting


def _fit_lr(x, y, c):
    from sklearn.linear_model import LogisticRegression

    # Balanced: an indicator is present in a few percent of the news; unweighted, recall suffers.
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    model.fit(x, y)
    return model.coef_[0].astype(np.float32), np.float32(model.intercept_[0])


def _indicator_model(x, prepared: Prepared, slug: str, c: float):
    rows = [i for i, e in enumerate(prepared.examples) if e.knows(slug)]
    y = np.array([slug in prepared.examples[i].labels for i in rows], dtype=int)
    if not len(y) or y.min() == y.max():  # nothing to learn: never (or always) predicted
        return np.zeros(x.shape[1], np.float32), np.float32(10.0 if len(y) and y.max() else -10.0)
    return _fit_lr(x[rows], y, c)


def _direction_model(x, prepared: Prepared, slug: str, index: int, n_indicators: int):
    rows = [i for i, e in enumerate(prepared.examples) if slug in e.labels]
    y = np.array([prepared.examples[i].labels[slug] == REVERSE for i in rows], dtype=int)
    if len(rows) and min(y.sum(), len(y) - y.sum()) >= MIN_DIRECTION_EXAMPLES:
        return _fit_lr(x[rows], y, DIRECTION_C)
    # Too few of one direction: the indicator's prior, moved by what the rules read as reverse.
    share = (y.sum() + 1) / (len(y) + 2)
    weights = np.zeros(x.shape[1], np.float32)
    weights[prepared.vectors.shape[1] + n_indicators + index] = 4.0  # the rules' "reverse" of this indicator
    return weights, np.float32(np.log(share / (1 - share)) - 2.0)


def fit(
    prepared: Prepared,
    indicators: list[str],
    c: float,
    version: str,
    encoder_name: str,
    with_lexical: bool | None = None,
) -> LearnedModel:
    """One model fitted on `prepared` with regularisation `c` (n-grams: `LEXICAL_FEATURES` by default)."""
    x = features(prepared.vectors, prepared.rules)
    n = len(indicators)
    with_lexical = LEXICAL_FEATURES if with_lexical is None else with_lexical
    config = dict(lexical.LEXICAL) if with_lexical else None
    idf = None
    x_indicators = x
    if config:
        counts = prepared.counts(config)
        idf = lexical.fit_idf(counts)
        x_indicators = sparse.hstack(
            [sparse.csr_matrix(x), lexical.weigh(counts, idf, config["scale"])]
        ).tocsr()
    fitted = [_indicator_model(x_indicators, prepared, slug, c) for slug in indicators]
    directions = [_direction_model(x, prepared, slug, i, n) for i, slug in enumerate(indicators)]
    labelled = [i for i, e in enumerate(prepared.examples) if e.known is None]
    weights = np.array([w for w, _ in fitted])
    dense = x.shape[1]
    return LearnedModel(
        version=version,
        encoder=encoder_name,
        indicators=list(indicators),
        threshold=0.5,
        no_cue_threshold=None,
        weights=weights[:, :dense],
        bias=np.array([b for _, b in fitted]),
        direction_weights=np.array([w for w, _ in directions]),
        direction_bias=np.array([b for _, b in directions]),
        example_vectors=prepared.vectors[labelled].astype(np.float16),
        example_titles=[prepared.examples[i].title for i in labelled],
        example_labels=[_label_text(prepared.examples[i].labels) for i in labelled],
        meta={
            "C": c,
            "frames": prepared.frames,
            **({"length": True} if prepared.length else {}),
            **({"lexical": config} if config else {}),
        },
        idf=idf,
        lexical_weights=weights[:, dense:].astype(np.float16) if config else None,
    )


def _calibration(model: LearnedModel, prepared_valid: Prepared) -> tuple[float, float]:
    """Platt scaling of the class-balanced classifiers' logits, fitted on the validation pairs: balanced
    weights raise recall but overstate probabilities, which analysts read as confidence."""
    from sklearn.linear_model import LogisticRegression

    probs, _ = model.probabilities(
        prepared_valid.vectors, prepared_valid.rules, prepared_valid.counts_for(model)
    )
    logits = np.log(np.clip(probs, 1e-6, 1 - 1e-6) / np.clip(1 - probs, 1e-6, 1)).ravel()
    outcomes = np.array([[s in e.labels for s in model.indicators] for e in prepared_valid.examples]).ravel()
    if outcomes.min() == outcomes.max():  # nothing (or everything) to calibrate against: leave as is
        return 1.0, 0.0
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(logits[:, None], outcomes.astype(int))
    return float(platt.coef_[0][0]), float(platt.intercept_[0])


def _calibrated(p: float, a: float, b: float) -> float:
    logit = np.log(p / (1 - p))
    return round(float(1 / (1 + np.exp(-(a * logit + b)))), 4)


def _merge(a: Prepared, b: Prepared) -> Prepared:
    return Prepared(
        a.examples + b.examples,
        np.vstack([a.vectors, b.vectors]),
        np.vstack([a.rules, b.rules]),
        a.scopes + b.scopes,
        a.analyses + b.analyses,
        frames=a.frames,
        length=a.length,
    )


def evaluate_model(model: LearnedModel, rows: list[dict], matcher, encoder):
    """The model (with the rules' gate) on labelled rows: the report and its 95% bootstrap intervals."""
    from .quality import bootstrap, score_predictions

    examples = labelled_examples(rows, splits=tuple({r.get("split") for r in rows}))
    prepared = prepare(examples, matcher, encoder, model.indicators, model.uses_frames, model.uses_length)
    report = score_predictions(model, prepared, rows)
    return report, bootstrap(report)


def _label_text(labels: dict[str, str]) -> str:
    if not labels:
        return "no indicator"
    return "; ".join(f"{slug}, {direction}" for slug, direction in sorted(labels.items()))


def _choose_thresholds(model: LearnedModel, prepared_valid: Prepared):
    """The (threshold, no-cue threshold) with the best micro F1 on the validation split among those whose
    precision there reaches TARGET_PRECISION (analysts review every proposal: precision first), or the
    best F1 overall when none does."""
    from .quality import score_predictions

    best = None
    for threshold in THRESHOLD_GRID:
        for no_cue in NO_CUE_GRID:
            if no_cue is not None and no_cue < threshold:
                continue
            model.threshold, model.no_cue_threshold = float(threshold), no_cue
            report = score_predictions(model, prepared_valid)
            precise = (report.overall.precision or 0.0) >= TARGET_PRECISION
            key = (precise, round(report.overall.f1 or 0.0, 3), -abs(threshold - 0.5))
            if best is None or key > best[0]:
                best = (key, float(threshold), no_cue, report)
    return best[1:]


def _rank(report) -> tuple:
    return ((report.overall.precision or 0.0) >= TARGET_PRECISION, report.overall.f1 or 0.0)


def train(
    examples: list[Example], matcher, encoder, indicators: list[str], *, now: datetime, c_grid=C_GRID
) -> tuple[LearnedModel, dict]:
    """Fit on the `dev` examples (and decisions), choose C and the thresholds on `test`; returns the model
    and the validation figures it was chosen by."""
    train_set = [e for e in examples if e.split == "dev"]
    valid_set = [e for e in examples if e.split == "test"]
    prepared_train = prepare(train_set, matcher, encoder, indicators)
    prepared_valid = prepare(valid_set, matcher, encoder, indicators)
    version = now.strftime("%Y%m%d-%H%M%S")
    best = None
    for c in c_grid:
        model = fit(prepared_train, indicators, c, version, encoder.name)
        threshold, no_cue, report = _choose_thresholds(model, prepared_valid)
        if best is None or _rank(report) > _rank(best[3]):
            best = (model, threshold, no_cue, report)
    model, threshold, no_cue, report = best
    a, b = _calibration(model, prepared_valid)
    # Chosen on `test`; the model kept is fitted on `dev` and `test` together, with those choices. The
    # calibration maps probabilities monotonically, the thresholds with them: it changes no decision.
    model = fit(_merge(prepared_train, prepared_valid), indicators, model.meta["C"], version, encoder.name)
    model.meta["calibration"] = [a, b]
    model.threshold = _calibrated(threshold, a, b)
    model.no_cue_threshold = None if no_cue is None else _calibrated(no_cue, a, b)
    train_set = train_set + valid_set
    model.meta["trained_on"] = {
        "labelled": sum(e.origin == "labelled" for e in train_set),
        "reviews": sum(e.origin == "review" for e in train_set),
    }
    model.meta["validation"] = report.summary()
    return model, report.summary()
