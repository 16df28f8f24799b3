"""Ingest time of a 500-entry feed against bare `feedparser.parse` of the same bytes (target <= 2x).

Ours = parse_feed (encoding checks, entity guard, nh3 sanitising, canonical links, language, hashes)
+ ingest (dedup queries, clustering, bulk insert into SQLite, story recount) into an empty database.
The baseline is feedparser alone, with no storage at all. Median of several runs, each on a fresh DB
state (entries of the previous run deleted).
"""

import statistics
import time
from datetime import UTC, datetime

from _feeds_common import make_feed, setup_django

RUNS = 5
TARGET = 2.0


def main():
    setup_django()
    import feedparser
    from django.utils import timezone

    from tracker.feeds.ingest import ingest
    from tracker.feeds.parsing import parse_feed
    from tracker.models import Entry, Story

    data = make_feed(500, lang="en")
    now = datetime(2025, 10, 2, tzinfo=UTC)
    import io

    base_times, ours_times, parse_times = [], [], []
    for _ in range(RUNS):
        t = time.perf_counter()
        result = feedparser.parse(io.BytesIO(data))
        base_times.append(time.perf_counter() - t)
        assert len(result.entries) == 500
        Entry.objects.all().delete()
        Story.objects.all().delete()
        t = time.perf_counter()
        parsed = parse_feed(data, now=now)
        parse_times.append(time.perf_counter() - t)
        stats = ingest(parsed, None, "bench", now)
        ours_times.append(time.perf_counter() - t)
        assert stats.new == 500, stats
    base, ours, parse = (statistics.median(x) for x in (base_times, ours_times, parse_times))
    ratio = ours / base
    print(f"feed: 500 entries, {len(data) / 1024:.0f} KiB  ({timezone.now():%Y-%m-%d})")
    print(f"feedparser.parse (baseline):      {base * 1000:8.1f} ms")
    print(f"parse_feed only:                  {parse * 1000:8.1f} ms")
    print(f"parse_feed + ingest (SQLite):     {ours * 1000:8.1f} ms  ({Story.objects.count()} stories)")
    print(
        f"ratio ingest / feedparser: {ratio:.2f}x  (target <= {TARGET:.0f}x) "
        + ("OK" if ratio <= TARGET else "MISSED")
    )


if __name__ == "__main__":
    main()
