"""Stories on meaning: a report joins the story it most likely belongs to, by a learned join model.

Lexical clustering (clustering.py) joins reports that share wording, or figures and names, at store time.
What it cannot join (one event told in other words or another language) is joined here, in enrichment,
once the report has its sentence vector. A report is compared with the stories of its time window (their
centroids), never with every report in the window, and the nearest few are scored by `JoinModel`: a
logistic regression over

    the cosine between the report's vector and the story's centroid;
    whether the story already has a report in the report's language (cross-language cosines run lower);
    the figures they share, and whether both have figures but share none ("146 for 146" / "84 for 84");
    the specific names they share; the hours between them; whether the story already has this outlet
    (an outlet seldom reports one event twice within hours: a second report is more often another event).

It is trained on tests/data/stories/dev.txt (`python -m tracker.pipeline.story_training`, which joins at
0.5 and chooses the merge and event thresholds on dev) and shipped as fixtures/stories/join-model.json;
tests/data/stories/holdout.txt and holdout-2.txt are only measured. The same model scores two stories
against each other: a report that bridges two stories shows they are one (`merge_threshold`), and two
stories the matcher reads as the same indicator are one event at a lower bar (`event_threshold`,
`same_event`). Pure numpy at run time: `StoryIndex` is used by `tracker.feeds.stories` on stored rows
and by the evaluation on labelled reports alike.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np

from .clustering import GENERIC, signature

WINDOW = timedelta(hours=24)
NEAREST = 8  # the stories of the window a report is scored against (the nearest by cosine)
MODEL_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "stories" / "join-model.json"
FEATURES = (
    "cosine",
    "same_language",
    "figures_shared",
    "figures_conflict",
    "names_shared",
    "hours",
    "log_hours",
    "same_outlet",
)


@dataclass(frozen=True)
class ReportEvidence:
    """What one report brings to a join: its vector, the names of its title, the figures of its title and
    summary, when, in which language and from which outlet."""

    vector: np.ndarray
    names: frozenset
    numbers: frozenset
    when: datetime
    lang: str = ""
    outlet: str = ""

    @classmethod
    def of(cls, vector, title: str, summary: str, lang: str, outlet: str, when: datetime) -> ReportEvidence:
        sig = signature(title or "", lang or "")
        numbers = signature(f"{title}. {summary}", lang or "").numbers if summary else sig.numbers
        return cls(np.asarray(vector, np.float32), sig.entities, numbers, when, lang or "", outlet or "")


@dataclass
class StoryState:
    key: object  # a story id, or any hashable for labelled reports
    centroid: np.ndarray
    count: int
    first_seen: datetime
    last_seen: datetime
    numbers: set = field(default_factory=set)
    entities: set = field(default_factory=set)
    langs: set = field(default_factory=set)
    outlets: set = field(default_factory=set)

    @classmethod
    def of(cls, key, report: ReportEvidence) -> StoryState:
        return cls(
            key,
            report.vector,
            1,
            report.when,
            report.when,
            set(report.numbers),
            set(report.names),
            {report.lang} - {""},
            {report.outlet} - {""},
        )

    def add(self, report: ReportEvidence) -> None:
        self.centroid = (self.centroid * self.count + report.vector) / (self.count + 1)
        self.centroid /= np.linalg.norm(self.centroid) or 1.0
        self.count += 1
        self.first_seen, self.last_seen = min(self.first_seen, report.when), max(self.last_seen, report.when)
        self.numbers |= set(report.numbers)
        self.entities |= set(report.names)
        self.langs |= {report.lang} - {""}
        self.outlets |= {report.outlet} - {""}

    def absorb(self, other: StoryState) -> None:
        """Another story's reports join this one (a merge): centroids weighed by their counts."""
        total = self.centroid * self.count + other.centroid * other.count
        self.centroid = total / (np.linalg.norm(total) or 1.0)
        self.count += other.count
        self.first_seen, self.last_seen = (
            min(self.first_seen, other.first_seen),
            max(self.last_seen, other.last_seen),
        )
        self.numbers |= other.numbers
        self.entities |= other.entities
        self.langs |= other.langs
        self.outlets |= other.outlets

    # What is stored with the story (Story.evidence), so that a later batch scores it the same way.
    def evidence(self) -> dict:
        return {
            "numbers": sorted(self.numbers),
            "names": sorted(self.entities),
            "langs": sorted(self.langs),
            "outlets": sorted(self.outlets)[:50],
        }

    @classmethod
    def from_row(cls, key, centroid, count, first, last, evidence: dict, title: str, lang: str) -> StoryState:
        """A stored story; one stored before its evidence was kept reads it from its title."""
        if not evidence:
            sig = signature(title or "", lang or "")
            evidence = {"numbers": sig.numbers, "names": sig.entities, "langs": [lang] if lang else []}
        return cls(
            key,
            np.asarray(centroid, np.float32),
            count,
            first,
            last,
            set(evidence.get("numbers", ())),
            set(evidence.get("names", ())),
            set(evidence.get("langs", ())),
            set(evidence.get("outlets", ())),
        )


