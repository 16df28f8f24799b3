"""The learned half of the matcher: per-indicator classifiers and direction models over sentence vectors
and the rules' evidence, with the labelled examples nearest to an entry as its explanation.

Pure numpy at prediction time (training, with scikit-learn, is in `training.py`); a model is a set of
arrays and a small JSON header, saved with `to_bytes` (numpy's npz, no pickle) and loaded with
`from_bytes`.

Features of one entry (`features`): its vector (the encoder's, L2-normalised), then for every indicator
the rules' score, whether the rules read it as reverse, and whether a rule fired at all; for models that
record them, the report's frames (`frames.py`) and its summary's length (`length_features`); and, for
models that record `meta["lexical"]`, the hashed character n-grams of its text (`lexical.py`). So each
indicator's classifier weighs meaning, wording and rule evidence together into one probability: the
combined, calibrated score (its reliability is printed by `make eval`).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import frames, lexical

REVERSE = "reverse"


def rule_features(
    analysis: dict, indicators: list[str], with_frames: bool = False, with_length: bool = False
) -> np.ndarray:
    """Per indicator: the best rule score, reverse (1/0) and fired (1/0), from `Matcher.analyse`. Rules
    count as evidence in the theatre only (elsewhere the features are 0, as when they are not scored).
    With `with_frames`, then the report's frames (`frames.FRAMES`: conditional, negated, denial,
    prospective), wherever it is; with `with_length`, then its summary's length (`length_features`)."""
    index = {slug: i for i, slug in enumerate(indicators)}
    out = np.zeros(3 * len(indicators), dtype=np.float32)
    n = len(indicators)
    verdicts = analysis.get("verdicts", ()) if analysis.get("scope") == "in scope" else ()
    for verdict in verdicts:
        i = index.get(verdict["rule"].indicator)
        if i is None or verdict["excluded_by"] or verdict["score"] <= out[i]:
            continue
        out[i] = verdict["score"]
        out[n + i] = 1.0 if verdict["direction"] == REVERSE else 0.0
        out[2 * n + i] = 1.0
    parts = [out]
    if with_frames:
        parts.append(frames.vector(analysis.get("frames", {})))
    if with_length:
        parts.append(length_features(analysis.get("summary_chars", 0)))
    return np.concatenate(parts) if len(parts) > 1 else out


LONG_SUMMARY = 300  # characters: a summary of several sentences, not a one-line standfirst


def length_features(summary_chars: int) -> np.ndarray:
    """Whether the summary runs past LONG_SUMMARY characters (1/0), and log(1 + characters / 100).

    A paragraph carries more words than a one-line standfirst, and more background (last month's
    exchange, October's sanctions): the same evidence means less in it. The model learns by how much,
    per indicator. Chosen by writer-grouped cross-validation on the labelled items (CONTRIBUTING.md)."""
    return np.array([float(summary_chars > LONG_SUMMARY), np.log1p(summary_chars / 100.0)], np.float32)


# Unit vectors have coordinates of about 0.05; scaled so that one L2 penalty suits them and the rule
# features (0..1) alike (measured on the `test` split: F1 0.78 unscaled, 0.87 scaled).
VECTOR_SCALE = 10.0


def features(vectors: np.ndarray, rules: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32) * VECTOR_SCALE
    return np.hstack([vectors, np.asarray(rules, dtype=np.float32)])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass(frozen=True)
class Neighbour:
    title: str
    labels: str  # "prisoner-exchange, advance; ceasefire, reverse" or "no indicator"
    similarity: float

    def as_dict(self) -> dict:
        return {"title": self.title, "labels": self.labels, "similarity": round(self.similarity, 3)}


