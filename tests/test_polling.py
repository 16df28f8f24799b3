"""Polling end to end against real HTTP servers on 127.0.0.1: health recorded on the feed, backoff,
Retry-After, adaptive intervals, hostile feeds, and one run through a real Celery worker over Redis."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest

from tests.factories import FeedFactory
from tests.helpers import rss
from tracker.feeds import schedule
from tracker.feeds.models import Entry, Feed, Story
from tracker.feeds.schedule import claim_due_feeds
from tracker.pipeline.pipeline import enrich_entries, poll_feed

NOW = datetime(2025, 10, 2, 12, 0, tzinfo=UTC)


FEED = rss(
    ("Russia and Ukraine swap 84 prisoners of war", "https://wire.example.com/a"),
    ("EU adopts 19th sanctions package against Russia", "https://wire.example.com/b"),
)


@pytest.fixture
def local(settings):
    settings.FEEDS_SSRF_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.FEEDS_READ_TIMEOUT = 2
    settings.FEEDS_TOTAL_TIMEOUT = 10
    return settings


def make_feed(url, **kw) -> Feed:
    return FeedFactory(url=url, **{"title": "Test", **kw})


def test_first_poll_stores_entries_and_health(db, srv, local):
    srv.route("/f", body=FEED, etag='"v1"', last_modified="Thu, 02 Oct 2025 10:00:00 GMT")
    feed = make_feed(srv.url("/f"))
    out = poll_feed(feed.id, NOW)
    assert (out.status, out.entries, out.new) == ("ok", 2, 2)
    feed.refresh_from_db()
    assert feed.last_fetched_at == NOW and feed.last_success_at == NOW
    assert feed.consecutive_failures == 0 and feed.last_error_kind == ""
    assert feed.etag == '"v1"' and feed.last_modified == "Thu, 02 Oct 2025 10:00:00 GMT"
    assert feed.next_poll_at == NOW + timedelta(seconds=feed.poll_interval)
    assert feed.last_new_entries == 2
    assert sorted(Entry.objects.filter(feed=feed).values_list("title", flat=True)) == [
        "EU adopts 19th sanctions package against Russia",
        "Russia and Ukraine swap 84 prisoners of war",
    ]


def test_second_poll_is_conditional_and_304_stores_nothing(db, srv, local):
    srv.route("/f", body=FEED, etag='"v1"')
    feed = make_feed(srv.url("/f"))
    poll_feed(feed.id, NOW)
    interval = Feed.objects.get(pk=feed.pk).poll_interval
    out = poll_feed(feed.id, NOW + timedelta(hours=1))
    assert out.status == "not_modified"
    assert srv.headers_for("/f")[-1]["If-None-Match"] == '"v1"'
    feed.refresh_from_db()
    assert feed.last_http_status == 304 and feed.last_success_at == NOW + timedelta(hours=1)
    assert feed.poll_interval > interval  # quiet feed: polled less often
    assert Entry.objects.count() == 2


def test_repoll_without_validators_dedups(db, srv, local):
    srv.route("/f", body=FEED)
    feed = make_feed(srv.url("/f"))
    poll_feed(feed.id, NOW)
    out = poll_feed(feed.id, NOW + timedelta(minutes=30))
    assert (out.status, out.entries, out.new) == ("ok", 2, 0)
    assert Entry.objects.count() == 2


def test_busy_feed_is_polled_more_often(db, srv, local):
    items = [
        (f"Report number {i} on the front line near Pokrovsk", f"https://w.example/{i}") for i in range(8)
    ]
    srv.route("/f", body=rss(*items))
    feed = make_feed(srv.url("/f"), poll_interval=1800)
    poll_feed(feed.id, NOW)
    feed.refresh_from_db()
    assert feed.poll_interval == 900
    assert feed.next_poll_at == NOW + timedelta(seconds=900)


def test_429_with_retry_after_is_honoured_and_nothing_is_lost(db, srv, local):
    srv.route("/f", body=FEED)
    feed = make_feed(srv.url("/f"))
    poll_feed(feed.id, NOW)
    srv.route("/f", status=429, headers={"Retry-After": "7200"})
    out = poll_feed(feed.id, NOW + timedelta(hours=1))
    assert (out.status, out.error_kind) == ("error", "rate_limited")
    feed.refresh_from_db()
    assert feed.consecutive_failures == 1
    assert feed.last_error_kind == "rate_limited"
    assert "HTTP 429" in feed.last_error_message
    assert feed.next_poll_at >= NOW + timedelta(hours=3)  # 1 h later + Retry-After 2 h
    assert feed.last_success_at == NOW
    assert Entry.objects.count() == 2


def test_500s_back_off_exponentially_with_jitter(db, srv, local):
    srv.route("/f", status=500, body=b"boom")
    feed = make_feed(srv.url("/f"), poll_interval=600)
    delays = []
    t = NOW
    for _ in range(4):
        poll_feed(feed.id, t)
        feed.refresh_from_db()
        delays.append((feed.next_poll_at - t).total_seconds())
        t = feed.next_poll_at
    assert feed.consecutive_failures == 4
    assert "HTTP 500" in feed.last_error_message
    for n, d in enumerate(delays):
        base = 600 * 2**n
        assert 0.8 * base <= d <= 1.2 * base, (n, d)


def test_backoff_is_capped(settings):
    settings.FEEDS_MAX_BACKOFF = 3600
    assert schedule.backoff_delay(30, 600) <= timedelta(seconds=3600 * 1.2)


def test_timeout_is_recorded(db, srv, local):
    local.FEEDS_READ_TIMEOUT = 0.3
    srv.route("/f", body=FEED, stall=5)
    feed = make_feed(srv.url("/f"))
    out = poll_feed(feed.id, NOW)
    assert out.error_kind == "timeout"
    feed.refresh_from_db()
    assert feed.last_error_kind == "timeout" and "stopped sending data" in feed.last_error_message


def test_redirect_to_private_address_is_refused(db, srv, local):
    srv.route("/f", status=302, redirect_to="http://169.254.169.254/latest/meta-data/")
    feed = make_feed(srv.url("/f"))
    poll_feed(feed.id, NOW)
    feed.refresh_from_db()
    assert feed.last_error_kind == "blocked_address"
    assert "169.254.169.254" in feed.last_error_message


def test_ssrf_guard_is_on_by_default(db, srv, settings):
    settings.FEEDS_SSRF_ALLOWED_HOSTS = []
    srv.route("/f", body=FEED)
    feed = make_feed(srv.url("/f"))
    poll_feed(feed.id, NOW)
    feed.refresh_from_db()
    assert feed.last_error_kind == "blocked_address"
    assert srv.requests == []


def test_50_mb_body_is_refused(db, srv, local):
    srv.route("/f", body=FEED[:100], generated_size=50 * 1024 * 1024)
    feed = make_feed(srv.url("/f"))
    poll_feed(feed.id, NOW)
    feed.refresh_from_db()
    assert feed.last_error_kind == "too_large"


def test_gzip_and_wrong_charset(db, srv, local):
    body = rss(("Россия и Украина обменялись 84 военнопленными", "https://ru.example/1"), lang="ru")
    srv.route(
        "/f", body=body.decode().encode("cp1251"), gzip=True, content_type="application/xml; charset=utf-8"
    )
    feed = make_feed(srv.url("/f"), language="ru")
    out = poll_feed(feed.id, NOW)
    assert out.status == "ok", out.error_message
    assert Entry.objects.get().title == "Россия и Украина обменялись 84 военнопленными"
    assert "gzip" in srv.headers_for("/f")[0]["Accept-Encoding"]


def test_hostile_feeds_fail_alone_and_others_go_on(db, srv, local):
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
        b'<rss version="2.0"><channel><title>&c;</title><item><title>&c;</title></item></channel></rss>'
    )
    srv.route("/bomb", body=bomb)
    srv.route("/html", body=b"<html><body><script>alert(1)</script>Not a feed</body></html>")
    srv.route("/gz", raw_gzip=b"\x1f\x8b\x08\x00broken")
    srv.route("/good", body=FEED)
    feeds = [make_feed(srv.url(p), title=p) for p in ("/bomb", "/html", "/gz", "/good")]
    for f in feeds:
        poll_feed(f.id, NOW)
    kinds = {f.title: Feed.objects.get(pk=f.pk).last_error_kind for f in feeds}
    assert kinds == {"/bomb": "parse:xml_entities", "/html": "parse:not_a_feed", "/gz": "decode", "/good": ""}
    assert Entry.objects.filter(feed=feeds[3]).count() == 2
    assert Entry.objects.filter(feed__in=feeds[:3]).count() == 0


def test_html_in_entries_is_sanitised_before_storage(db, srv, local):
    body = FEED.replace(
        b"<description>Russia and Ukraine swap 84 prisoners of war.</description>",
        b"<description><![CDATA[<p onmouseover='x()'>Swap <script>steal()</script>"
        b"<a href='javascript:alert(1)'>done</a></p>]]></description>",
    )
    srv.route("/f", body=body)
    poll_feed(make_feed(srv.url("/f")).id, NOW)
    summary = Entry.objects.get(title__startswith="Russia").summary
    assert "<script" not in summary and "onmouseover" not in summary and "javascript:" not in summary
    assert "Swap" in summary


def test_inactive_or_missing_feed_is_skipped(db):
    feed = make_feed("https://example.org/rss", active=False)
    assert poll_feed(feed.id, NOW).status == "skipped"
    assert poll_feed(999_999, NOW).status == "skipped"


def test_claim_due_feeds_claims_each_feed_once(db):
    due = make_feed("https://a.example/rss", next_poll_at=NOW - timedelta(minutes=1))
    never = make_feed("https://b.example/rss")
    make_feed("https://c.example/rss", next_poll_at=NOW + timedelta(hours=1))
    make_feed("https://d.example/rss", active=False)
    assert sorted(claim_due_feeds(NOW)) == sorted([due.id, never.id])
    assert claim_due_feeds(NOW) == []  # claimed: a second beat enqueues nothing


def test_reset_backoff(db):
    feed = make_feed("https://a.example/rss", consecutive_failures=5, next_poll_at=NOW + timedelta(days=1))
    schedule.reset_backoff([feed.id], NOW)
    feed.refresh_from_db()
    assert (feed.consecutive_failures, feed.next_poll_at) == (0, NOW)


def test_beat_schedule_enqueues_due_feeds(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["feeds-enqueue-due"]
    assert entry["task"] == "watchpost.pipeline.enqueue_due_feeds"


@pytest.fixture
def worker_env(monkeypatch):
    # Read by the celery_worker fixture when it copies os.environ for the subprocess.
    monkeypatch.setenv("FEEDS_SSRF_ALLOWED_HOSTS", "127.0.0.1")


@pytest.mark.services
def test_poll_through_real_celery_worker_over_redis(worker_env, celery_worker, srv, settings):
    from tracker.pipeline.tasks import enqueue_due_feeds_task, poll_feed_task

    srv.route("/f", body=gzip.compress(FEED), headers={"Content-Encoding": "gzip"}, etag='"w1"')
    srv.route("/bad", status=503, headers={"Retry-After": "600"})
    good = make_feed(srv.url("/f"))
    bad = make_feed(srv.url("/bad"), title="bad")
    result = poll_feed_task.delay(good.id).get(timeout=60)
    assert (result["status"], result["new"]) == ("ok", 2)
    result = poll_feed_task.delay(bad.id).get(timeout=60)
    assert (result["status"], result["error_kind"]) == ("error", "unavailable")
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.etag == '"w1"' and good.consecutive_failures == 0
    assert bad.consecutive_failures == 1 and "HTTP 503" in bad.last_error_message
    assert Entry.objects.filter(feed=good).count() == 2
    assert Story.objects.count() == 2
    # The beat task: nothing is due right now (both feeds were just scheduled), so nothing is enqueued.
    assert enqueue_due_feeds_task.delay().get(timeout=60) == 0


def test_admin_shows_feed_health_and_resets_backoff(client, admin_user):
    failing = make_feed(
        "https://a.example/rss",
        title="Failing wire",
        consecutive_failures=3,
        last_error_kind="timeout",
        last_error_message="a.example stopped sending data for more than 20s",
        next_poll_at=NOW + timedelta(days=1),
    )
    make_feed("https://b.example/rss", title="Healthy wire", last_success_at=NOW, last_fetched_at=NOW)
    client.force_login(admin_user)
    page = client.get("/admin/feeds/feed/?health=failing")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Failing wire" in text and "Healthy wire" not in text
    assert "stopped sending data" in text
    resp = client.post(
        "/admin/feeds/feed/", {"action": "reset_backoff", "_selected_action": [failing.pk]}, follow=True
    )
    assert "Backoff reset for 1 feed(s)." in resp.content.decode()
    failing.refresh_from_db()
    assert failing.consecutive_failures == 0


def test_a_matching_failure_keeps_the_entries_pending_and_a_later_run_enriches_them(
    db, srv, local, monkeypatch
):
    from tracker.pipeline import pipeline

    def broken(entry_ids, now, analyses):
        raise RuntimeError("rules table missing")

    srv.route("/f", body=FEED, etag='"v1"')
    feed = make_feed(srv.url("/f"))
    out = poll_feed(feed.id, NOW)
    assert (out.status, out.new) == ("ok", 2)  # storing does not wait for matching
    feed.refresh_from_db()
    assert feed.etag == '"v1"' and feed.consecutive_failures == 0

    monkeypatch.setattr(pipeline, "propose_for_entries", broken)
    failed = enrich_entries(out.new_ids, NOW)
    assert (failed.failed, failed.enriched) == (2, 0) and "rules table missing" in failed.error
    pending = Entry.objects.filter(enriched_at__isnull=True)
    assert pending.count() == 2 and {e.enrich_attempts for e in pending} == {1}
    assert "rules table missing" in pending.first().enrich_error
    assert sorted(pipeline.retry_unenriched(NOW)) == sorted(out.new_ids)  # nothing lost, nothing skipped

    monkeypatch.setattr(pipeline, "propose_for_entries", lambda ids, now, analyses: len(ids))
    done = enrich_entries(pipeline.retry_unenriched(NOW), NOW + timedelta(minutes=10))
    assert (done.enriched, done.proposed) == (2, 2)
    assert not Entry.objects.filter(enriched_at__isnull=True).exists()
    assert enrich_entries(out.new_ids, NOW + timedelta(minutes=20)).claimed == 0  # safe to run twice


def test_admin_poll_now_polls_the_feed(client, admin_user, srv, local, monkeypatch):
    from config.celery_app import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)  # the task runs inline, no broker
    srv.route("/f", body=FEED)
    feed = make_feed(srv.url("/f"), next_poll_at=NOW + timedelta(days=3))
    client.force_login(admin_user)
    resp = client.post(
        "/admin/feeds/feed/", {"action": "poll_now", "_selected_action": [feed.pk]}, follow=True
    )
    assert "1 feed(s) queued for polling." in resp.content.decode()
    assert Entry.objects.filter(feed=feed).count() == 2
    feed.refresh_from_db()
    assert feed.last_success_at is not None and feed.consecutive_failures == 0


def test_admin_refuses_non_http_feed_and_unknown_language(client, admin_user):
    client.force_login(admin_user)
    resp = client.post(
        "/admin/feeds/feed/add/",
        {
            "url": "ftp://example.org/feed.xml",
            "title": "x",
            "language": "de",
            "poll_interval": 1800,
            "active": "on",
        },
    )
    text = resp.content.decode()
    assert resp.status_code == 200
    assert "http:// or https:// only" in text
    assert "use en, fr, ru or uk" in text
    assert not Feed.objects.exists()


def test_seed_feeds_is_idempotent_and_keeps_user_edits(db):
    import json
    from pathlib import Path

    from tracker.feeds.seeding import FIXTURE, seed_feeds

    rows = json.loads(Path(FIXTURE).read_text(encoding="utf-8"))
    assert {r["language"] for r in rows} == {"en", "fr", "ru", "uk"}
    assert all(r["url"].startswith("https://") for r in rows)
    assert seed_feeds() == {"created": len(rows), "already_present": 0}
    edited = Feed.objects.get(url=rows[0]["url"])
    edited.title, edited.active = "My title", False
    edited.save()
    assert seed_feeds() == {"created": 0, "already_present": len(rows)}
    edited.refresh_from_db()
    assert (edited.title, edited.active) == ("My title", False)
    assert Feed.objects.count() == len(rows)


def test_concurrent_polls_of_feeds_carrying_the_same_stories(transactional_db, srv, local):
    # Like several Celery workers at once: every feed joins the same stories; no deadlock, no loss.
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    shared = [
        "Russia and Ukraine swap 84 prisoners of war",
        "EU adopts 19th sanctions package against Russia",
        "Russia launches 653 drones and 51 missiles at Ukraine",
    ]
    local = [
        "City council approves new tram line",
        "Heatwave expected this weekend",
        "Football derby ends in a draw",
        "Museum opens a new wing",
        "Airline cancels flights over strike",
        "Scientists map the deep sea floor",
    ]
    feeds = []
    for n in range(6):
        items = [(t, f"https://outlet{n}.example/{i}") for i, t in enumerate(shared)]
        items.append((local[n], f"https://outlet{n}.example/x"))
        # Each outlet writes its own summary (identical copy would be deduplicated by content hash).
        body = rss(*items).replace(b".</description>", f", outlet {n} reports.</description>".encode())
        srv.route(f"/f{n}", body=body)
        feeds.append(make_feed(srv.url(f"/f{n}"), title=f"outlet {n}"))

    def poll(feed_id):
        try:
            return poll_feed(feed_id, NOW)
        finally:
            connection.close()

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(poll, [f.id for f in feeds]))
    assert [(r.status, r.new) for r in results] == [("ok", 4)] * 6, [r.error_message for r in results]
    assert Entry.objects.count() == 24
    for title in shared:
        story = Story.objects.get(entries__title=title, entries__feed=feeds[0])
        assert story.outlet_count == 6
        assert story.entries.count() == 6
    assert Story.objects.count() == 3 + 6


def test_a_feed_that_moved_permanently_is_polled_at_its_new_address(db, srv, local):
    srv.route("/old", status=301, redirect_to="/new")
    srv.route("/new", body=FEED)
    feed = make_feed(srv.url("/old"))
    assert poll_feed(feed.id, NOW).new == 2
    feed.refresh_from_db()
    assert feed.url == srv.url("/new")
    srv.route("/old", status=404)  # the old address is gone; the feed no longer needs it
    assert poll_feed(feed.id, NOW + timedelta(hours=1)).status == "ok"


def test_a_temporary_redirect_or_a_taken_address_leaves_the_feed_url_alone(db, srv, local):
    srv.route("/tmp", status=302, redirect_to="/new")
    srv.route("/old", status=308, redirect_to="/new")
    srv.route("/new", body=FEED)
    temporary = make_feed(srv.url("/tmp"))
    moved = make_feed(srv.url("/old"))
    make_feed(srv.url("/new"), title="Already there")
    poll_feed(temporary.id, NOW)
    poll_feed(moved.id, NOW)
    assert Feed.objects.get(pk=temporary.pk).url == srv.url("/tmp")
    assert Feed.objects.get(pk=moved.pk).url == srv.url("/old")


def test_check_beat_says_whether_beat_ran_its_every_minute_entry(db):
    import time_machine
    from django.core.management import CommandError, call_command
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    with pytest.raises(CommandError, match="beat has not started yet"):
        call_command("check_beat")
    every_minute = IntervalSchedule.objects.create(every=60, period="seconds")
    task = PeriodicTask.objects.create(
        name="feeds-enqueue-due", task="watchpost.pipeline.enqueue_due_feeds", interval=every_minute
    )
    with pytest.raises(CommandError, match="never run"):
        call_command("check_beat")
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=NOW)
    with time_machine.travel(NOW + timedelta(seconds=90), tick=False):
        out = StringIO()
        call_command("check_beat", stdout=out)
        assert "beat ok" in out.getvalue() and "90 s ago" in out.getvalue()
    with time_machine.travel(NOW + timedelta(minutes=15), tick=False):
        with pytest.raises(CommandError, match="900 s ago"):
            call_command("check_beat")
