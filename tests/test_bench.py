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
