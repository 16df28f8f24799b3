"""The benchmarks keep working as the code moves: every name a bench imports exists (they import inside
`main`, so a moved module only shows when the bench runs), and the poll bench runs end to end on a few
feeds. Their timings are `make bench`'s business, never asserted here."""

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [alias.name for alias in node.names]


@pytest.mark.parametrize("path", sorted(BENCH.glob("bench_*.py")), ids=lambda p: p.name)
def test_every_name_a_bench_imports_exists(path):
    sys.path.insert(0, str(BENCH))
    try:
        for module, names in _imports(path):
            loaded = importlib.import_module(module)
            missing = [name for name in names if not hasattr(loaded, name)]
            assert not missing, f"{path.name}: {module} has no {', '.join(missing)}"
    finally:
        sys.path.remove(str(BENCH))


@pytest.mark.slow
def test_the_poll_bench_runs_on_a_few_feeds(tmp_path):
    env = {**os.environ, "BENCH_FEEDS": "5", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("DATABASE_URL", None)
    env.pop("BENCH_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_poll.py")], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "304 cycle of 5 feeds" in done.stdout and "entries stored: 25" in done.stdout


@pytest.mark.slow
def test_the_load_bench_runs_on_a_small_database():
    """gunicorn over PostgreSQL with a few hundred events and a few clients for a second: the bench's
    own raw SQL must keep up with the schema (it missed a column once)."""
    from tests.conftest import require_service

    try:
        import psycopg

        psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", connect_timeout=3).close()
        reachable, why = True, ""
    except Exception as exc:  # noqa: BLE001 - any failure means no server here
        reachable, why = False, f"{type(exc).__name__}: {exc}"
    require_service(reachable, f"PostgreSQL is not reachable at 127.0.0.1:5432 ({why})")
    env = {**os.environ, "BENCH_LOAD_EVENTS": "300", "BENCH_LOAD_CLIENTS": "2", "BENCH_LOAD_SECONDS": "1"}
    env["BENCH_LOAD_WORKERS"] = "1"
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_load.py")], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, (done.stdout[-1500:], done.stderr[-2000:])
    assert "300 events with a source each loaded" in done.stdout and "0 errors" in done.stdout, done.stdout
