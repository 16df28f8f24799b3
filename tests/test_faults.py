"""Faults, with real processes on 127.0.0.1 (issue #14): a worker SIGKILLed in the middle of a poll and in
the middle of a digest send, Redis stopped and started again under a running beat, the database
connection dropped in the middle of an ingest. Each test asserts what a user would see: the entries
stored, the digest in the subscriber's mailbox and on the admin page, /healthz's JSON.

The workers and the Redis server are this module's own: a private redis-server on a free port (never
the machine's Redis on 6379, which other runs share, and which one test here stops), and `celery -A config
worker` subprocesses on the test database. Nothing sleeps for a set time: `wait_until` polls a condition
against a deadline, and a lease runs out under time_machine (the test process travels; the workers keep
the real clock, as a worker started after the lease would).

The first tests start no worker: they pin the release of a digest whose worker died (the service, the
beat task and the admin page) in well under a second each.
"""

import asyncio
import datetime
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core import mail
from django.db import connection

from tests import conftest
from tests.conftest import require_service
from tests.factories import FeedFactory
from tests.helpers import ROOT, at, closed_port, rss, run_python, stop_process, subscribe
from tracker.digests import schedule, sending
from tracker.digests.models import DeliveryStatus, DigestDelivery
from tracker.digests.weeks import IsoWeek
from tracker.feeds.models import Entry, Feed, Story

UTC = datetime.UTC
WEEK = IsoWeek(2026, 37)  # Monday 7 to Sunday 13 September 2026
CLAIMED = at(WEEK.sunday + datetime.timedelta(days=1), 8)  # Monday 14 September 2026, 08:00 UTC
CHANGELIST = "/admin/digests/digestdelivery/"


# --- Waiting, bounded ---------------------------------------------------------------------------------


