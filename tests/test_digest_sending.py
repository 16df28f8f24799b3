"""Sending digests: a real SMTP server (aiosmtpd on 127.0.0.1) receives them; each digest goes out once per
subscriber and week, with two real Celery workers over Redis racing for it; time travels across a week
boundary and a daylight-saving change; unsubscribed users get nothing; a bad address stops nobody else."""

import asyncio
import datetime
import email
import email.policy
import functools
import re
import time
import zoneinfo

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.core.management import CommandError, call_command
from django.test import Client

from tests import conftest, helpers
from tests.factories import UserFactory
from tests.helpers import at, closed_port, subscribe
from tracker.digests import schedule, sending
from tracker.digests.models import DeliveryStatus, DigestDelivery, Subscription
from tracker.digests.weeks import IsoWeek

UTC = datetime.UTC
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SITE = "https://watchpost.example.org"
WEEK = IsoWeek(2026, 37)  # Monday 7 to Sunday 13 September 2026


# --- A real SMTP server -------------------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler: keeps what it accepts; refuses some recipients (550) and, on demand, the next
    few messages with a temporary error (451)."""

    def __init__(self):
        self.messages = []
        self.refuse = set()
        self.temporary_failures = 0
        self.delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)  # widens the window in which two workers could race
        if self.temporary_failures > 0:
            self.temporary_failures -= 1
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        msg = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def to(self, address):
        return [m for rcpts, m in self.messages if address in rcpts]

    @property
    def recipients(self):
        return sorted(r for rcpts, _ in self.messages for r in rcpts)


class _Controller(Controller):
    """Binds port 0 (a free port chosen by the system) and learns which before its readiness check."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = _Controller(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    inbox.port = controller.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "Watchpost <digest@watchpost.example.org>"
    settings.SITE_URL = SITE
    try:
        yield inbox
    finally:
        controller.stop()


# --- Rows ---------------------------------------------------------------------------------------------


# Events are recorded at 18:00 UTC on the day they happen.
log = functools.partial(helpers.log, hour=18)


def deliveries():
    return sorted(DigestDelivery.objects.values_list("subscription__email", "week", "status", "attempts"))


# --- One digest over SMTP -----------------------------------------------------------------------------


def test_the_digest_arrives_with_both_parts_links_and_one_click_unsubscribe(smtp, alice):
    log("prisoner-exchange", "advance", WEEK.monday, title="84 prisoners of war exchanged")
    sub = subscribe(user=alice, time_zone="Europe/Paris", now=at(WEEK.monday))
    now = at(WEEK.sunday + datetime.timedelta(days=1), 8)

    outcome = sending.claim_and_send(sub.pk, str(WEEK), now)
    assert (outcome.status, outcome.recipient) == ("sent", "alice@example.org")
    ((rcpts, msg),) = smtp.messages
    assert rcpts == ["alice@example.org"] and msg["To"] == "alice@example.org"
    assert msg["From"] == "Watchpost <digest@watchpost.example.org>"
    assert msg["Subject"] == "Watchpost, week of 7-13 September 2026: 1 status change, 1 new event"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert msg.get_content_type() == "multipart/alternative"
    for part in (text, html):
        assert "84 prisoners of war exchanged" in part and "Prisoner exchanges" in part
        assert (
            f"{SITE}/indicators/prisoner-exchange/" in part
            and "https://news.example/prisoner-exchange/" in part
        )
    assert "↑ Prisoner exchanges: not seen -> advancing" in text
    assert "<img" not in html.lower()

    unsubscribe = re.fullmatch(
        r"<(https://watchpost\.example\.org/digests/unsubscribe/[^>]+/)>", msg["List-Unsubscribe"].strip()
    )
    assert unsubscribe and msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe.group(1) in text and unsubscribe.group(1) in html

    row = DigestDelivery.objects.get(subscription=sub, week=str(WEEK))
    assert (row.status, row.attempts, row.recipient, row.message_id) == (
        "sent",
        1,
        "alice@example.org",
        msg["Message-ID"],
    )

    # The same digest again (a task run twice, a retry after a lost acknowledgement): nothing is sent.
    assert sending.claim_and_send(sub.pk, str(WEEK), now).status == "already-claimed"
    assert len(smtp.messages) == 1

    # A mail client's one-click unsubscribe (RFC 8058): a POST with no CSRF token, no confirmation.
    path = unsubscribe.group(1).removeprefix(SITE)
    Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    sub.refresh_from_db()
    assert not sub.active


