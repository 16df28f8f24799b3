"""Helpers shared by the test modules: one version of each, parameterised for every caller.

Rows are made by the factories (tests/factories.py); fixtures live in tests/conftest.py.
"""

import contextlib
import datetime
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from django.utils import timezone

from indicators.models import Indicator
from indicators.services import record_event

ROOT = Path(__file__).resolve().parent.parent
UTC = datetime.UTC


# --- Time ---------------------------------------------------------------------------------------------


def at(day, hour=12, minute=0, tz=UTC):
    """That day at hour:minute in `tz` (UTC by default). `at(day, hour, tz)` is short for `at(day, hour,
    0, tz)`."""
    if isinstance(minute, datetime.tzinfo):
        minute, tz = 0, minute
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=tz)


# --- Rows through the services ------------------------------------------------------------------------


def log(slug, direction, day, *, title=None, sources=None, actor=None, now=None, hour=None, **fields):
    """Record an event on indicator `slug` through indicators.services.record_event, as the app does.

    `title` defaults to "<slug> <direction> <day>"; `sources` are dicts (url, outlet, ...) or plain URLs
    (their host is the outlet), one example source by default; `actor` is the user who logs it. It is
    recorded `now` (default: the clock), or, given `hour`, at that hour (UTC) of `day`. Other keywords
    (origin="feed", summary, match_terms...) go to record_event: an event from a feed stays proposed."""
    if sources is None:
        sources = [{"url": f"https://news.example/{slug}/{day}/{direction}", "outlet": "Example News"}]
    if now is None:
        now = at(day, hour) if hour is not None else timezone.now()
    return record_event(
        indicator_id=Indicator.objects.get(slug=slug).pk,
        direction=direction,
        occurred_on=day,
        title=title or f"{slug} {direction} {day}",
        sources=[{"url": s, "outlet": urlsplit(s).hostname} if isinstance(s, str) else s for s in sources],
        actor_id=actor.pk if actor else None,
        now=now,
        **fields,
    )


def subscribe(user=None, email="", *, now, **fields):
    """A digest subscription saved and scheduled `now`: the user's, or an external address."""
    from tests.factories import SubscriptionFactory

    return SubscriptionFactory(user=user, email=email, now=now, **fields)


# --- Pages --------------------------------------------------------------------------------------------


def figure(response, figure_id):
    """The Plotly figure JSON embedded in the page (json_script)."""
    html = response.content.decode()
    match = re.search(rf'<script id="{figure_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"figure {figure_id} not found on the page"
    return json.loads(match.group(1))


def indicator_card(html, slug):
    """The overview's card of one indicator, from its link to the end of its list item."""
    start = html.index(f'href="/indicators/{slug}/')
    return html[start : html.index("</li>", start)]


# --- Processes and ports ------------------------------------------------------------------------------


def run_process(command, *, env, cwd=ROOT, input=None, text=True, timeout=120):
    """Run `command` (a list) in a real process, from the project folder unless `cwd`, output captured.
    Returns the CompletedProcess (returncode, stdout, stderr)."""
    return subprocess.run(
        command, cwd=cwd, env=env, input=input, capture_output=True, text=text, timeout=timeout
    )


def run_python(*args, env, input=None, text=True, timeout=120):
    """Run `python ARGS` (this interpreter) in a real process from the project folder, output captured."""
    return run_process([sys.executable, *args], env=env, input=input, text=text, timeout=timeout)


def run_manage(*args, env, input=None, text=True, timeout=120):
    """Run `python manage.py ARGS` in a real process, output captured, from the project folder."""
    return run_python("manage.py", *args, env=env, input=input, text=text, timeout=timeout)


def stop_process(proc, timeout=20):
    """Terminate a subprocess, killing it if it does not stop in time."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def closed_port():
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(tmp_path, **env_overrides):
    """gunicorn config.wsgi under production settings on a socket bound here (so requests simply wait
    until it is ready). Yields its URL, its environment and the path of its log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "REDIS_", "DATABASE_"))}
    env.update(
        DEBUG="False",
        SECRET_KEY="healthz-test-" + "k" * 50,
        ALLOWED_HOSTS="watchpost.example.org",
        WATCHPOST_READ_DOTENV="0",
        WATCHPOST_VAR_DIR=str(tmp_path / "var"),
        STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        HOME=str(tmp_path),
    )
    env.update(env_overrides)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    log = tmp_path / "gunicorn.log"
    with sock, open(log, "wb") as out:
        proc = subprocess.Popen(
            # The command of the web service in docker-compose.yml, on a socket of our own.
            [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "config.wsgi"]
            + ["--bind", f"fd://{sock.fileno()}", "--workers", "1"],
            cwd=ROOT,
            env=env,
            pass_fds=(sock.fileno(),),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield f"http://127.0.0.1:{sock.getsockname()[1]}", env, log
        finally:
            stop_process(proc)


# --- Feeds ---------------------------------------------------------------------------------------------


def rss(*items: tuple[str, str], lang="en") -> bytes:
    """A small RSS feed of (title, link) items, all published on 2 October 2025."""
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>Thu, 02 Oct 2025 09:00:00 GMT</pubDate><description>{t}.</description></item>"
        for t, link in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Test wire</title>'
        f"<language>{lang}</language>{body}</channel></rss>"
    ).encode()
