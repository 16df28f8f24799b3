"""A poll cycle of 1,000 feeds served by a local HTTP server: the first cycle (every feed new: fetch,
parse, dedup, cluster, store) and the 304 cycle (conditional GETs, health recorded) - target: a 304
cycle of 1,000 feeds under 10 s.

Each poll is the same `poll_feed(feed_id, now)` service a Celery worker runs; CONCURRENCY threads stand
for that many worker processes, sharing one HTTP client (keep-alive). The database is a throw-away
SQLite file unless BENCH_DATABASE_URL points elsewhere (e.g. postgres://postgres@127.0.0.1/bench).
The sequential 304 figure (one worker) is printed too.
"""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _feeds_common import make_feed, setup_django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_FEEDS = int(os.environ.get("BENCH_FEEDS", 1000))
ENTRIES_PER_FEED = 5
CONCURRENCY = 8
TARGET_304 = 10.0


def main():
    setup_django()
    from django.test.utils import override_settings

    from tests.feedserver import FeedServer
    from tracker.feeds.fetching import FetchLimits, make_client
    from tracker.feeds.models import Entry, Feed
    from tracker.feeds.schedule import claim_due_feeds
    from tracker.pipeline.pipeline import poll_feed

    if Feed.objects.exists():
        sys.exit("BENCH_DATABASE_URL must point to an empty, throw-away database (it has feeds already).")
    with FeedServer() as srv, override_settings(FEEDS_SSRF_ALLOWED_HOSTS=["127.0.0.1"]):
        feeds = []
        for i in range(N_FEEDS):
            path = f"/feeds/{i}.xml"
            srv.route(
                path, body=make_feed(ENTRIES_PER_FEED, seed=i, outlet=f"outlet{i}.example"), etag=f'"e{i}"'
            )
            feeds.append(Feed(url=srv.url(path), title=f"Feed {i}", language="en"))
        Feed.objects.bulk_create(feeds)
        limits = FetchLimits.from_settings()
        now = datetime(2025, 10, 2, tzinfo=UTC)
        results = {}
        with make_client(limits) as client, ThreadPoolExecutor(CONCURRENCY) as pool:

            def poll(args):
                feed_id, at = args  # each thread keeps its own database connection, like a worker
                return poll_feed(feed_id, at, limits=limits, client=client).status

            cycles = (
                ("first cycle", now, CONCURRENCY),
                ("304 cycle", now + timedelta(days=1), CONCURRENCY),
                ("304, 1 worker", now + timedelta(days=2), 1),
            )
            for label, at, workers in cycles:
                t = time.perf_counter()
                ids = claim_due_feeds(at)
                jobs = [(fid, at) for fid in ids]
                statuses = list(pool.map(poll, jobs)) if workers > 1 else [poll(j) for j in jobs]
                elapsed = time.perf_counter() - t
                results[label] = elapsed
                counts = {s: statuses.count(s) for s in sorted(set(statuses))}
                print(
                    f"{label:14s}: {len(ids)} feeds in {elapsed:6.2f} s "
                    f"({len(ids) / elapsed:7.1f} feeds/s, {workers} worker(s))  {counts}"
                )
        print(f"entries stored: {Entry.objects.count()}")
    ok = results["304 cycle"] < TARGET_304
    print(
        f"304 cycle of {N_FEEDS} feeds: {results['304 cycle']:.2f} s (target < {TARGET_304:.0f} s) "
        + ("OK" if ok else "MISSED")
    )
    print(f"ratio 304 cycle / first cycle: {results['304 cycle'] / results['first cycle']:.2f}")


if __name__ == "__main__":
    main()
