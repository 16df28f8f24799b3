"""Stories on meaning: a report joins the story whose centroid it is closest to, when hard evidence agrees.

Lexical clustering (clustering.py) joins reports that share wording, or figures and names, at store time.
What it cannot join (one event told in other words or another language) is joined here, in enrichment,
once the report has its sentence vector:

    score = cosine(report vector, story centroid)
            + FIGURES_AGREE when they share a figure, - FIGURES_CONFLICT when both have figures, none shared
            + NAMES_AGREE x shared specific names (at most 3) - HOURS_PENALTY x hours between them

and the report joins the best story within WINDOW when the score reaches JOIN_THRESHOLD. Conflicting
figures keep two exchanges a week apart ("146 for 146" / "84 for 84") or two strike nights apart even when
their wording is close. A report is compared with stories (their centroids), never with every report in
the window, and only with stories inside the window: the cost per report does not grow with the window's
entries. Pure numpy: `StoryIndex` is used by `tracker.feeds.stories` on stored rows and by the evaluation
on labelled reports alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from .clustering import GENERIC, TitleSignature

# Chosen on tests/data/stories/dev.txt (precision first: a wrong join hides an event, a missed one shows
# it twice); tests/data/stories/holdout.txt is only measured.
WINDOW = timedelta(hours=24)
JOIN_THRESHOLD = 0.87
FIGURES_AGREE = 0.06
FIGURES_CONFLICT = 0.08
NAMES_AGREE = 0.03
HOURS_PENALTY = 0.002
# A report close enough to two stories to join either shows they are one: they merge (tracker.feeds.stories).
MERGE_THRESHOLD = 0.92
# Two stories that the matcher reads as bearing on the same indicator are one event at a lower bar than a
# report joining a story (the shared indicator is evidence too): `same_event` (indicators.proposals).
EVENT_THRESHOLD = 0.84


@dataclass
class StoryState:
    key: object  # a story id, or any hashable for labelled reports
    centroid: np.ndarray
    count: int
    first_seen: datetime
    last_seen: datetime
    numbers: set = field(default_factory=set)
    entities: set = field(default_factory=set)

    def add(self, vector: np.ndarray, sig: TitleSignature, when: datetime) -> None:
        self.centroid = (self.centroid * self.count + vector) / (self.count + 1)
        self.centroid /= np.linalg.norm(self.centroid) or 1.0
        self.count += 1
        self.first_seen, self.last_seen = min(self.first_seen, when), max(self.last_seen, when)
        self.numbers |= set(sig.numbers)
        self.entities |= set(sig.entities)


def join_score(vector: np.ndarray, sig: TitleSignature, when: datetime, story: StoryState) -> float:
    score = float(story.centroid @ vector)
    if sig.numbers and story.numbers:
        score += FIGURES_AGREE if set(sig.numbers) & story.numbers else -FIGURES_CONFLICT
    score += NAMES_AGREE * min(3, len((set(sig.entities) & story.entities) - GENERIC))
    gap = max(0.0, (story.first_seen - when).total_seconds(), (when - story.last_seen).total_seconds())
    return score - HOURS_PENALTY * gap / 3600


def story_score(a: StoryState, b: StoryState) -> float:
    """`join_score` between two stories: their centroids, figures, names and the hours between them."""
    score = float(a.centroid @ b.centroid)
    if a.numbers and b.numbers:
        score += FIGURES_AGREE if a.numbers & b.numbers else -FIGURES_CONFLICT
    score += NAMES_AGREE * min(3, len((a.entities & b.entities) - GENERIC))
    gap = max(0.0, (a.first_seen - b.last_seen).total_seconds(), (b.first_seen - a.last_seen).total_seconds())
    return score - HOURS_PENALTY * gap / 3600


def same_event(a: StoryState, b: StoryState) -> bool:
    """Whether two stories the matcher reads as bearing on the same indicator tell one event: within the
    window of each other, and close enough by `story_score`. Two exchanges a week apart stay apart (the
    window), two strike nights with other figures too (the figures' conflict)."""
    gap = max((a.first_seen - b.last_seen), (b.first_seen - a.last_seen), timedelta(0))
    return gap <= WINDOW and story_score(a, b) >= EVENT_THRESHOLD


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

    def add_story(
        self, key, vector, sig: TitleSignature, when: datetime, count: int = 1, last_seen=None
    ) -> StoryState:
        vector = np.asarray(vector, np.float32)
        state = StoryState(key, vector, count, when, last_seen or when, set(sig.numbers), set(sig.entities))
        if len(self.stories) == len(self._first) or self._matrix.shape[1] != len(vector):
            self._grow(len(vector))
        self._row[key] = len(self.stories)
        self.stories.append(state)
        self._sync(state)
        return state

    def add_report(self, key, vector, sig: TitleSignature, when: datetime) -> StoryState:
        """A report joins story `key` (made when new): its centroid and time span follow."""
        state = self.get(key)
        if state is None:
            return self.add_story(key, vector, sig, when)
        state.add(np.asarray(vector, np.float32), sig, when)
        self._sync(state)
        return state

    def get(self, key) -> StoryState | None:
        row = self._row.get(key)
        return None if row is None else self.stories[row]

    def ranked(self, vector, sig: TitleSignature, when: datetime, exclude=None) -> list:
        """[(join score, story)] for the nearest stories inside the window, best first."""
        n = len(self.stories)
        if not n:
            return []
        t, w = when.timestamp(), WINDOW.total_seconds()
        sims = self._matrix[:n] @ np.asarray(vector, np.float32)
        outside = (self._first[:n] - w > t) | (t > self._last[:n] + w)
        sims[outside] = -np.inf
        if exclude in self._row:
            sims[self._row[exclude]] = -np.inf
        top = [i for i in np.argsort(-sims)[:8] if np.isfinite(sims[i])]  # the nearest few: evidence check
        scored = [(join_score(vector, sig, when, self.stories[i]), self.stories[i]) for i in top]
        return sorted(scored, key=lambda pair: -pair[0])

    def best(
        self, vector, sig: TitleSignature, when: datetime, exclude=None
    ) -> tuple[StoryState | None, float]:
        """The story with the highest join score inside the window, if it reaches the threshold."""
        ranked = self.ranked(vector, sig, when, exclude)
        if not ranked:
            return None, 0.0
        score, story = ranked[0]
        return (story, score) if score >= JOIN_THRESHOLD else (None, score)
