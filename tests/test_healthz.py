"""GET /healthz: 200 {"database": "ok", "broker": "ok", "matching": ...}, or 503 naming what failed.

In-process tests switch the Celery app's broker URL; the end-to-end tests run gunicorn under production
settings (DEBUG=False) and the compose health-check probe (`python -m config.health`) against it.
"""

import json
import socket

import pytest

from config.health import probe_host
from tests.helpers import closed_port, gunicorn, run_python


@pytest.fixture
def broker():
    """Point the Celery app at another broker URL for one test; returns the setter."""
    from config.celery_app import app

    saved = app.conf.broker_url

    def use(url):
        app.conf.broker_url = url

    yield use
    app.conf.broker_url = saved


def test_healthz_is_ok_with_the_configured_database_and_broker(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "database": "ok",
        "broker": "ok",
        "matching": "rules only: turned off (WATCHPOST_ENCODER=none): matching on rules alone",
    }
    assert response["Cache-Control"] == "no-store"


def test_healthz_is_ok_with_a_real_redis_broker(client, db, broker, redis_url):
    broker(redis_url)
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    assert {k: v for k, v in response.json().items() if k != "matching"} == {"database": "ok", "broker": "ok"}


def test_healthz_is_503_when_nothing_listens_on_the_broker_port(client, db, broker):
    broker(f"redis://127.0.0.1:{closed_port()}/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("error: ")
    assert "127.0.0.1" not in body["broker"]  # details go to the log, not to an anonymous caller


def test_healthz_is_503_when_the_broker_accepts_but_never_answers(client, db, broker):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        broker(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("error: ")


def test_healthz_needs_no_login_and_only_answers_get(client, db):
    assert client.get("/healthz").status_code == 200
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.parametrize(
    ("allowed_hosts", "expected"),
    [
        ("watchpost.example.org", "watchpost.example.org"),
        (" watchpost.example.org , www.example.org", "watchpost.example.org"),
        (".example.org", "example.org"),
        ("*,watchpost.example.org", "watchpost.example.org"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_probe_sends_a_host_name_django_accepts(allowed_hosts, expected):
    assert probe_host(allowed_hosts) == expected


# --- End to end: gunicorn with production settings, probed like the compose health check ------------


def run_probe(url, env):
    """The compose health check: `python -m config.health URL/healthz`."""
    return run_python("-m", "config.health", f"{url}/healthz", env=env, timeout=60)


def test_probe_passes_against_gunicorn_with_production_settings(tmp_path):
    with gunicorn(tmp_path) as (url, env, log):
        proc = run_probe(url, env)
    logged = log.read_text(errors="replace")
    assert proc.returncode == 0, proc.stderr + logged[-3000:]
    assert '{"database": "ok", "broker": "ok", "matching": ' in proc.stdout
    # Production logs are JSON lines, gunicorn's access log included.
    records = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert access and '"GET /healthz HTTP/1.1" 200' in access[0]["message"]


def test_probe_fails_when_the_database_is_unreachable(tmp_path):
    with gunicorn(tmp_path, DATABASE_URL=f"postgres://watchpost@127.0.0.1:{closed_port()}/watchpost") as (
        url,
        env,
        log,
    ):
        proc = run_probe(url, env)
        logged = log.read_text(errors="replace")
    assert proc.returncode == 1
    assert "HTTP 503" in proc.stderr
    assert '"database": "error: OperationalError"' in proc.stderr
    assert '"broker": "ok"' in proc.stderr
    # The reason is in the (JSON) log, for the operator.
    assert '"message": "healthz: database check failed: OperationalError' in logged


def test_probe_fails_when_the_broker_is_unreachable(tmp_path):
    dead = f"redis://127.0.0.1:{closed_port()}/0"
    with gunicorn(tmp_path, REDIS_URL=dead) as (url, env, log):
        proc = run_probe(url, env)
    assert proc.returncode == 1
    assert "HTTP 503" in proc.stderr
    assert '"database": "ok"' in proc.stderr
    assert '"broker": "error: ' in proc.stderr