def test_an_unsubscribed_user_gets_nothing(smtp, eager, alice, bob):
    start = at(WEEK.monday)
    subscribe(user=alice, now=start)
    bob_sub = subscribe(user=bob, now=start)
    log("evacuation", "advance", WEEK.monday, title="Evacuation from Pokrovsk")

    with time_machine.travel(at(WEEK.sunday + datetime.timedelta(days=1), 8), tick=False):
        from tracker.digests.tasks import send_due_digests

        send_due_digests()
    assert smtp.recipients == ["alice@example.org", "bob@example.org"]
    # Bob follows the link at the bottom of his digest and confirms.
    (bob_mail,) = smtp.to("bob@example.org")
    link = re.search(r"Unsubscribe: (\S+)", bob_mail.get_body(preferencelist=("plain",)).get_content()).group(
        1
    )
    assert Client().post(link.removeprefix(SITE)).status_code == 200

    with time_machine.travel(at(WEEK.sunday + datetime.timedelta(days=8), 8), tick=False):
        send_due_digests()
        # Even a task queued before he unsubscribed sends nothing.
        assert (
            sending.claim_and_send(bob_sub.pk, str(WEEK.next()), datetime.datetime.now(UTC)).status
            == "inactive"
        )
    assert smtp.recipients == ["alice@example.org", "alice@example.org", "bob@example.org"]
    assert not DigestDelivery.objects.filter(subscription=bob_sub, week=str(WEEK.next())).exists()


def test_a_bad_address_does_not_stop_the_others(smtp, eager, alice, bob):
    start = at(WEEK.monday)
    smtp.refuse.add("bounce@nowhere.example")
    log("ceasefire", "advance", WEEK.monday, title="Ceasefire proposal")
    for address in ("desk@news.example", "bounce@nowhere.example", "zz@research.example"):
        subscribe(email=address, now=start)
    subscribe(user=alice, now=start)
    # An address the auth form would not have accepted.
    hostile = UserFactory(username="mallory", email="mallory@example.org\nBcc: everyone@example.org")
    subscribe(user=hostile, now=start)
    nomail = UserFactory(username="carol", email="")
    subscribe(user=nomail, now=start)

    from tracker.digests.tasks import send_due_digests

    with time_machine.travel(at(WEEK.sunday + datetime.timedelta(days=1), 9), tick=False):
        send_due_digests()

    assert smtp.recipients == ["alice@example.org", "desk@news.example", "zz@research.example"]
    status = {
        d.subscription.address: (d.status, d.last_error)
        for d in DigestDelivery.objects.select_related("subscription__user")
    }
    assert status["bounce@nowhere.example"] == (
        "refused",
        "Recipient refused: bounce@nowhere.example: 550 5.1.1 No such user here",
    )
    assert status[hostile.email][0] == "refused" and "Invalid address" in status[hostile.email][1]
    assert "\n" not in status[hostile.email][1]  # one line in the admin and the logs
    assert status[""][0] == "refused" and "carol has no email address" in status[""][1]
    bounced = Subscription.objects.get(email="bounce@nowhere.example")
    assert "550" in bounced.last_error and bounced.active  # recorded for the admin; the next week is tried


