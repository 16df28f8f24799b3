"""Under load: gunicorn with production settings on PostgreSQL holding 100,000 events; 50 concurrent clients
for 30 s on the overview, an indicator page, the heatmap and the two exports (filtered), logged in as a
viewer; next to the same run with one client.

Target: 0 errors and p95 under 1 s with 50 clients on 2 cores (this machine's cores are printed; the
clients run on them too). Exit status 1 if any request failed (an exception, a timeout or a status other
than 200).

A throw-away database (bench_load_<pid>) is created on BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/
by default, trust auth) and dropped at the end; gunicorn listens on 127.0.0.1 only and is stopped at the
end. Skipped (exit 0) when PostgreSQL is not reachable. Production settings: DEBUG off, a secret key,
ALLOWED_HOSTS=127.0.0.1, static files collected as the image does; TLS is taken as terminated by a proxy
in front (TRUST_X_FORWARDED_PROTO, the clients send X-Forwarded-Proto: https), so nothing is redirected.

Environment (all optional): BENCH_LOAD_CLIENTS (50), BENCH_LOAD_SECONDS (30, each run), BENCH_LOAD_EVENTS
(100000), BENCH_LOAD_WORKERS (gunicorn processes; 3, as WEB_CONCURRENCY in the image), BENCH_LOAD_REDIS_URL
(the cache in Redis, as with compose; default: each worker's memory), BENCH_LOAD_UNCACHED=1 (the two runs
again with the dashboard cache off, for the before/after ratio), BENCH_LOAD_PAGES (a comma-separated subset
of the pages below, by name).
"""

import asyncio
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench_dashboard import analyze, make_events, percentile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "50"))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "30"))
EVENTS = int(os.environ.get("BENCH_LOAD_EVENTS", "100000"))
WORKERS = int(os.environ.get("BENCH_LOAD_WORKERS", "3"))
REDIS_URL = os.environ.get("BENCH_LOAD_REDIS_URL", "")
UNCACHED = os.environ.get("BENCH_LOAD_UNCACHED", "") not in ("", "0", "false", "no")
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/")
TARGET_P95_MS = 1000.0
MAX_REQUESTS_PER_CLIENT = 100_000  # a bound on every loop, whatever the duration
REQUEST_TIMEOUT = 30.0

# What the clients ask for, in turn (each client starts at another place in the list). The exports are
# filtered as a script would filter them: one indicator for a month, a category for two weeks.
PAGES = [
    ("overview", "/"),
    ("indicator", "/indicators/prisoner-exchange/"),
    ("heatmap", "/heatmap/"),
    ("export-json", "/export/events.json?indicator=prisoner-exchange&since=2025-10-01&until=2025-10-31"),
    ("export-csv", "/export/events.csv?category=humanitarian&since=2025-10-01&until=2025-10-14&state=all"),
]
if os.environ.get("BENCH_LOAD_PAGES"):  # a subset, to see what each costs: BENCH_LOAD_PAGES=overview,heatmap
    PAGES = [p for p in PAGES if p[0] in os.environ["BENCH_LOAD_PAGES"].split(",")]


# --- The database -------------------------------------------------------------------------------------


def create_database():
    """A throw-away database on the server; returns its URL and a function that drops it."""
    import psycopg

    parts = urlsplit(POSTGRES_URL)
    name = f"bench_load_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlunsplit(parts._replace(path=f"/{name}")), drop


