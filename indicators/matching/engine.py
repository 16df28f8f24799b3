"""The matching engine: rules compiled once into a stem index, then matched against entries.

A rule is data: one record per (indicator, language) with phrases for `terms`, `reverse_cues` and
`exclusions`. Global per-language scope phrases say whether an entry is about the Russia-Ukraine
theatre (`theatre`) or about another theatre (`off_theatre`).

Direction: `terms` are evidence for the indicator; `reverse_terms` are evidence that also say the
indicator goes the other way ("record drone attack", "village captured"); `reverse_cues` are not
evidence on their own but flip a match to reverse ("rejected", "postponed", "eased"). A reverse phrase
overlapping a matched (advance) term is ignored, so "halt strikes on energy infrastructure" stays
advance although "strikes on energy infrastructure" is a reverse term.

Phrase syntax (one phrase per string):
- words are stemmed like the text, so "prisoner exchange" also matches "prisoners exchanged";
- consecutive words must appear in order, with at most MAX_GAP other words between them;
- a word ending in `*` matches any word starting with it (on the normalised, unstemmed form):
  "військовополон*";
- a word starting with `=` matches only that exact normalised word (no stemming): "=us";
- an optional weight after a bar: "talks | 0.4" (default DEFAULT_TERM_WEIGHT).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tracker.feeds.languages import FUNCTION_WORDS as STOPWORDS
from tracker.feeds.languages import LANGUAGES, detect_language

from . import frames
from .text import normalise, stem, stems, tokenise

MATCH_THRESHOLD = 0.5
DEFAULT_TERM_WEIGHT = 0.7
SUMMARY_FACTOR = 0.6
MAX_GAP = 2
MAX_TERM_EVIDENCE = 0.95

KIND_TERM = "term"
KIND_REVERSE_TERM = "reverse_term"
KIND_REVERSE = "reverse"
KIND_EXCLUSION = "exclusion"
KIND_THEATRE = "theatre"
KIND_OFF = "off_theatre"

ADVANCE = "advance"
REVERSE = "reverse"


class RuleError(ValueError):
    """A rule or phrase that cannot be compiled; the message says what to fix."""


@dataclass(frozen=True)
class RuleSpec:
    """One rule: an indicator in one language. `name` identifies it in explanations."""

    indicator: str
    lang: str
    terms: tuple[str, ...]
    reverse_cues: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    weight: float = 1.0
    name: str = ""
    reverse_terms: tuple[str, ...] = ()

    @property
    def rule_id(self) -> str:
        return self.name or f"{self.indicator}:{self.lang}"


@dataclass(frozen=True)
class ScopeSpec:
    """Global scope phrases for one language."""

    lang: str
    theatre: tuple[str, ...] = ()
    off_theatre: tuple[str, ...] = ()


@dataclass
class Match:
    indicator: str
    direction: str
    score: float
    terms: list[str]
    rule: str
    lang: str
    reverse_cues: list[str] = field(default_factory=list)
    theatre_cues: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "indicator": self.indicator,
            "direction": self.direction,
            "score": self.score,
            "terms": list(self.terms),
            "rule": self.rule,
            "lang": self.lang,
            "reverse_cues": list(self.reverse_cues),
            "theatre_cues": list(self.theatre_cues),
        }


@dataclass(frozen=True, eq=False)
class _Phrase:
    pid: int
    kind: str
    owner: int  # rule index, -1 for scope phrases
    text: str
    keys: tuple  # ("s", frozenset of stem and word) | ("p", prefix) | ("x", exact surface)
    weight: float
    gate: frozenset  # words of which one must be in the text for the phrase to match (cheap pre-check)
    single: bool  # one word: no need to follow


@dataclass
class _Hit:
    phrase: _Phrase
    fields: set
    surface: str
    spans: list  # (field, start, end)


def parse_phrase(raw: str, lang: str, drop_stopwords: bool = True) -> tuple[tuple, float, str]:
    """Compile one phrase into token keys. Raises RuleError with a message saying what to fix."""
    if not isinstance(raw, str):
        raise RuleError(f"phrase {raw!r} must be text")
    text, weight = raw, DEFAULT_TERM_WEIGHT
    if "|" in raw:
        text, _, weight_text = raw.rpartition("|")
        try:
            weight = float(weight_text.strip())
        except ValueError:
            raise RuleError(
                f"phrase {raw!r}: the weight after '|' must be a number, e.g. 'talks | 0.4'"
            ) from None
        if not 0 < weight <= 1:
            raise RuleError(f"phrase {raw!r}: the weight after '|' must be between 0 and 1")
    words = normalise(text).split()
    content = [w for w in words if w.startswith("=") or w.endswith("*") or w not in STOPWORDS.get(lang, ())]
    if drop_stopwords and len(content) >= 2:
        # "exchange of prisoners" -> exchange, prisoners: the gap allowance covers the small words, so the
        # phrase also meets "exchange of 150 prisoners" and "échange d'otages"-style elisions.
        words = content
    keys: list[tuple[str, object]] = []

    def word_key(token: str) -> tuple[str, frozenset]:
        # Both the stem and the word itself: Snowball stems some nominatives oddly (канал -> кана) while
        # the inflected form stems to the nominative (канале -> канал).
        return ("s", frozenset({stem(token, lang), token}))

    for word in words:
        if word.startswith("="):
            keys.extend(("x", t) for t in tokenise(word[1:]))
        elif word.endswith("*"):
            toks = tokenise(word[:-1])
            if not toks:
                continue
            keys.extend(word_key(t) for t in toks[:-1])
            if len(toks[-1]) < 3:
                raise RuleError(f"phrase {raw!r}: a prefix before '*' needs at least 3 letters")
            keys.append(("p", toks[-1]))
        else:
            keys.extend(word_key(t) for t in tokenise(word))
    if not keys:
        raise RuleError(f"phrase {raw!r} has no words")
    return tuple(keys), weight, text.strip()


class Matcher:
    """Compiled rules. Build once (it is cheap to rebuild when rules change), call `match` many times."""

    def __init__(
        self, rules: Iterable[RuleSpec], scopes: Iterable[ScopeSpec], threshold: float = MATCH_THRESHOLD
    ):
        self.threshold = threshold
        self.rules: list[RuleSpec] = list(rules)
        self._phrases: list[_Phrase] = []
        # per language: stem -> phrases, exact -> phrases, prefix -> phrases, prefix lengths
        self._by_stem: dict[str, dict[str, list[_Phrase]]] = {lang: {} for lang in LANGUAGES}
        self._by_exact: dict[str, dict[str, list[_Phrase]]] = {lang: {} for lang in LANGUAGES}
        self._by_prefix: dict[str, dict[str, list[_Phrase]]] = {lang: {} for lang in LANGUAGES}
        self._prefix_lengths: dict[str, list[int]] = {lang: [] for lang in LANGUAGES}
        self._prefix_heads: dict[str, frozenset] = {lang: frozenset() for lang in LANGUAGES}
        self._rules_by_lang: dict[str, list[int]] = {lang: [] for lang in LANGUAGES}
        for idx, rule in enumerate(self.rules):
            if rule.lang not in LANGUAGES:
                raise RuleError(f"rule {rule.rule_id}: language must be one of {', '.join(LANGUAGES)}")
            if not rule.terms and not rule.reverse_terms:
                raise RuleError(f"rule {rule.rule_id}: needs at least one term")
            self._rules_by_lang[rule.lang].append(idx)
            for kind, phrases in (
                (KIND_TERM, rule.terms),
                (KIND_REVERSE_TERM, rule.reverse_terms),
                (KIND_REVERSE, rule.reverse_cues),
                (KIND_EXCLUSION, rule.exclusions),
            ):
                for raw in phrases:
                    try:
                        self._add(kind, idx, raw, rule.lang)
                    except RuleError as exc:
                        raise RuleError(f"rule {rule.rule_id}, {kind}: {exc}") from None
        for scope in scopes:
            if scope.lang not in LANGUAGES:
                raise RuleError(f"scope: language must be one of {', '.join(LANGUAGES)}")
            for kind, phrases in ((KIND_THEATRE, scope.theatre), (KIND_OFF, scope.off_theatre)):
                for raw in phrases:
                    self._add(kind, -1, raw, scope.lang)
        for lang in LANGUAGES:
            self._prefix_lengths[lang] = sorted({len(p) for p in self._by_prefix[lang]})
            self._prefix_heads[lang] = frozenset(p[:3] for p in self._by_prefix[lang])

    def _add(self, kind: str, owner: int, raw: str, lang: str) -> None:
        # Exclusions and scope phrases keep their small words: they must stay as specific as written.
        keys, weight, text = parse_phrase(
            raw, lang, drop_stopwords=kind in (KIND_TERM, KIND_REVERSE_TERM, KIND_REVERSE)
        )
        later = [value for key_type, value in keys[1:] if key_type == "s"]
        gate = later[-1] if later else frozenset()
        phrase = _Phrase(len(self._phrases), kind, owner, text, keys, weight, gate, len(keys) == 1)
        self._phrases.append(phrase)
        key_type, value = keys[0]
        if key_type == "s":
            for alternative in value:
                self._by_stem[lang].setdefault(alternative, []).append(phrase)
        else:
            table = {"x": self._by_exact, "p": self._by_prefix}[key_type][lang]
            table.setdefault(value, []).append(phrase)

    # ------------------------------------------------------------------ matching

    def _scan(
        self, tokens: list[str], token_stems: list[str], lang: str, field_name: str, hits: dict
    ) -> None:
        by_stem = self._by_stem[lang]
        by_exact = self._by_exact[lang]
        by_prefix = self._by_prefix[lang]
        prefix_lengths = self._prefix_lengths[lang]
        prefix_heads = self._prefix_heads[lang]
        present = {*tokens, *token_stems}
        follow = self._follow
        for i, (token, token_stem) in enumerate(zip(tokens, token_stems, strict=True)):
            candidates = by_stem.get(token_stem, ())
            if token != token_stem:
                by_surface = by_stem.get(token)
                if by_surface:
                    candidates = [*candidates, *(p for p in by_surface if p not in candidates)]
            if by_exact:
                exact = by_exact.get(token)
                if exact:
                    candidates = [*candidates, *exact]
            if token[:3] in prefix_heads:
                for length in prefix_lengths:
                    if len(token) < length:
                        break
                    pref = by_prefix.get(token[:length])
                    if pref:
                        candidates = [*candidates, *pref]
            for phrase in candidates:
                if phrase.single:
                    end = i
                else:
                    if phrase.gate and phrase.gate.isdisjoint(present):
                        continue
                    end = follow(phrase.keys, tokens, token_stems, i)
                    if end < 0:
                        continue
                hit = hits.get(phrase.pid)
                if hit is None:
                    hit = hits[phrase.pid] = _Hit(phrase, set(), " ".join(tokens[i : end + 1]), [])
                hit.fields.add(field_name)
                hit.spans.append((field_name, i, end))

    @staticmethod
    def _follow(keys, tokens, token_stems, start: int) -> int:
        """Return the position of the phrase's last token when it matches from `start`, else -1."""
        pos = start
        n = len(tokens)
        for key_type, value in keys[1:]:
            found = -1
            for j in range(pos + 1, min(n, pos + 2 + MAX_GAP)):
                if (
                    (key_type == "s" and (token_stems[j] in value or tokens[j] in value))
                    or (key_type == "x" and tokens[j] == value)
                    or (key_type == "p" and tokens[j].startswith(value))
                ):
                    found = j
                    break
            if found < 0:
                return -1
            pos = found
        return pos

    def analyse(
        self,
        title: str,
        summary: str = "",
        lang: str | None = None,
        theatre: bool = False,
        out_of_scope_verdicts: bool = True,
        min_score: float | None = None,
    ) -> dict:
        """Every phrase that fired and every rule's verdict, including those under the threshold.

        With out_of_scope_verdicts=False, rules are not scored for an entry outside the theatre; with
        min_score, verdicts under it are left out."""
        title = title or ""
        summary = summary or ""
        if lang not in LANGUAGES:
            lang = detect_language(f"{title}. {summary}" if summary else title)
        hits = self._hits(title, summary, lang)
        theatre_score, theatre_cues = self._scope_cues(hits, KIND_THEATRE)
        off_score, off_cues = self._scope_cues(hits, KIND_OFF)
        scope = self._scope(theatre_score + (1 if theatre else 0), off_score)
        per_rule = self._rule_hits(hits) if scope == "in scope" or out_of_scope_verdicts else {}
        verdicts = []
        for idx in sorted(per_rule):
            verdict = self._verdict(self.rules[idx], per_rule[idx], min_score)
            if verdict is not None:
                verdicts.append(verdict)
        return {
            "lang": lang,
            "scope": scope,
            "theatre_cues": theatre_cues,
            "off_theatre_cues": off_cues,
            "verdicts": verdicts,
            "frames": frames.found(title, summary, lang),
            "summary_chars": len(" ".join(summary.split())),
        }

    def _hits(self, title: str, summary: str, lang: str) -> dict[int, _Hit]:
        """{phrase id: hit} for every phrase that fired in the title or the summary."""
        hits: dict[int, _Hit] = {}
        for field_name, text in (("title", title), ("summary", summary)):
            if text:
                tokens = tokenise(normalise(text))
                self._scan(tokens, stems(tokens, lang), lang, field_name, hits)
        return hits

    @staticmethod
    def _scope_cues(hits: dict[int, _Hit], kind: str) -> tuple[int, list[str]]:
        """(score, sorted surfaces) of the scope phrases of `kind` that fired: 2 for a title hit, 1 for a
        summary hit."""
        score = 0
        surfaces: set[str] = set()
        for hit in hits.values():
            if hit.phrase.kind == kind:
                score += 2 if "title" in hit.fields else 1
                surfaces.add(hit.surface)
        return score, sorted(surfaces)

    @staticmethod
    def _scope(theatre_weight: int, off_score: int) -> str:
        """The theatre gate: "no theatre cue", "another theatre" (its cues weigh at least as much as the
        theatre's, counting the caller's `theatre` flag as one), or "in scope"."""
        if theatre_weight == 0:
            return "no theatre cue"
        if off_score and off_score >= theatre_weight:
            return "another theatre"
        return "in scope"

    @staticmethod
    def _rule_hits(hits: dict[int, _Hit]) -> dict[int, dict[str, list[_Hit]]]:
        """{rule index: {phrase kind: hits}} for the rules' own phrases (scope phrases left out)."""
        per_rule: dict[int, dict[str, list[_Hit]]] = {}
        for hit in hits.values():
            kind = hit.phrase.kind
            if kind not in (KIND_THEATRE, KIND_OFF):
                per_rule.setdefault(hit.phrase.owner, {}).setdefault(kind, []).append(hit)
        return per_rule

    def _verdict(self, rule: RuleSpec, groups: dict[str, list[_Hit]], min_score: float | None) -> dict | None:
        """The rule's verdict from its phrases that fired; None when no term counts or it scores under
        `min_score`."""
        if KIND_TERM not in groups and KIND_REVERSE_TERM not in groups:
            return None
        advance_hits = groups.get(KIND_TERM, [])
        # Reverse phrases overlapping an advance term do not count.
        covering = [span for h in advance_hits for span in h.spans]
        reverse_term_hits = [h for h in groups.get(KIND_REVERSE_TERM, []) if _uncovered(h, covering)]
        term_hits = _distinct(advance_hits + reverse_term_hits)
        if not term_hits:
            return None
        excluded = sorted({h.surface for h in groups.get(KIND_EXCLUSION, [])})
        score = self._score(rule, term_hits)
        if min_score is not None and score < min_score:
            return None
        reverse_hits = [h for h in groups.get(KIND_REVERSE, []) if _uncovered(h, covering)]
        return {
            "rule": rule,
            "score": score,
            "direction": self._direction(term_hits, reverse_hits + reverse_term_hits),
            "terms": sorted({h.surface for h in term_hits}, key=lambda s: (-len(s), s)),
            "reverse_cues": sorted({h.surface for h in reverse_hits}),
            "excluded_by": excluded,
        }

    @staticmethod
    def _score(rule: RuleSpec, term_hits: list[_Hit]) -> float:
        """1 - the product of each term's missing evidence (a summary hit counts SUMMARY_FACTOR of a title
        hit; no single term brings more than MAX_TERM_EVIDENCE)."""
        missing = 1.0
        for h in term_hits:
            factor = 1.0 if "title" in h.fields else SUMMARY_FACTOR
            missing *= 1.0 - min(MAX_TERM_EVIDENCE, h.phrase.weight * rule.weight * factor)
        return round(1.0 - missing, 3)

    @staticmethod
    def _direction(term_hits: list[_Hit], reverse_hits: list[_Hit]) -> str:
        """REVERSE when a reverse phrase is in the title, or in the summary while the terms are there too
        (or nowhere in the title); else ADVANCE."""
        title_terms = any("title" in h.fields for h in term_hits)
        summary_terms = any("summary" in h.fields for h in term_hits)
        reverse = any(
            "title" in h.fields or ("summary" in h.fields and (summary_terms or not title_terms))
            for h in reverse_hits
        )
        return REVERSE if reverse else ADVANCE

    def match(
        self,
        title: str,
        summary: str = "",
        lang: str | None = None,
        theatre: bool = False,
        threshold: float | None = None,
    ) -> list[Match]:
        """Matches at or above the threshold, best first; at most one per indicator."""
        threshold = self.threshold if threshold is None else threshold
        analysis = self.analyse(
            title, summary, lang=lang, theatre=theatre, out_of_scope_verdicts=False, min_score=threshold
        )
        return self.matches_from(analysis, threshold)

    def matches_from(self, analysis: dict, threshold: float | None = None) -> list[Match]:
        """The matches an analysis (`analyse`) gives: what `match` returns, without reading the text
        again when the caller already analysed it."""
        threshold = self.threshold if threshold is None else threshold
        if analysis["scope"] != "in scope":
            return []
        best: dict[str, Match] = {}
        for verdict in analysis["verdicts"]:
            if verdict["excluded_by"] or verdict["score"] < threshold:
                continue
            rule = verdict["rule"]
            current = best.get(rule.indicator)
            if current is not None and current.score >= verdict["score"]:
                continue
            best[rule.indicator] = self._to_match(verdict, analysis)
        return sorted(best.values(), key=lambda m: (-m.score, m.indicator))

    @staticmethod
    def _to_match(verdict: dict, analysis: dict) -> Match:
        """The Match object of one verdict of `analysis`."""
        rule = verdict["rule"]
        return Match(
            indicator=rule.indicator,
            direction=verdict["direction"],
            score=verdict["score"],
            terms=verdict["terms"],
            rule=rule.rule_id,
            lang=analysis["lang"],
            reverse_cues=verdict["reverse_cues"],
            theatre_cues=analysis["theatre_cues"],
        )


def _uncovered(hit: _Hit, covering: list[tuple[str, int, int]]) -> bool:
    """Whether one occurrence of the hit overlaps none of the `covering` spans."""
    return any(not any(f == cf and s <= ce and cs <= e for cf, cs, ce in covering) for f, s, e in hit.spans)


def _distinct(hits: list[_Hit]) -> list[_Hit]:
    """Keep the hits that bring evidence of their own: longest phrases first; a phrase whose every
    occurrence lies inside an occurrence already kept (or has the same token keys) adds nothing."""
    kept: list[_Hit] = []
    taken: list[tuple[str, int, int]] = []
    seen_keys: set = set()
    for hit in sorted(
        hits, key=lambda h: (-max(e - s for _, s, e in h.spans), -h.phrase.weight, h.phrase.pid)
    ):
        if hit.phrase.keys in seen_keys:
            continue
        fresh = [
            (f, s, e)
            for f, s, e in hit.spans
            if not any(f == tf and ts <= s and e <= te for tf, ts, te in taken)
        ]
        if not fresh:
            continue
        seen_keys.add(hit.phrase.keys)
        taken.extend(fresh)
        kept.append(_Hit(hit.phrase, {f for f, _, _ in fresh}, hit.surface, fresh))
    return kept