def wait_until(condition, *, timeout=20.0, what="the condition", logs=()):
    """Poll `condition` (every 20 ms) until it returns something truthy, and return that; fail after
    `timeout` seconds saying what was awaited, with the end of the given log files."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            tails = "".join(f"\n--- {p.name}:\n{p.read_text(errors='replace')[-3000:]}" for p in logs)
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{tails}", pytrace=False)
        time.sleep(0.02)


# --- The release of a digest whose worker died, in the service and the admin (no process) -------------


def test_a_claim_is_released_once_its_lease_ran_out_and_only_then(db):
    sub = subscribe(email="desk@news.example", now=at(WEEK.monday))
    delivery, _ = sending.claim(sub.pk, WEEK, CLAIMED)  # the worker claims it, then dies: no _finish
    assert delivery.status == DeliveryStatus.SENDING

    lease = datetime.timedelta(minutes=15)  # WATCHPOST_DIGEST_SEND_LEASE's default
    assert sending.release_expired_claims(CLAIMED + lease) == []  # not yet: it may still be sending
    assert sending.claim(sub.pk, WEEK, CLAIMED + lease) == (None, "already-claimed")

    later = CLAIMED + lease + datetime.timedelta(seconds=1)
    assert sending.release_expired_claims(later) == [(sub.pk, str(WEEK))]
    assert sending.release_expired_claims(later) == []  # run twice (two beats): released once
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error == (
        "worker stopped while sending (claimed at 2026-09-14 08:00:00 UTC); released for retry after its "
        "lease of 15 min ran out, at 2026-09-14 08:15:01 UTC"
    )
    # Claimable again, by exactly one caller.
    again, _ = sending.claim(sub.pk, WEEK, later)
    assert (again.status, again.attempts) == ("sending", 2)
    assert sending.claim(sub.pk, WEEK, later) == (None, "already-claimed")
    assert sending.release_expired_claims(later + datetime.timedelta(minutes=5)) == []  # a fresh claim
    # Had the first worker been slow rather than dead, its late outcome would not overwrite the new claim.
    sending._send_claimed(delivery, later)
    again.refresh_from_db()
    assert (again.status, again.attempts) == ("sending", 2)


def test_the_lease_is_a_setting(db, settings):
    settings.WATCHPOST_DIGEST_SEND_LEASE = 120
    sub = subscribe(email="desk@news.example", now=at(WEEK.monday))
    sending.claim(sub.pk, WEEK, CLAIMED)
    assert sending.release_expired_claims(CLAIMED + datetime.timedelta(seconds=120)) == []
    assert sending.release_expired_claims(CLAIMED + datetime.timedelta(seconds=121)) == [(sub.pk, str(WEEK))]
    assert "lease of 2 min ran out" in DigestDelivery.objects.get().last_error


def test_a_lease_shorter_than_a_send_could_take_is_refused_at_startup():
    env = {
        **os.environ,
        "WATCHPOST_DIGEST_SEND_LEASE": "120",
        "EMAIL_TIMEOUT": "30",
        "WATCHPOST_READ_DOTENV": "0",
    }
    out = run_python("-c", "import config.settings", env=env)
    assert out.returncode != 0
    assert "WATCHPOST_DIGEST_SEND_LEASE=120 s is shorter than ten times EMAIL_TIMEOUT (30 s)" in out.stderr


def test_the_beat_task_sends_a_released_digest_and_leaves_one_that_keeps_killing_workers_to_an_admin(
    db, eager, client, admin_user
):
    from tracker.digests.tasks import send_due_digests

    stuck = subscribe(email="desk@news.example", now=at(WEEK.monday))
    poison = subscribe(email="poison@news.example", now=at(WEEK.monday))
    sending.claim(stuck.pk, WEEK, CLAIMED)
    sending.claim(poison.pk, WEEK, CLAIMED)
    # The poison digest killed its worker on each of its three claims: it is not released again by itself.
    DigestDelivery.objects.filter(subscription=poison).update(attempts=sending.AUTO_RELEASE_MAX_ATTEMPTS)
    client.force_login(admin_user)

    with time_machine.travel(CLAIMED + datetime.timedelta(minutes=10), tick=False):
        page = client.get(CHANGELIST, {"claim": "live"}).content.decode()
        assert send_due_digests() == {"released": 0, "dispatched": []}
    assert page.count("runs out at 2026-09-14 08:15 UTC") == 2
    assert "desk@news.example" in page and "poison@news.example" in page

    with time_machine.travel(CLAIMED + datetime.timedelta(minutes=16), tick=False):
        page = client.get(CHANGELIST, {"claim": "expired"}).content.decode()
        assert "ran out at 2026-09-14 08:15 UTC: released on the next digest run" in page
        assert (
            "ran out at 2026-09-14 08:15 UTC; not released automatically after 3 attempts: check the mail "
            "log, then release it"
        ) in page
        result = send_due_digests()
        assert client.get(CHANGELIST, {"claim": "live"}).content.decode().count("runs out at") == 0
    assert result["released"] == 1 and len(result["dispatched"]) == 1
    assert [m.to for m in mail.outbox] == [["desk@news.example"]]
    statuses = dict(DigestDelivery.objects.values_list("subscription__email", "status"))
    assert statuses == {"desk@news.example": "sent", "poison@news.example": "sending"}


# --- Processes: a private Redis, workers on it --------------------------------------------------------


class RedisServer:
    """A redis-server of the test's own on a free port of 127.0.0.1, stopped and started at will (on the
    same port), with no persistence."""

    def __init__(self, binary, folder):
        self.binary, self.folder = binary, folder
        self.port = closed_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = folder / "redis.log"
        self.proc = None

    def start(self):
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
                + ["no", "--dir", str(self.folder)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_until(self.answers, timeout=10, what=f"redis-server on port {self.port}", logs=[self.log])

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc)

    def answers(self):
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.ConnectionError:
            return False


@pytest.fixture
def private_redis(tmp_path):
    binary = shutil.which("redis-server")
    require_service(
        binary is not None, "the redis-server binary is not installed (apt-get install redis-server)"
    )
    server = RedisServer(binary, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Worker:
    def __init__(self, proc, queue, log):
        self.proc, self.queue, self.log = proc, queue, log

    def kill(self):
        """SIGKILL: no shutdown, no acknowledgement, no `finally` (the OOM killer, a lost machine)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def alive(self):
        return self.proc.poll() is None


class Workers:
    """`celery -A config worker` subprocesses over the private Redis, on the test database, each on a
    queue of its own; `send_to(worker)` makes this process's .delay() calls reach that one."""

    def __init__(self, app, redis, folder, env):
        self.app, self.redis, self.folder, self.env = app, redis, folder, env
        self.started = []

    def start(self, name, *, beat=False):
        queue = f"faults-{name}-{uuid.uuid4().hex[:8]}"
        env = {**conftest.worker_env(self.redis.url, queue), **self.env}
        log = self.folder / f"worker-{name}.log"
        if beat:
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "config", "worker", "--beat"]
                    + ["-Q", f"{queue},{queue}-enrich", "--pool", "solo", "--without-gossip"]
                    + ["--without-mingle", "--without-heartbeat", "-l", "info", "-n", f"{queue}@%h"],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
        else:
            proc = conftest.start_worker(queue, env, log, name=queue)
        worker = Worker(proc, queue, log)
        self.started.append(worker)
        return worker

    def send_to(self, worker):
        self.app.conf.task_default_queue = worker.queue
        conftest._reset_celery_connections(self.app)

    @property
    def logs(self):
        return [w.log for w in self.started]

    def stop_all(self):
        for worker in self.started:
            if worker.alive():
                stop_process(worker.proc)