def test_a_failed_send_is_recorded_retried_and_does_not_block_the_next_week(smtp, bob):
    sub = subscribe(user=bob, now=at(WEEK.monday))
    log("sanctions-pressure", "advance", WEEK.monday, title="New sanctions package")
    due = at(WEEK.sunday + datetime.timedelta(days=1), 8)

    smtp.temporary_failures = 1
    with pytest.raises(sending.DigestTransportError, match="451"):
        sending.claim_and_send(sub.pk, WEEK, due)
    row = DigestDelivery.objects.get(subscription=sub, week=str(WEEK))
    assert (row.status, row.attempts) == ("failed", 1) and "451 4.3.0" in row.last_error
    sub.refresh_from_db()
    assert "451" in sub.last_error and smtp.messages == []
    # The schedule moved on: the beat does not send this week again, the retry does.
    assert (
        sub.last_sent_week == str(WEEK)
        and schedule.due_subscriptions(due + datetime.timedelta(minutes=15)) == []
    )

    assert sending.claim_and_send(sub.pk, WEEK, due + datetime.timedelta(minutes=1)).status == "sent"
    row.refresh_from_db()
    sub.refresh_from_db()
    assert (row.status, row.attempts, row.last_error, sub.last_error) == ("sent", 2, "", "")
    assert smtp.recipients == ["bob@example.org"]

    # The next week fails for good (server down): it is recorded, and the week after goes out.
    next_due = schedule.due_at(sub, WEEK.next())
    assert schedule.due_subscriptions(next_due) == [(sub.pk, WEEK.next())]
    smtp.temporary_failures = 100
    with pytest.raises(sending.DigestTransportError):
        sending.claim_and_send(sub.pk, WEEK.next(), next_due)
    smtp.temporary_failures = 0
    later = schedule.due_at(sub, WEEK.next().next())
    assert schedule.due_subscriptions(later) == [(sub.pk, WEEK.next().next())]
    assert sending.claim_and_send(sub.pk, WEEK.next().next(), later).status == "sent"
    statuses = dict(DigestDelivery.objects.filter(subscription=sub).values_list("week", "status"))
    assert statuses == {"2026-W37": "sent", "2026-W38": "failed", "2026-W39": "sent"}


def test_connection_refused_is_a_transport_error(db, settings, bob):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()  # a port with nobody listening
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    sub = subscribe(user=bob, now=at(WEEK.monday))
    with pytest.raises(sending.DigestTransportError, match="ConnectionRefusedError"):
        sending.claim_and_send(sub.pk, WEEK, at(WEEK.sunday, 23))
    assert DigestDelivery.objects.get(subscription=sub).status == "failed"


# --- Time: a week boundary and a daylight-saving change ----------------------------------------------


def test_digests_go_out_at_the_local_hour_across_a_week_boundary_and_a_dst_change(smtp, eager, alice):
    from tracker.digests.tasks import send_due_digests

    w12, w13 = IsoWeek(2026, 12), IsoWeek(2026, 13)  # clocks go forward in Paris on Sunday 29 March (W13)
    log("prisoner-exchange", "advance", w12.monday + datetime.timedelta(days=2), title="Exchange in week 12")
    log("evacuation", "advance", w13.sunday, title="Evacuation on the Sunday of week 13")
    paris = subscribe(user=alice, time_zone="Europe/Paris", weekday=0, hour=8, now=at(w12.monday))
    utc = subscribe(email="desk@news.example", time_zone="UTC", weekday=0, hour=8, now=at(w12.monday))

    def run(moment):
        with time_machine.travel(moment, tick=False):
            send_due_digests()
        return [m["Subject"] for _, m in smtp.messages]

    assert run(at(w12.sunday, 23, 59, tz=PARIS)) == []  # the week has not been sent before it ends
    assert run(at(w13.monday, 7, 59, tz=PARIS)) == []  # 06:59 UTC: too early for both
    assert smtp.recipients == []
    run(at(w13.monday, 8, 0, tz=PARIS))  # 08:00 CET = 07:00 UTC: Paris only
    assert smtp.recipients == ["alice@example.org"]
    run(at(w13.monday, 8, 0, tz=UTC))
    run(at(w13.monday, 8, 15, tz=UTC))  # the next beat: nothing more
    assert smtp.recipients == ["alice@example.org", "desk@news.example"]
    (first,) = smtp.to("alice@example.org")
    assert "Exchange in week 12" in first.get_body(("plain",)).get_content()
    assert "week 13" not in first.get_body(("plain",)).get_content()

    # After the change, 08:00 in Paris is 06:00 UTC (it would be 07:00 if the offset were kept).
    assert run(at(w13.sunday + datetime.timedelta(days=1), 5, 59, tz=UTC)) and len(smtp.messages) == 2
    run(at(w13.sunday + datetime.timedelta(days=1), 6, 0, tz=UTC))
    assert smtp.recipients == ["alice@example.org", "alice@example.org", "desk@news.example"]
    second = smtp.to("alice@example.org")[1]
    assert "Evacuation on the Sunday of week 13" in second.get_body(("plain",)).get_content()
    assert "Exchange in week 12" not in second.get_body(("plain",)).get_content()
    run(at(w13.sunday + datetime.timedelta(days=1), 8, 0, tz=UTC))
    assert len(smtp.to("desk@news.example")) == 2

    assert deliveries() == [
        ("", "2026-W12", "sent", 1),
        ("", "2026-W13", "sent", 1),
        ("desk@news.example", "2026-W12", "sent", 1),
        ("desk@news.example", "2026-W13", "sent", 1),
    ]
    paris.refresh_from_db()
    utc.refresh_from_db()
    assert paris.next_due_at == at(IsoWeek(2026, 14).next().monday, 8, tz=PARIS)
    assert (paris.last_sent_week, utc.last_sent_week) == ("2026-W13", "2026-W13")


