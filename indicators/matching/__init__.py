"""Multilingual matching of news entries to indicators (pure Python; no database access here)."""

from .engine import ADVANCE, MATCH_THRESHOLD, REVERSE, Match, Matcher, RuleError, RuleSpec, ScopeSpec
from .text import LANGUAGES, detect_language

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