@pytest.fixture
def workers(transactional_db, private_redis, tmp_path, settings):
    """Start workers with `workers.start(name)`; all are stopped (if still alive) when the test ends. This
    process's Celery app sends to the private Redis meanwhile; /healthz checks that broker too."""
    from config.celery_app import app

    settings.FEEDS_SSRF_ALLOWED_HOSTS = ["127.0.0.1"]
    keys = ("broker_url", "result_backend", "task_default_queue", "task_always_eager")
    saved = {k: app.conf.get(k) for k in keys}
    app.conf.update(broker_url=private_redis.url, result_backend=private_redis.url, task_always_eager=False)
    env = {"FEEDS_SSRF_ALLOWED_HOSTS": "127.0.0.1", "LOG_JSON": "0", "WATCHPOST_ENCODER": "none"}
    pool = Workers(app, private_redis, tmp_path, env)
    try:
        yield pool
    finally:
        pool.stop_all()
        app.conf.update(saved)
        conftest._reset_celery_connections(app)


# --- A worker killed in the middle of a poll ----------------------------------------------------------

OLD = [
    ("Russia and Ukraine swap 84 prisoners of war", "https://wire.example.com/a"),
    ("EU adopts 19th sanctions package against Russia", "https://wire.example.com/b"),
]
NEW = [
    ("Evacuation ordered for three villages near Kupiansk", "https://wire.example.com/c"),
    ("IAEA team rotates at the Zaporizhzhia nuclear plant", "https://wire.example.com/d"),
]


