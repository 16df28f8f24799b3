"""Storing and grouping 1,000 new entries into a database that already holds 5,000 of the same day,
against the same 1,000 into an empty one (target <= 1.5x): the cost per entry must not grow with what
the window holds. The target is on the two together, what putting the entries into the database costs:
the store step (dedup and lexical grouping) and the semantic join of enrichment, on vectors computed
beforehand (the encoder's time is left out: it is the same in both cases). Each part's ratio is printed
too. Medians of RUNS runs.
"""

import statistics
import time
from datetime import UTC, datetime

import numpy as np
from _feeds_common import empty_tables, make_feed, setup_django

RUNS = 5
TARGET = 1.5


def _store(data, now):
    from tracker.feeds.parsing import parse_feed
    from tracker.feeds.store import store_entries

    return store_entries(parse_feed(data, now=now), None, "bench", now)


def _fake_vectors(ids, encoder_name, seed):
    """Unit vectors standing in for the encoder's (its time is not what is measured here)."""
    from tracker.feeds.encoder import pack
    from tracker.feeds.models import EntryVector

    rng = np.random.default_rng(seed)
    rows = []
    for entry_id in ids:
        v = rng.normal(size=384).astype(np.float32)
        data = pack(v / np.linalg.norm(v))
        rows.append(EntryVector(entry_id=entry_id, encoder=encoder_name, dim=384, data=data))
    EntryVector.objects.bulk_create(rows, batch_size=1000)


def main():
    setup_django()
    from tracker.feeds import stories
    from tracker.feeds.encoder import get_encoder

    encoder = get_encoder()
    now = datetime(2025, 10, 2, tzinfo=UTC)
    new = make_feed(1000, seed=99, outlet="new.example")
    background = [make_feed(1000, seed=s, outlet=f"bg{s}.example") for s in range(5)]
    timings = {"empty": [], "full": [], "join-empty": [], "join-full": []}
    for _ in range(RUNS):
        for case in ("empty", "full"):
            empty_tables()
            if case == "full":
                for i, data in enumerate(background):
                    ids = _store(data, now).new_ids
                    if encoder:
                        _fake_vectors(ids, encoder.name, i)
                        stories.join_stories(ids, now)
            t = time.perf_counter()
            stored = _store(new, now)
            timings[case].append(time.perf_counter() - t)
            assert stored.new == 1000, stored
            if encoder:
                _fake_vectors(stored.new_ids, encoder.name, 99)
                t = time.perf_counter()
                stories.join_stories(stored.new_ids, now)
                timings[f"join-{case}"].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in timings.items() if v}
    print("1,000 new entries, 5,000 already stored of the same day")
    print(f"store into an empty database:           {med['empty'] * 1000:8.1f} ms")
    print(f"store into a database of 5,000:         {med['full'] * 1000:8.1f} ms")
    print(f"ratio store full / empty: {med['full'] / med['empty']:.2f}x")
    empty, full = med["empty"], med["full"]
    if "join-empty" in med:
        empty_ms, full_ms = med["join-empty"] * 1000, med["join-full"] * 1000
        print(f"semantic join, empty / full:            {empty_ms:8.1f} / {full_ms:.1f} ms")
        print(f"ratio join full / empty: {med['join-full'] / med['join-empty']:.2f}x")
        empty, full = empty + med["join-empty"], full + med["join-full"]
    print(_verdict("store + join" if "join-empty" in med else "store", full / empty))


def _verdict(name: str, ratio: float) -> str:
    return f"ratio {name} full / empty: {ratio:.2f}x  (target <= {TARGET}x) " + (
        "OK" if ratio <= TARGET else "MISSED"
    )


if __name__ == "__main__":
    main()
