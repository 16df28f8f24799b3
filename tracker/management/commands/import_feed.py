"""manage.py import_feed SOURCE [SOURCE ...]

Each SOURCE (a file path or an http(s) URL) goes through the same pipeline as polling: safe fetch or
bounded file read, parse, dedup, cluster, match, propose. One JSON line per source on stdout:

    {"source": ..., "status": "ok"|"error", "entries": N, "new": N, "proposed": N, "error": "..."}

A bad or hostile source gives "status": "error" with a message, never a traceback, and the next source
is still processed. The exit code is 0 unless the command itself is misused. Progress goes to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from urllib.parse import urlsplit

from django.core.management.base import BaseCommand
from django.utils import timezone

from tracker.feeds.fetching import FetchLimits, fetch
from tracker.feeds.ingest import ingest
from tracker.feeds.parsing import ParseError, parse_feed
from tracker.models import Feed

log = logging.getLogger(__name__)


class SourceError(Exception):
    pass


def _read_file(path: str, max_bytes: int) -> bytes:
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise SourceError(f"no such file: {path}") from exc
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise SourceError(f"{path} is a directory; give feed files (e.g. {path.rstrip('/')}/*.xml)")
    if stat.S_ISREG(st.st_mode) and st.st_size > max_bytes:
        raise SourceError(f"file is {st.st_size:,} bytes, larger than the limit of {max_bytes:,} bytes")
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)  # pipes and devices: never read more than the cap
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise SourceError(f"input is larger than the limit of {max_bytes:,} bytes; not imported")
    return data


class Command(BaseCommand):
    help = "Import feed files or URLs through the polling pipeline; prints one JSON line per source."

    def add_arguments(self, parser):
        parser.add_argument("sources", nargs="+", metavar="SOURCE", help="a feed file path or an http(s) URL")
        parser.add_argument(
            "--language", default="", help="language to assume when a feed does not say (en, fr, ru, uk)"
        )

    def handle(self, *args, sources, language, **options):
        limits = FetchLimits.from_settings()
        total = len(sources)
        for n, source in enumerate(sources, start=1):
            if total > 1:
                self.stderr.write(f"[{n}/{total}] {source}")
            line = self.import_one(source, language, limits)
            self.stdout.write(json.dumps(line, ensure_ascii=False))
            if total > 1:
                self.stderr.write(f"[{n}/{total}] {line['status']}: {line['new']} new of {line['entries']}")

    def import_one(self, source: str, language: str, limits: FetchLimits) -> dict:
        line = {"source": source, "status": "error", "entries": 0, "new": 0, "proposed": 0, "error": ""}
        now = timezone.now()
        scheme = urlsplit(source).scheme.lower() if "://" in source else ""
        feed = None
        try:
            if scheme in ("http", "https"):
                feed = Feed.objects.filter(url=source).first()
                result = fetch(source, now=now, limits=limits)
                if result.status != "ok":
                    raise SourceError(result.error_message or f"fetch failed ({result.status})")
                data, content_type, base = result.body, result.content_type, result.url
            elif scheme:
                raise SourceError(f"only files and http(s) URLs can be imported, not {scheme}://")
            else:
                data, content_type, base = _read_file(source, limits.max_bytes), "", ""
            parsed = parse_feed(
                data,
                now=now,
                content_type=content_type,
                base_url=base,
                default_language=language or (feed.language if feed else ""),
                max_bytes=limits.max_bytes,
            )
            del data
            stats = ingest(parsed, feed.pk if feed else None, source, now)
        except (SourceError, ParseError) as exc:
            line["error"] = getattr(exc, "message", None) or str(exc)
            return line
        except Exception as exc:  # noqa: BLE001 - reported in the JSON line and logged, never hidden
            log.exception("import_feed: unexpected failure on %s", source)
            line["error"] = f"internal error while importing ({type(exc).__name__}: {exc}); see the log"
            return line
        line.update(status="ok", entries=stats.entries, new=stats.new, proposed=stats.proposed)
        if parsed.warnings:
            line["warnings"] = parsed.warnings
        return line