def test_skip_empty_weeks_and_missed_weeks(smtp, eager, bob):
    from tracker.digests.tasks import send_due_digests

    quiet = subscribe(email="quiet@example.org", skip_empty=True, now=at(WEEK.monday))
    subscribe(user=bob, now=at(WEEK.monday))
    with time_machine.travel(at(WEEK.next().monday, 9), tick=False):
        send_due_digests()
    assert smtp.recipients == ["bob@example.org"]  # bob gets "nothing new"; quiet's week is skipped
    assert "nothing new" in smtp.messages[0][1]["Subject"]
    assert DigestDelivery.objects.get(subscription=quiet).status == DeliveryStatus.SKIPPED

    # Three weeks without a beat: only the latest week is sent, once.
    log(
        "peace-framework",
        "advance",
        WEEK.monday + datetime.timedelta(days=22),
        title="Draft framework tabled",
    )
    with time_machine.travel(at(WEEK.monday + datetime.timedelta(days=29), 9), tick=False):
        send_due_digests()
        send_due_digests()
    assert smtp.recipients == ["bob@example.org", "bob@example.org", "quiet@example.org"]
    assert {m["Subject"] for m in smtp.to("quiet@example.org")} == {
        "Watchpost, week of 28 September - 4 October 2026: 1 status change, 1 new event"
    }


# --- The operators' command ---------------------------------------------------------------------------


def test_send_digests_command_sends_a_week_once_and_reports(smtp, alice, capsys):
    log("second-summit", "advance", WEEK.monday, title="Budapest summit date set")
    smtp.refuse.add("bounce@nowhere.example")
    subscribe(user=alice, now=at(WEEK.monday))
    subscribe(email="bounce@nowhere.example", now=at(WEEK.monday))
    gone = subscribe(email="gone@example.org", now=at(WEEK.monday))
    schedule.unsubscribe(gone.pk, now=at(WEEK.monday))

    call_command("send_digests", "--week", str(WEEK))
    out = capsys.readouterr().out
    assert "2026-W37 subscription" in out and "<alice@example.org>: sent" in out
    assert "<bounce@nowhere.example>: refused (Recipient refused" in out
    assert "Done: 1 refused, 1 sent." in out
    call_command("send_digests", "--week", str(WEEK))
    assert "Done: 2 already-claimed." in capsys.readouterr().out
    assert smtp.recipients == ["alice@example.org"]


def test_send_digests_command_fails_loudly_when_the_server_fails(smtp, bob):
    subscribe(user=bob, now=at(WEEK.monday))
    smtp.temporary_failures = 1
    with pytest.raises(CommandError, match="1 digest failed on the mail transport"):
        call_command("send_digests", "--week", str(WEEK))
    call_command("send_digests", "--week", str(WEEK))  # run again: the failed one goes out
    assert smtp.recipients == ["bob@example.org"]


def test_send_digests_command_with_no_subscriber(db, capsys):
    call_command("send_digests")
    assert capsys.readouterr().out.strip() == "No digest to send."


# --- Two real workers over Redis ----------------------------------------------------------------------