@dataclass
class LearnedModel:
    version: str
    encoder: str  # the encoder whose vectors it was trained on
    indicators: list[str]
    threshold: float  # P(indicator) from which an in-scope entry is a signal
    no_cue_threshold: float | None  # the same for an entry with no theatre cue (None: never)
    weights: np.ndarray  # (indicators, features)
    bias: np.ndarray  # (indicators,)
    direction_weights: np.ndarray  # (indicators, features): P(reverse | text, indicator)
    direction_bias: np.ndarray
    example_vectors: np.ndarray  # (examples, dim) float16, the labelled examples, for explanations
    example_titles: list[str] = field(default_factory=list)
    example_labels: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    idf: np.ndarray | None = None  # (n-grams,): the lexical part's idf, None when it has none
    lexical_weights: np.ndarray | None = None  # (indicators, n-grams)

    # ---------------------------------------------------------------- prediction

    @property
    def uses_frames(self) -> bool:
        """Whether it reads the frame features (models trained before them do not)."""
        return bool(self.meta.get("frames"))

    @property
    def uses_length(self) -> bool:
        """Whether it reads the summary's length (models trained before it do not)."""
        return bool(self.meta.get("length"))

    def rule_features(self, analysis: dict) -> np.ndarray:
        return rule_features(analysis, self.indicators, self.uses_frames, self.uses_length)

    def threshold_for(self, scope: str) -> float | None:
        """The probability an entry needs, by the rules' theatre scope: none for another theatre."""
        if scope == "in scope":
            return self.threshold
        if scope == "no theatre cue" and self.no_cue_threshold is not None:
            return max(self.threshold, self.no_cue_threshold)
        return None

    @property
    def lexical_config(self) -> dict | None:
        """The n-gram configuration (`lexical.LEXICAL` when it was trained), None for a model without."""
        return self.meta.get("lexical") if self.idf is not None else None

    def lexical_counts(self, texts: list[str]):
        """What `probabilities` needs of the entries' texts (`embeddings.entry_text`), or None when the
        model reads no n-grams."""
        config = self.lexical_config
        return lexical.counts(texts, config) if config else None

    def weighing_words(self, text: str, k: int = 3, counts=None) -> dict[str, list[str]]:
        """By indicator, the words of `text` whose n-grams raised its score most ({} without n-grams).
        `counts`: the text's `lexical_counts`, when the caller has them."""
        config = self.lexical_config
        if not config:
            return {}
        words = lexical.weighing_words(text, config, self.idf, self._lexical_t, k, counts)
        return dict(zip(self.indicators, words, strict=True))

    def probabilities(
        self, vectors: np.ndarray, rules: np.ndarray, counts=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(P(indicator), P(reverse | indicator)) for every entry and indicator. P(indicator) goes through
        the model's calibration (Platt scaling fitted on the `test` split), when it has one. `counts`:
        the texts' `lexical_counts`, required when the model has a lexical part."""
        x = features(vectors, rules)
        logits = x @ self.weights.T + self.bias
        config = self.lexical_config
        if config:
            if counts is None:
                raise ValueError(f"model {self.version} reads n-grams: pass its lexical_counts(texts)")
            logits = logits + np.asarray(lexical.weigh(counts, self.idf, config["scale"]) @ self._lexical_t)
        a, b = self.meta.get("calibration") or (1.0, 0.0)
        return _sigmoid(a * logits + b), _sigmoid(x @ self.direction_weights.T + self.direction_bias)

    @cached_property
    def _lexical_t(self) -> np.ndarray:
        return np.ascontiguousarray(self.lexical_weights.T, dtype=np.float32)  # stored as float16

    @cached_property
    def _examples(self) -> np.ndarray:
        return self.example_vectors.astype(np.float32)  # stored as float16; converted once, not per match

    def neighbours(self, vector: np.ndarray, k: int = 3) -> list[Neighbour]:
        """The k labelled examples most similar to `vector` (cosine), with their labels."""
        if not len(self.example_vectors):
            return []
        sims = self._examples @ np.asarray(vector, dtype=np.float32)
        top = np.argsort(-sims)[:k]
        return [Neighbour(self.example_titles[i], self.example_labels[i], float(sims[i])) for i in top]

    # ---------------------------------------------------------------- storage

    def to_bytes(self) -> bytes:
        header = {
            "version": self.version,
            "encoder": self.encoder,
            "indicators": self.indicators,
            "threshold": self.threshold,
            "no_cue_threshold": self.no_cue_threshold,
            "example_titles": self.example_titles,
            "example_labels": self.example_labels,
            "meta": self.meta,
        }
        arrays = {}
        if self.idf is not None:
            arrays = {
                "idf": self.idf.astype(np.float32),
                "lexical_weights": self.lexical_weights.astype(np.float16),
            }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            direction_weights=self.direction_weights.astype(np.float32),
            direction_bias=self.direction_bias.astype(np.float32),
            example_vectors=self.example_vectors.astype(np.float16),
            **arrays,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LearnedModel:
        with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as arrays:
            header = json.loads(arrays["header"].tobytes().decode("utf-8"))
            return cls(
                version=header["version"],
                encoder=header["encoder"],
                indicators=list(header["indicators"]),
                threshold=float(header["threshold"]),
                no_cue_threshold=header.get("no_cue_threshold"),
                weights=arrays["weights"],
                bias=arrays["bias"],
                direction_weights=arrays["direction_weights"],
                direction_bias=arrays["direction_bias"],
                example_vectors=arrays["example_vectors"],
                example_titles=list(header["example_titles"]),
                example_labels=list(header["example_labels"]),
                meta=dict(header.get("meta", {})),
                idf=arrays["idf"] if "idf" in arrays else None,
                lexical_weights=arrays["lexical_weights"] if "lexical_weights" in arrays else None,
            )
