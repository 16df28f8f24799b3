"""manage.py import_feed SOURCE [SOURCE ...]

Each SOURCE (a file path or an http(s) URL) goes through the pipeline of a poll, in this process
(tracker.pipeline.pipeline.import_source): safe fetch or bounded file read, parse, dedup, cluster, match,
propose. One JSON line per source on stdout:

    {"source": ..., "status": "ok"|"error", "entries": N, "new": N, "proposed": N, "error": "..."}

A bad or hostile source gives "status": "error" with a message, never a traceback, and the next source
is still processed. The exit code is 0 unless the command itself is misused. Progress goes to stderr.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.utils import timezone

from tracker.feeds.languages import LANGUAGES
from tracker.pipeline.pipeline import import_source


class Command(BaseCommand):
    help = "Import feed files or URLs through the polling pipeline; prints one JSON line per source."

    def add_arguments(self, parser):
        parser.add_argument("sources", nargs="+", metavar="SOURCE", help="a feed file path or an http(s) URL")
        parser.add_argument(
            "--language",
            default="",
            choices=["", *LANGUAGES],
            help="language to assume when a feed does not say (en, fr, ru, uk)",
        )

    def handle(self, *args, sources, language, **options):
        total = len(sources)
        for n, source in enumerate(sources, start=1):
            if total > 1:
                self.stderr.write(f"[{n}/{total}] {source}")
            line = import_source(source, timezone.now(), language=language)
            self.stdout.write(json.dumps(line, ensure_ascii=False))
            if total > 1:
                self.stderr.write(f"[{n}/{total}] {line['status']}: {line['new']} new of {line['entries']}")