def fill(env):
    """Migrate (the watch list comes with it), 100,000 events with one source each, a viewer and their
    session, static files collected. Returns the session key."""
    os.environ.update(env)
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connection

    from indicators.models import Claimant, Stance

    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    make_events(EVENTS)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO indicators_eventsource "
            "(event_id, url, outlet, language, published_at, entry_id, claimant, stance) "
            "SELECT id, 'https://news.example.org/story/' || id, 'Example News', 'en', NULL, NULL, %s, %s "
            "FROM indicators_event",
            [Claimant.UNKNOWN, Stance.CLAIM],
        )
    analyze()
    print(f"  {EVENTS:,} events with a source each loaded in {time.perf_counter() - t:.1f} s", flush=True)
    viewer = get_user_model().objects.create_user("bench-viewer")
    session = SessionStore()
    session[SESSION_KEY] = str(viewer.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = viewer.get_session_auth_hash()
    session.create()
    t = time.perf_counter()
    call_command("collectstatic", interactive=False, verbosity=0)
    print(f"  static files collected in {time.perf_counter() - t:.1f} s", flush=True)
    connection.close()
    return session.session_key


# --- gunicorn -----------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(env, port, log_path):
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            # The command of the web service in docker-compose.yml, bound to 127.0.0.1.
            [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "config.wsgi"]
            + ["--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until_up(port, headers, proc, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {proc.returncode}")
        results, _ = run(port, headers, 1, 0, requests=1, pages=PAGES[:1])
        if results and not results[0][2]:
            return
        time.sleep(0.25)
    raise RuntimeError(f"gunicorn did not answer on 127.0.0.1:{port} within {timeout} s")


# --- Clients ------------------------------------------------------------------------------------------
# One asyncio loop, one keep-alive connection per client, HTTP/1.1 read with asyncio's streams: the
# clients share the 2 cores with the server, and a client in pure Python per request (httpx's h11 parses
# every body byte by byte) took most of a core away from it.


class Connection:
    def __init__(self, port, headers):
        self.port, self.reader, self.writer = port, None, None
        lines = [f"{k}: {v}" for k, v in {"Host": "127.0.0.1", **headers}.items()]
        self.head = "\r\n".join(lines).encode()

    async def get(self, path):
        """The status and the body's length; reconnects when the server closed the connection."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + self.head + b"\r\n\r\n")
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split()[1])
        fields = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
        size = 0
        if "content-length" in fields:
            size = len(await self.reader.readexactly(int(fields["content-length"])))
        elif fields.get("transfer-encoding") == "chunked":
            while True:
                chunk = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await self.reader.readexactly(chunk + 2)  # the chunk and its CRLF (the last: the end)
                if chunk == 0:
                    break
                size += chunk
        else:
            size = len(await self.reader.read())
            fields["connection"] = "close"
        if fields.get("connection") == "close":
            self.close()
        return status, size

    def close(self):
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def run(port, headers, clients, seconds, *, requests=MAX_REQUESTS_PER_CLIENT, pages=None):
    """`clients` concurrent clients, each on its own keep-alive connection, asking for the pages in turn
    (each starting at another one) until the time is up. Returns ([(page, ms, error or "")], seconds)."""
    pages = pages or PAGES

    async def client(index, deadline, results):
        conn = Connection(port, headers)
        try:
            for n in range(requests):
                if n and time.monotonic() >= deadline:
                    break
                name, path = pages[(index + n) % len(pages)]
                t = time.perf_counter()
                try:
                    status, size = await asyncio.wait_for(conn.get(path), REQUEST_TIMEOUT)
                    error = "" if status == 200 and size else str(status)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                    error = type(exc).__name__
                    conn.close()
                results.append((name, (time.perf_counter() - t) * 1000, error))
        finally:
            conn.close()

    async def main():
        results = []
        deadline = time.monotonic() + seconds
        t = time.perf_counter()
        await asyncio.gather(*(client(i, deadline, results) for i in range(clients)))
        return results, time.perf_counter() - t

    return asyncio.run(main())


def summary(results, elapsed):
    times = [ms for _, ms, _ in results]
    errors = Counter(error for _, _, error in results if error)
    return {
        "n": len(results),
        "rps": len(results) / elapsed if elapsed else 0.0,
        "p50": statistics.median(times) if times else 0.0,
        "p95": percentile(times, 0.95) if times else 0.0,
        "p99": percentile(times, 0.99) if times else 0.0,
        "errors": sum(errors.values()),
        "kinds": dict(errors),
        "pages": {
            name: (statistics.median(ms), percentile(ms, 0.95))
            for name, _ in PAGES
            if (ms := [t for page, t, _ in results if page == name])
        },
    }


def line(label, clients, s):
    kinds = f" {s['kinds']}" if s["errors"] else ""
    return (
        f"[{label}] {clients:3d} client{'s' if clients > 1 else ' '}: {s['n']:6,} requests, "
        f"{s['rps']:6.1f} req/s, p50 {s['p50']:7.1f} ms, p95 {s['p95']:7.1f} ms, p99 {s['p99']:7.1f} ms, "
        f"{s['errors']} errors{kinds}"
    )


def pages_line(label, clients, s):
    per = ", ".join(f"{name} {p50:.0f}/{p95:.0f}" for name, (p50, p95) in s["pages"].items())
    return f"[{label}] {clients:3d} client{'s' if clients > 1 else ' '}, p50/p95 per page (ms): {per}"


def measure(label, env, port, headers, log_path):
    proc = start_gunicorn(env, port, log_path)
    try:
        wait_until_up(port, headers, proc)
        warm, _ = run(port, headers, min(CLIENTS, WORKERS * 2), min(SECONDS, 3.0))  # every worker once
        one = summary(*run(port, headers, 1, SECONDS))
        print(line(label, 1, one), flush=True)
        print(pages_line(label, 1, one), flush=True)
        many = summary(*run(port, headers, CLIENTS, SECONDS))
        print(line(label, CLIENTS, many), flush=True)
        print(pages_line(label, CLIENTS, many), flush=True)
        print(
            f"[{label}] {CLIENTS} clients against 1: p95 x{many['p95'] / max(one['p95'], 1e-9):.1f}, "
            f"throughput x{many['rps'] / max(one['rps'], 1e-9):.2f}",
            flush=True,
        )
        return one, many, sum(1 for *_, e in warm if e)
    finally:
        stop(proc)


def main():
    print(
        f"bench_load: gunicorn ({WORKERS} workers, production settings) on PostgreSQL, {EVENTS:,} events, "
        f"{CLIENTS} clients vs 1 for {SECONDS:g} s each, on {os.cpu_count()} cores; cache "
        f"{'in Redis' if REDIS_URL else 'in each worker'}",
        flush=True,
    )
    try:
        database_url, drop = create_database()
    except Exception as exc:  # noqa: BLE001 - no server: the bench is skipped, as the others skip
        print(f"skipped: PostgreSQL is not reachable at {POSTGRES_URL} ({type(exc).__name__}: {exc})")
        return 0
    status = 0
    with tempfile.TemporaryDirectory(prefix="watchpost-bench-load-") as tmp:
        tmp = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_", "DATABASE_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DEBUG="False",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1",
            CSRF_TRUSTED_ORIGINS="https://127.0.0.1",
            TRUST_X_FORWARDED_PROTO="True",
            DATABASE_URL=database_url,
            WATCHPOST_READ_DOTENV="0",
            WATCHPOST_VAR_DIR=str(tmp / "var"),
            STATIC_ROOT=str(tmp / "static"),
            LOG_LEVEL="WARNING",
        )
        if REDIS_URL:
            env["REDIS_URL"] = REDIS_URL
        try:
            session_key = fill(env)
            port = free_port()
            headers = {"Cookie": f"sessionid={session_key}", "X-Forwarded-Proto": "https"}
            runs = {"cache on": env}
            if UNCACHED:
                (tmp / "bench_load_uncached.py").write_text(
                    "from config.settings import *  # noqa: F403\nWATCHPOST_DASHBOARD_CACHE_SECONDS = 0\n"
                )
                runs["cache off"] = dict(
                    env, DJANGO_SETTINGS_MODULE="bench_load_uncached", PYTHONPATH=f"{tmp}{os.pathsep}{ROOT}"
                )
            figures = {}
            for label, run_env in runs.items():
                figures[label] = measure(label, run_env, port, headers, tmp / "gunicorn.log")
            one, many, warm_errors = figures["cache on"]
            if "cache off" in figures:
                off = figures["cache off"][1]
                p95, rps = many["p95"] / max(off["p95"], 1e-9), many["rps"] / max(off["rps"], 1e-9)
                print(f"cache on against off, {CLIENTS} clients: p95 x{p95:.2f}, throughput x{rps:.2f}")
            errors = one["errors"] + many["errors"] + warm_errors
            met = errors == 0 and many["p95"] < TARGET_P95_MS
            print(
                f"target: 0 errors and p95 < {TARGET_P95_MS:.0f} ms with {CLIENTS} clients (on 2 cores): "
                f"{'met' if met else 'MISSED'} ({errors} errors, p95 {many['p95']:.0f} ms)"
            )
            if errors:
                tail = (tmp / "gunicorn.log").read_text(errors="replace")[-3000:]
                print(f"gunicorn log (end):\n{tail}")
                status = 1
        finally:
            drop()
    return status


if __name__ == "__main__":
    sys.exit(main())
