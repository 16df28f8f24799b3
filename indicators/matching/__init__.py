"""Multilingual matching of news entries to indicators (pure Python; no database access here)."""

from tracker.feeds.languages import LANGUAGES, detect_language

from .engine import ADVANCE, MATCH_THRESHOLD, REVERSE, Match, Matcher, RuleError, RuleSpec, ScopeSpec

__all__ = [
    "ADVANCE",
    "LANGUAGES",
    "MATCH_THRESHOLD",
    "REVERSE",
    "Match",
    "Matcher",
    "RuleError",
    "RuleSpec",
    "ScopeSpec",
    "detect_language",
]