@pytest.mark.services
@pytest.mark.slow
def test_a_worker_killed_mid_poll_leaves_the_feed_to_the_next_cycle_nothing_twice_nothing_lost(workers, srv):
    from tracker.pipeline.pipeline import poll_feed
    from tracker.pipeline.tasks import enqueue_due_feeds_task

    first, second = workers.start("first"), workers.start("second")  # they start up side by side
    srv.route("/wire", body=rss(*OLD))
    feed = FeedFactory(url=srv.url("/wire"))
    assert poll_feed(feed.pk, datetime.datetime.now(UTC)).new == 2  # an earlier poll stored two entries
    Feed.objects.filter(pk=feed.pk).update(next_poll_at=datetime.datetime.now(UTC))  # due again

    # Now the wire has two more entries, and sends its body slowly: the worker is stuck reading it.
    whole = rss(*OLD, *NEW)
    srv.route("/wire", body=whole[: len(whole) // 2], chunk_delay=0.05, generated_size=10**9)
    workers.send_to(first)
    assert enqueue_due_feeds_task() == 1  # the beat task claims the feed and queues its poll
    leased_until = Feed.objects.get(pk=feed.pk).next_poll_at
    wait_until(lambda: srv.hits.get("/wire") == 2, what="the worker's request", logs=workers.logs)
    first.kill()

    # The killed poll stored nothing and recorded nothing; the feed's claim holds it for its lease, so
    # no other cycle polls it while the dead worker might still have been at it.
    assert sorted(Entry.objects.filter(feed=feed).values_list("title", flat=True)) == sorted(
        t for t, _ in OLD
    )
    assert Feed.objects.get(pk=feed.pk).next_poll_at == leased_until
    assert enqueue_due_feeds_task() == 0

    # After the lease, the next cycle polls it on the other worker: the two new entries, and no copies.
    srv.route("/wire", body=whole)
    workers.send_to(second)
    with time_machine.travel(leased_until + datetime.timedelta(seconds=1)):
        assert enqueue_due_feeds_task() == 1
    wait_until(
        lambda: (
            Entry.objects.filter(feed=feed).count() >= 4 and Feed.objects.get(pk=feed.pk).last_new_entries
        ),
        what="the next poll to store the new entries",
        logs=workers.logs,
    )
    rows = list(Entry.objects.filter(feed=feed).values_list("guid", "title"))
    assert sorted(rows) == sorted((link, title) for title, link in OLD + NEW)  # each entry exactly once
    assert Story.objects.count() == 4
    assert srv.hits["/wire"] == 3 and second.alive()


# --- A worker killed in the middle of a digest send ---------------------------------------------------


class HangingInbox:
    """aiosmtpd handler: accepts messages, except that the first one for each address in `hang_for` hangs
    in DATA (the server never answers it) until the client goes away; that one is recorded as abandoned,
    never delivered."""

    def __init__(self, hang_for):
        self.hang_for = set(hang_for)
        self.delivered = []  # (recipients, raw message)
        self.abandoned = []
        self.hanging = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        hang = self.hang_for & set(envelope.rcpt_tos)
        if hang:
            self.hang_for -= hang
            self.hanging.set()
            try:
                await asyncio.sleep(60)  # cancelled by aiosmtpd as soon as the connection is lost
            except asyncio.CancelledError:
                self.abandoned.append(list(envelope.rcpt_tos))
                raise
            return "451 4.3.0 Timed out"
        self.delivered.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 Message accepted for delivery"

    def to(self, address):
        return [m for rcpts, m in self.delivered if address in rcpts]


class _Controller(Controller):
    """Binds port 0 (a free port chosen by the system) and learns which before its readiness check."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def hanging_smtp(workers):
    inbox = HangingInbox(hang_for={"desk@news.example"})
    controller = _Controller(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    workers.env.update(
        EMAIL_BACKEND="smtp",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(controller.port),
        EMAIL_USE_TLS="0",
        EMAIL_USE_SSL="0",
        EMAIL_TIMEOUT="30",
        DEFAULT_FROM_EMAIL="Watchpost <digest@watchpost.example.org>",
        SITE_URL="https://watchpost.example.org",
    )
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.mark.services
@pytest.mark.slow
def test_a_worker_killed_mid_send_shows_in_the_admin_and_the_digest_goes_out_once_after_the_lease(
    workers, hanging_smtp, client, admin_user
):
    from tracker.digests.tasks import send_due_digests

    now = datetime.datetime.now(UTC)
    sub = subscribe(email="desk@news.example", now=now - datetime.timedelta(days=30))
    week = str(schedule.latest_due_week(sub, now))
    first, second = workers.start("first"), workers.start("second")
    client.force_login(admin_user)

    workers.send_to(first)
    assert len(send_due_digests()["dispatched"]) == 1  # the beat task: one digest due
    wait_until(hanging_smtp.hanging.is_set, what="the worker to reach DATA", logs=workers.logs)
    delivery = DigestDelivery.objects.get(subscription=sub)
    assert (delivery.week, delivery.status, delivery.attempts) == (week, "sending", 1)
    ends = sending.lease_ends_at(delivery)
    page = client.get(CHANGELIST, {"claim": "live"}).content.decode()
    assert "desk@news.example" in page and f"runs out at {ends:%Y-%m-%d %H:%M} UTC" in page
    assert ">Sending<" in page

    first.kill()
    wait_until(lambda: hanging_smtp.abandoned, what="the SMTP server to see the client go")
    assert hanging_smtp.delivered == []
    # Within the lease, nothing is released: the row stays "sending" and is not sent again.
    assert send_due_digests() == {"released": 0, "dispatched": []}
    assert DigestDelivery.objects.get(pk=delivery.pk).status == "sending"

    workers.send_to(second)
    with time_machine.travel(ends + datetime.timedelta(seconds=1)):
        page = client.get(CHANGELIST, {"claim": "expired"}).content.decode()
        assert "desk@news.example" in page and "released on the next digest run" in page
        result = send_due_digests()  # the next run releases it, then sends it
    assert result["released"] == 1
    (task_id,) = result["dispatched"]
    outcome = workers.app.AsyncResult(task_id).get(timeout=30)
    assert (outcome["status"], outcome["recipient"]) == ("sent", "desk@news.example")
    assert outcome["worker"].startswith(second.queue)

    assert len(hanging_smtp.to("desk@news.example")) == 1 and len(hanging_smtp.delivered) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    with time_machine.travel(ends + datetime.timedelta(hours=1)):
        assert send_due_digests() == {"released": 0, "dispatched": []}  # and never again
    page = client.get(CHANGELIST, {"status__exact": "sent"}).content.decode()
    assert "desk@news.example" in page and ">Sent<" in page


# --- Redis stopped and started again while beat runs --------------------------------------------------


@pytest.mark.services
@pytest.mark.slow
def test_redis_stopped_and_started_again_while_beat_runs(workers, private_redis, srv, client):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    # The schedule lives in the database (editable in the admin): beat's poll entry every second here,
    # instead of every minute, so that the test waits for seconds, not minutes.
    PeriodicTask.objects.create(
        name="enqueue due feeds, every second",
        task="watchpost.pipeline.enqueue_due_feeds",
        interval=IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS),
    )
    srv.route("/before", body=rss(*OLD))
    before = FeedFactory(url=srv.url("/before"))
    beat = workers.start("beat", beat=True)
    wait_until(
        lambda: Entry.objects.filter(feed=before).count() == 2, what="beat's first poll", logs=workers.logs
    )
    assert client.get("/healthz").json()["broker"] == "ok"

    private_redis.stop()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "ok" and response.json()["broker"].startswith("error: ")
    wait_until(
        lambda: "Cannot connect to redis" in beat.log.read_text(errors="replace"),
        what="the worker to notice that Redis is gone",
        logs=workers.logs,
    )
    srv.route("/after", body=rss(*NEW))
    after = FeedFactory(url=srv.url("/after"))  # a feed added while the broker is down
    assert client.get("/healthz").status_code == 503 and srv.hits.get("/after") is None  # nothing polls

    private_redis.start()  # the same port
    assert client.get("/healthz").status_code == 200
    wait_until(
        lambda: Entry.objects.filter(feed=after).count() == 2,
        timeout=30,
        what="polling to resume after Redis came back",
        logs=workers.logs,
    )
    assert beat.alive()  # the same beat and worker, never restarted
    assert Entry.objects.filter(feed=before).count() == 2


# --- The database connection dropped during an ingest -------------------------------------------------


@pytest.mark.services
@pytest.mark.slow
def test_a_dropped_database_connection_rolls_the_ingest_back_and_the_next_poll_stores_it(
    postgresql, workers, srv
):
    import psycopg

    from tracker.pipeline.tasks import enqueue_due_feeds_task

    worker = workers.start("ingest")
    workers.send_to(worker)
    srv.route("/wire", body=rss(*NEW))
    feed = FeedFactory(url=srv.url("/wire"))
    url = conftest.test_database_url()
    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as watcher:
        # A second session holds a SHARE lock on the entries: the ingest reads them (dedup, clustering)
        # and inserts its stories, then waits to insert its entries, inside its one transaction.
        holder.execute("LOCK TABLE feeds_entry IN SHARE MODE")
        assert enqueue_due_feeds_task() == 1
        pid = wait_until(
            lambda: _waiting_insert(watcher), what="the ingest to wait on the entries", logs=[worker.log]
        )
        assert _holds(watcher, pid, "feeds_story", "RowExclusiveLock")  # its stories are inserted already
        watcher.execute("SELECT pg_terminate_backend(%s)", [pid])  # its connection drops mid-transaction
        holder.rollback()

    # Nothing of the batch remains; the poll's failure is on the feed, whose next poll is scheduled.
    failed = wait_until(
        lambda: Feed.objects.filter(pk=feed.pk, last_error_kind="store").first(),
        what="the failed store to be recorded",
        logs=[worker.log],
    )
    assert "terminating connection" in failed.last_error_message
    assert (Entry.objects.count(), Story.objects.count()) == (0, 0)
    assert failed.consecutive_failures == 1

    # The next poll, by the same worker on a new connection, stores the whole batch, once.
    with time_machine.travel(failed.next_poll_at + datetime.timedelta(seconds=1)):
        assert enqueue_due_feeds_task() == 1
    wait_until(
        lambda: Feed.objects.filter(pk=feed.pk, consecutive_failures=0).exists(),
        what="the next poll",
        logs=[worker.log],
    )
    rows = sorted(Entry.objects.filter(feed=feed).values_list("guid", "title"))
    assert rows == sorted((link, title) for title, link in NEW)
    assert Story.objects.count() == 2 and worker.alive()


@pytest.fixture
def postgresql():
    """Skip (or fail under REQUIRE_SERVICES=1) unless the suite runs on PostgreSQL."""
    require_service(
        connection.vendor == "postgresql",
        "dropping the database connection needs PostgreSQL (DATABASE_URL=postgres://...)",
    )


def _waiting_insert(conn):
    """The pid of a session waiting on a lock to insert entries, or None."""
    row = conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' "
        """AND query LIKE 'INSERT INTO "feeds_entry"%'"""
    ).fetchone()
    return row[0] if row else None


def _holds(conn, pid, table, mode):
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE pid = %s AND relation = %s::regclass AND mode = %s AND granted",
        [pid, table, mode],
    ).fetchone()
    return row[0] > 0