@pytest.fixture
def worker_env(smtp, monkeypatch):
    """Mail settings for worker subprocesses (they read the environment like production does)."""
    env = {
        "EMAIL_BACKEND": "smtp",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_USE_TLS": "0",
        "EMAIL_USE_SSL": "0",
        "DEFAULT_FROM_EMAIL": "Watchpost <digest@watchpost.example.org>",
        "SITE_URL": SITE,
        "WATCHPOST_DIGEST_RETRY_BACKOFF": "1",
        "WATCHPOST_DIGEST_RETRY_BACKOFF_MAX": "2",
        "LOG_JSON": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def two_workers(transactional_db, worker_env, request, tmp_path):
    """The conftest worker plus a second one on the same queue, same database, same SMTP server."""
    app = request.getfixturevalue("celery_worker")
    queue = app.conf.task_default_queue
    env = conftest.worker_env(app.conf.broker_url, queue)
    log_path = tmp_path / "second-worker.log"
    proc = conftest.start_worker(queue, env, log_path, name=f"second-{queue}")
    try:
        deadline = time.monotonic() + 60
        names = set()
        while len(names) < 2:  # each ping waits up to 1 s for the workers' replies
            assert time.monotonic() < deadline, f"workers not up: {names}\n{log_path.read_text()[-3000:]}"
            assert proc.poll() is None, log_path.read_text()[-3000:]
            names = {name for reply in app.control.ping(timeout=1.0) for name in reply if queue in name}
        yield app
    finally:
        conftest.stop_process(proc)


@pytest.mark.services
@pytest.mark.slow
def test_two_workers_over_redis_send_each_digest_once(two_workers, smtp, transactional_db):
    from tracker.digests.tasks import send_digest, send_due_digests

    smtp.delay = 0.05
    now = datetime.datetime.now(UTC)
    addresses = [f"reader{i}@example.org" for i in range(8)]
    subs = [subscribe(email=a, now=now - datetime.timedelta(days=30)) for a in addresses]
    week = schedule.latest_due_week(subs[0], now)
    assert Subscription.objects.filter(next_due_at__lte=now).count() == 8

    # The beat fires twice, and every digest is also queued twice by hand: up to 32 tasks for 8 digests.
    beats = [send_due_digests.delay(), send_due_digests.delay()]
    direct = [send_digest.delay(sub.pk, str(week)) for sub in subs for _ in range(2)]
    dispatched = [tid for beat in beats for tid in beat.get(timeout=60)["dispatched"]]
    results = [r.get(timeout=60) for r in direct]
    results += [two_workers.AsyncResult(tid).get(timeout=60) for tid in dispatched]

    assert smtp.recipients == sorted(addresses)  # each one exactly once
    assert sorted(r["status"] for r in results).count("sent") == 8
    assert {r["status"] for r in results} == {"sent", "already-claimed"}
    assert len({r["worker"] for r in results}) == 2  # both workers took part
    assert deliveries() == sorted((a, str(week), "sent", 1) for a in addresses)


@pytest.mark.services
@pytest.mark.slow
def test_a_worker_retries_a_temporary_failure_with_backoff(transactional_db, worker_env, smtp, request):
    app = request.getfixturevalue("celery_worker")
    from tracker.digests.tasks import send_digest

    smtp.temporary_failures = 2
    sub = subscribe(email="desk@news.example", now=at(WEEK.monday))
    result = send_digest.delay(sub.pk, str(WEEK))
    outcome = result.get(timeout=60)
    assert app is not None and outcome["status"] == "sent"
    assert smtp.recipients == ["desk@news.example"]
    row = DigestDelivery.objects.get(subscription=sub)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, "")


def test_with_no_mail_server_digests_are_written_to_a_folder(db, settings, tmp_path, bob):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    sub = subscribe(user=bob, now=at(WEEK.monday))
    assert sending.claim_and_send(sub.pk, WEEK, at(WEEK.sunday, 23)).status == "sent"
    (written,) = (tmp_path / "mail").iterdir()
    msg = email.message_from_bytes(written.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "bob@example.org" and msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Nothing new this week" in msg.get_body(("plain",)).get_content()
