"""Match JSON lines from stdin against the indicators; one JSON line out per line in. Writes nothing.

In:  {"id": ..., "title": "...", "summary": "..." (optional), "lang": "en|fr|ru|uk" (optional, detected
     when missing), "theatre": true|false (optional: the entry comes from a theatre feed)}
Out: {"id": ..., "matches": [{"indicator": slug, "direction": "advance"|"reverse", "score": 0..1,
     "terms": [...]}]}   (with --explain, each match also carries "rule", "lang" and "reverse_cues", and
     with the learned model "probability", "model" and the three nearest labelled "neighbours")
The rules and the active learned model match (the rules alone without an encoder or a model, or with
--fixtures, which reads fixtures/rules/).
A line that cannot be used gives {"id": <id or null>, "error": "what to fix"}; the run goes on.
"""

import json
import sys

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from indicators.matching.combined import Signal
from tracker.feeds.languages import LANGUAGES


class Command(BaseCommand):
    help = "Match JSON lines ({id, title, summary, lang?}) from stdin; print one JSON line of matches each."
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("--explain", action="store_true", help="add rule, language and reverse cues")
        parser.add_argument(
            "--fixtures", action="store_true", help="use fixtures/rules/ instead of the database rules"
        )

    def handle(self, *args, explain=False, fixtures=False, **options):
        matcher = self._matcher(fixtures)
        stdin = options.get("stdin") or sys.stdin
        for number, raw in enumerate(_lines(stdin), 1):
            if not raw.strip():
                continue
            self.stdout.write(json.dumps(self._one(matcher, raw, number, explain), ensure_ascii=False))

    def _matcher(self, fixtures):
        from indicators.matching.rules import fixture_matcher

        if fixtures:
            return fixture_matcher()
        from indicators.matching.versions import get_combined_matcher

        try:
            return get_combined_matcher()
        except DatabaseError as exc:
            self.stderr.write(
                f"Cannot read the rules from the database ({exc}); using fixtures/rules/ instead. "
                "Run `python manage.py migrate` to use the rules edited in the admin."
            )
            return fixture_matcher()

    def _one(self, matcher, raw, number, explain):
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            return {"id": None, "error": f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})"}
        if not isinstance(item, dict):
            return {"id": None, "error": f"line {number}: expected a JSON object with id and title"}
        ident = item.get("id")
        if isinstance(ident, (dict, list)):
            return {"id": None, "error": f"line {number}: 'id' must be a string or a number"}
        title, summary, lang = item.get("title"), item.get("summary") or "", item.get("lang")
        if not isinstance(title, str) or not title.strip():
            return {"id": ident, "error": f"line {number}: 'title' is required and must be text"}
        if not isinstance(summary, str):
            return {"id": ident, "error": f"line {number}: 'summary' must be text"}
        if lang in ("", None):
            lang = None
        elif not isinstance(lang, str) or lang.lower().replace("_", "-").split("-")[0] not in LANGUAGES:
            return {
                "id": ident,
                "error": f"line {number}: 'lang' must be one of {', '.join(LANGUAGES)} or absent",
            }
        else:
            lang = lang.lower().replace("_", "-").split("-")[0]
        matches = matcher.match(title, summary, lang=lang, theatre=item.get("theatre") is True)
        out = []
        for m in matches:
            row = {"indicator": m.indicator, "direction": m.direction, "score": m.score, "terms": m.terms}
            if explain:
                row.update(rule=m.rule, lang=m.lang, reverse_cues=m.reverse_cues)
                if isinstance(m, Signal):
                    row.update(
                        probability=m.probability,
                        model=m.model,
                        neighbours=[n.as_dict() for n in m.neighbours],
                    )
            out.append(row)
        return {"id": ident, "matches": out}


def _lines(stream):
    """Lines of text from stdin, bytes that are not UTF-8 replaced (the JSON then says what is wrong)."""
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        for raw in buffer:
            yield raw.decode("utf-8", errors="replace")
    else:
        yield from stream