def _hours_apart(first_a, last_a, first_b, last_b) -> float:
    return max(0.0, (first_b - last_a).total_seconds(), (first_a - last_b).total_seconds()) / 3600


def _features(cosine: float, numbers, names, langs, outlets, hours: float, story: StoryState) -> np.ndarray:
    shared = len(set(numbers) & story.numbers)
    return np.array(
        [
            cosine,
            1.0 if set(langs) & story.langs else 0.0,
            min(shared, 2),
            1.0 if (numbers and story.numbers and not shared) else 0.0,
            min(3, len((set(names) & story.entities) - GENERIC)),
            hours,
            math.log1p(hours),
            1.0 if set(outlets) & story.outlets else 0.0,
        ],
        dtype=np.float64,
    )


def join_features(report: ReportEvidence, story: StoryState, cosine: float | None = None) -> np.ndarray:
    """The join model's features of a report against a story (FEATURES, in order)."""
    cosine = float(story.centroid @ report.vector) if cosine is None else cosine
    hours = _hours_apart(report.when, report.when, story.first_seen, story.last_seen)
    return _features(cosine, report.numbers, report.names, {report.lang}, {report.outlet}, hours, story)


def pair_features(a: StoryState, b: StoryState) -> np.ndarray:
    """The same features between two stories (story a read as one report)."""
    hours = _hours_apart(a.first_seen, a.last_seen, b.first_seen, b.last_seen)
    return _features(float(a.centroid @ b.centroid), a.numbers, a.entities, a.langs, a.outlets, hours, b)


