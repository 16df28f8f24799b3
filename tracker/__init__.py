"""The news side of Watchpost, in layers (see CONTRIBUTING.md):

- `tracker.feeds`: news in (feeds, entries, stories): fetch, parse, store, cluster. Knows nothing above it.
- `indicators` (a top-level app): interpretation (the watch list, events, matching), on top of feeds.
- `tracker.dashboards`, `tracker.digests`: presentation and mail, reading indicators and feeds.
- `tracker.pipeline`: the orchestration of a poll (fetch, parse, store, enrich), above the layers it calls.
"""
