"""Rule data as shipped in fixtures/rules/<lang>.json, and the default matcher built from it.

File format (one file per language):
    {"lang": "en",
     "theatre": ["ukraine", "kyiv", ...],          # phrases that put an entry in the Russia-Ukraine theatre
     "off_theatre": ["gaza", "hamas", ...],        # phrases of other theatres
     "rules": {"prisoner-exchange": {"terms": [...], "reverse_terms": [...], "reverse_cues": [...],
                                     "exclusions": [...], "weight": 1.0}, ...}}
The database (MatchRule / ScopeTerm rows, seeded from these files) is the source of truth once the app
runs; these files are the seed and the matcher used by pure-Python callers and tests.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from tracker.feeds.languages import LANGUAGES

from .engine import Matcher, RuleError, RuleSpec, ScopeSpec

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "rules"


def load_specs(directory: Path = FIXTURES_DIR) -> tuple[list[RuleSpec], list[ScopeSpec]]:
    rules: list[RuleSpec] = []
    scopes: list[ScopeSpec] = []
    for lang in LANGUAGES:
        path = directory / f"{lang}.json"
        if not path.exists():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise RuleError(f"{path}: cannot read rules ({exc})") from None
        if data.get("lang") != lang:
            raise RuleError(f"{path}: 'lang' must be {lang!r}")
        scopes.append(
            ScopeSpec(
                lang=lang,
                theatre=tuple(data.get("theatre", ())),
                off_theatre=tuple(data.get("off_theatre", ())),
            )
        )
        for slug, body in sorted(data.get("rules", {}).items()):
            rules.append(
                RuleSpec(
                    indicator=slug,
                    lang=lang,
                    terms=tuple(body.get("terms", ())),
                    reverse_terms=tuple(body.get("reverse_terms", ())),
                    reverse_cues=tuple(body.get("reverse_cues", ())),
                    exclusions=tuple(body.get("exclusions", ())),
                    weight=float(body.get("weight", 1.0)),
                )
            )
    return rules, scopes


@lru_cache(maxsize=1)
def fixture_matcher() -> Matcher:
    rules, scopes = load_specs()
    return Matcher(rules, scopes)