@dataclass
class JoinModel:
    """A logistic regression over standardised FEATURES, with the thresholds chosen on dev."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    join_threshold: float  # a report joins the best story at or above it
    merge_threshold: float  # a report at or above it for a second story shows the two are one
    event_threshold: float  # two stories bearing on one indicator tell one event (`same_event`)
    meta: dict = field(default_factory=dict)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def probability(self, x: np.ndarray) -> float:
        return float(self.probabilities(x)[0])

    def as_dict(self) -> dict:
        return {
            "features": list(FEATURES),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(float(self.intercept), 6),
            "join_threshold": self.join_threshold,
            "merge_threshold": self.merge_threshold,
            "event_threshold": self.event_threshold,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, data: dict) -> JoinModel:
        if list(data.get("features", ())) != list(FEATURES):
            raise ValueError(f"join model features {data.get('features')} are not {list(FEATURES)}")
        return cls(
            np.array(data["mean"], np.float64),
            np.array(data["scale"], np.float64),
            np.array(data["coef"], np.float64),
            float(data["intercept"]),
            float(data["join_threshold"]),
            float(data["merge_threshold"]),
            float(data["event_threshold"]),
            dict(data.get("meta", {})),
        )


@lru_cache(maxsize=1)
def join_model() -> JoinModel:
    """The shipped join model (fixtures/stories/join-model.json)."""
    return JoinModel.from_dict(json.loads(MODEL_FILE.read_text(encoding="utf-8")))


def story_score(a: StoryState, b: StoryState, model: JoinModel | None = None) -> float:
    """The probability that stories a and b tell one event (the join model between two stories)."""
    return (model or join_model()).probability(pair_features(a, b))


def same_event(a: StoryState, b: StoryState, model: JoinModel | None = None) -> bool:
    """Whether two stories the matcher reads as bearing on the same indicator tell one event: within the
    window of each other, and likely enough by `story_score`. Two exchanges a week apart stay apart (the
    window), two strike nights with other figures too (the figures' conflict)."""
    model = model or join_model()
    gap = max((a.first_seen - b.last_seen), (b.first_seen - a.last_seen), timedelta(0))
    return gap <= WINDOW and story_score(a, b, model) >= model.event_threshold


class StoryIndex:
    """The stories of a time window as a matrix of centroids (one row a story, grown by doubling) with
    their time spans: a report is scored against all of them in one product, then the nearest few get
    the evidence check. `best` finds the story a report should join."""

    def __init__(self, dim: int = 384):
        self.stories: list[StoryState] = []
        self._row: dict = {}
        self._matrix = np.zeros((64, dim), np.float32)
        self._first = np.zeros(64)
        self._last = np.zeros(64)

    def __len__(self):
        return len(self.stories)

    def _grow(self, dim: int) -> None:
        size = max(64, 2 * len(self._first))
        matrix = np.zeros((size, dim), np.float32)
        n = len(self.stories)
        if n:
            matrix[:n] = self._matrix[:n]
        self._matrix = matrix
        self._first = np.resize(self._first, size)
        self._last = np.resize(self._last, size)

    def _sync(self, state: StoryState) -> None:
        row = self._row[state.key]
        self._matrix[row] = state.centroid
        self._first[row] = state.first_seen.timestamp()
        self._last[row] = state.last_seen.timestamp()

    def extend(self, states: list[StoryState]) -> None:
        """Many stories at once (a window loaded from the database): the matrix is sized and filled in one
        step rather than story by story."""
        if not states:
            return
        dim = len(states[0].centroid)
        n, more = len(self.stories), len(states)
        if self._matrix.shape[1] != dim or n + more > len(self._first):
            size = max(64, n + more)
            matrix = np.zeros((size, dim), np.float32)
            matrix[:n] = self._matrix[:n] if self._matrix.shape[1] == dim else 0
            self._matrix, self._first, self._last = (
                matrix,
                np.resize(self._first, size),
                np.resize(self._last, size),
            )
        self._matrix[n : n + more] = np.vstack([state.centroid for state in states])
        self._first[n : n + more] = [state.first_seen.timestamp() for state in states]
        self._last[n : n + more] = [state.last_seen.timestamp() for state in states]
        for row, state in enumerate(states, n):
            self._row[state.key] = row
        self.stories.extend(states)

    def add_story(self, state: StoryState) -> StoryState:
        if len(self.stories) == len(self._first) or self._matrix.shape[1] != len(state.centroid):
            self._grow(len(state.centroid))
        self._row[state.key] = len(self.stories)
        self.stories.append(state)
        self._sync(state)
        return state

    def add_report(self, key, report: ReportEvidence) -> StoryState:
        """A report joins story `key` (made when new): its centroid, time span and evidence follow."""
        state = self.get(key)
        if state is None:
            return self.add_story(StoryState.of(key, report))
        state.add(report)
        self._sync(state)
        return state

    def get(self, key) -> StoryState | None:
        row = self._row.get(key)
        return None if row is None else self.stories[row]

    def nearest(self, report: ReportEvidence, exclude=None) -> list[tuple[float, StoryState]]:
        """[(cosine, story)] for the NEAREST stories inside the window by cosine, nearest first: the stories
        the join model scores for this report (`ranked`), and the pairs story_training learns from."""
        n = len(self.stories)
        if not n:
            return []
        t, w = report.when.timestamp(), WINDOW.total_seconds()
        sims = self._matrix[:n] @ report.vector
        outside = (self._first[:n] - w > t) | (t > self._last[:n] + w)
        sims[outside] = -np.inf
        if exclude in self._row:
            sims[self._row[exclude]] = -np.inf
        nearest = np.argpartition(-sims, NEAREST - 1)[:NEAREST] if n > NEAREST else np.arange(n)
        return [
            (float(sims[i]), self.stories[i])
            for i in nearest[np.argsort(-sims[nearest])]
            if np.isfinite(sims[i])
        ]

    def ranked(self, report: ReportEvidence, exclude=None, model: JoinModel | None = None) -> list:
        """[(join probability, story)] for the nearest stories inside the window, best first."""
        near = self.nearest(report, exclude)
        if not near:
            return []
        x = np.vstack([join_features(report, story, cosine) for cosine, story in near])
        scored = zip(
            (model or join_model()).probabilities(x).tolist(), (story for _, story in near), strict=True
        )
        return sorted(scored, key=lambda pair: -pair[0])

    def best(self, report: ReportEvidence, exclude=None, model: JoinModel | None = None):
        """(story, probability): the likeliest story inside the window, or None when it stays under the
        join threshold."""
        model = model or join_model()
        ranked = self.ranked(report, exclude, model)
        if not ranked:
            return None, 0.0
        score, story = ranked[0]
        return (story, score) if score >= model.join_threshold else (None, score)
