"""The orchestration of a poll and of an import: fetch, parse, store, enrich. Above the layers it calls."""
