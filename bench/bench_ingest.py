"""Ingest time of a 500-entry feed against bare `feedparser.parse` of the same bytes (target <= 2x).

Ours = parse_feed (encoding checks, entity guard, nh3 sanitising, canonical links, language, hashes)
+ ingest (dedup queries, clustering, bulk insert into SQLite, story recount) into an empty database,
measured without and with the matcher (indicators.proposals.propose_for_entries, another app's part).
The feed is a general English news feed, one headline in ten about the watch list. The baseline is
feedparser alone, with no storage at all. Median of several runs, each on a fresh DB state.
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

    from tracker.feeds.models import Entry, Story
    from tracker.feeds.parsing import parse_feed

    data = make_feed(500, lang="en")
    now = datetime(2025, 10, 2, tzinfo=UTC)
    import io

    from indicators.models import Event

    base_times, ours_times, parse_times, full_times = [], [], [], []
    proposed = 0
    for _ in range(RUNS):
        t = time.perf_counter()
        result = feedparser.parse(io.BytesIO(data))
        base_times.append(time.perf_counter() - t)
        assert len(result.entries) == 500
        for with_matcher, times in ((False, ours_times), (True, full_times)):
            Event.objects.all().delete()
            Entry.objects.all().delete()
            Story.objects.all().delete()
            t = time.perf_counter()
            parsed = parse_feed(data, now=now)
            if not with_matcher:
                parse_times.append(time.perf_counter() - t)
            stats = ingest(parsed, None, "bench", now, propose=with_matcher)
            times.append(time.perf_counter() - t)
            assert stats.new == 500, stats
            proposed = stats.proposed
    base, ours, parse, full = (
        statistics.median(x) for x in (base_times, ours_times, parse_times, full_times)
    )
    ratio = ours / base
    print(f"feed: 500 entries, {len(data) / 1024:.0f} KiB  ({timezone.now():%Y-%m-%d})")
    print(f"feedparser.parse (baseline):           {base * 1000:8.1f} ms")
    print(f"parse_feed only:                       {parse * 1000:8.1f} ms")
    print(f"parse_feed + ingest, no matcher:       {ours * 1000:8.1f} ms  ({Story.objects.count()} stories)")
    print(f"parse_feed + ingest + matcher:         {full * 1000:8.1f} ms  ({proposed} events proposed)")
    print(
        f"ratio ingest / feedparser: {ratio:.2f}x  (target <= {TARGET:.0f}x) "
        + ("OK" if ratio <= TARGET else "MISSED")
    )
    print(f"ratio ingest + matcher / feedparser: {full / base:.2f}x")


if __name__ == "__main__":
    main()
