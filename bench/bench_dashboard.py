"""Server time of the overview (home page) with 100,000 events, against the same page with 10 events.

Target: p95 under 300 ms, on SQLite and on PostgreSQL, with the same number of SQL queries at 10 and at
100,000 events. The page is requested in-process through Django's test client by a logged-in viewer, so
the time is the server's: middleware, queries, figure building, template rendering (no network).

Runs on a throw-away SQLite database; and, when DATABASE_URL points at PostgreSQL, again on a throw-away
database on that server (created and dropped here). Each backend runs in its own process.
Exit status 1 if the query count changes with the number of events.
"""

import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

EVENTS = int(os.environ.get("BENCH_DASHBOARD_EVENTS", "100000"))  # smaller only to try the script out
BASELINE_EVENTS = 10
REQUESTS = 40
TARGET_P95_MS = 300.0


def percentile(values, q):
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def make_events(n, start_index=0):
    from indicators.models import Event, Indicator

    indicators = list(Indicator.objects.all())
    start = datetime.date(2025, 8, 15)
    states = ["confirmed"] * 16 + ["proposed"] * 3 + ["rejected"]
    batch = []
    for i in range(start_index, start_index + n):
        batch.append(
            Event(
                indicator=indicators[(i * 7) % len(indicators)],
                direction="advance" if (i * 13) % 5 < 3 else "reverse",
                occurred_on=start + datetime.timedelta(days=(i * 31) % 460),
                title=f"Synthetic event {i}",
                origin="feed" if i % 4 else "manual",
                state=states[i % len(states)],
            )
        )
        if len(batch) == 5000:
            Event.objects.bulk_create(batch)
            batch = []
    if batch:
        Event.objects.bulk_create(batch)


def analyze():
    """Fresh planner statistics after the bulk load (and, on PostgreSQL, the visibility map that lets
    index-only scans skip the table), as autovacuum would provide in production."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def measure(client, url):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm up: caches, connection, compiled templates
        assert client.get(url).status_code == 200
    reset_queries()  # the log is a bounded deque, full after migrations: start from empty to count
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    count = len(queries)  # now: the context reads the connection's log, which the next request resets
    times = []
    for _ in range(REQUESTS):
        t = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - t) * 1000)
    return {
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
        "queries": count,
    }


def child(label):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["WATCHPOST_READ_DOTENV"] = "0"
    # The page as it is built, not a cache hit (the dashboards' cache is measured by bench_load.py).
    os.environ["WATCHPOST_DASHBOARD_CACHE_SECONDS"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0)
    settings.DEBUG = False  # no query log kept in memory while timing
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user = get_user_model().objects.create_user("bench-viewer")
    client = Client()
    client.force_login(user)

    make_events(BASELINE_EVENTS)
    analyze()
    base = measure(client, "/")
    t = time.perf_counter()
    make_events(EVENTS - BASELINE_EVENTS, start_index=BASELINE_EVENTS)
    analyze()
    load_s = time.perf_counter() - t
    big = measure(client, "/")

    print(
        f"[{label}] overview, {BASELINE_EVENTS:,} events (baseline): p50 {base['p50']:.1f} ms, "
        f"p95 {base['p95']:.1f} ms, {base['queries']} queries"
    )
    print(
        f"[{label}] overview, {EVENTS:,} events: p50 {big['p50']:.1f} ms, p95 {big['p95']:.1f} ms, "
        f"{big['queries']} queries (loaded in {load_s:.1f} s)"
    )
    ok_target = big["p95"] < TARGET_P95_MS
    print(
        f"[{label}] ratio to baseline: p50 x{big['p50'] / base['p50']:.2f}, "
        f"p95 x{big['p95'] / base['p95']:.2f}; "
        f"p95 target < {TARGET_P95_MS:.0f} ms: {'met' if ok_target else 'MISSED'}; "
        f"query count {'constant' if big['queries'] == base['queries'] else 'CHANGED'}"
    )
    return 0 if big["queries"] == base["queries"] else 1


def run_child(label, database_url):
    env = dict(os.environ, DATABASE_URL=database_url)
    return subprocess.run([sys.executable, __file__, "--child", label], env=env, cwd=ROOT).returncode


def postgres_url(url):
    """A throw-away database next to the one DATABASE_URL names; created here, dropped by the caller."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_bench_dashboard_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def main():
    print(
        f"bench_dashboard: overview server time, {BASELINE_EVENTS} vs {EVENTS:,} events, "
        f"{REQUESTS} requests each",
        flush=True,
    )
    status = 0
    with tempfile.TemporaryDirectory(prefix="watchpost-bench-dashboard-") as tmp:
        status |= run_child("sqlite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        pg_url, drop = postgres_url(url)
        try:
            status |= run_child("postgresql", pg_url)
        finally:
            drop()
    else:
        print("[postgresql] skipped: DATABASE_URL does not point at PostgreSQL")
    return status


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(child(sys.argv[2]))
    sys.exit(main())
