"""Settings come from the environment with safe defaults; unsafe production settings fail loudly."""

import os

import pytest

from tests.helpers import run_manage


def run_check(**env):
    full = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL")
    }
    full.update(env, WATCHPOST_READ_DOTENV="0")
    return run_manage("check", env=full)


@pytest.mark.slow
def test_debug_false_without_secret_key_fails_with_a_clear_message():
    proc = run_check(DEBUG="False")
    assert proc.returncode != 0
    assert "SECRET_KEY is not set" in proc.stderr
    assert "Traceback" not in proc.stderr.split("ImproperlyConfigured")[-1]


@pytest.mark.slow
def test_check_is_clean_with_no_environment():
    proc = run_check()
    assert proc.returncode == 0, proc.stderr
    assert "System check identified no issues" in proc.stdout


def test_database_url_selects_the_database(settings):
    from django.db import connection

    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert connection.vendor == expected
