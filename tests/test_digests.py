"""Weekly digests: schedule, contents, templates, preview, subscribe/unsubscribe pages, the command's errors.

Sending over SMTP, exactly-once with real workers and time travel are in test_digest_sending.py.
"""

import datetime
import functools
import re
import zoneinfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from indicators.services import review_event
from tests import helpers
from tests.helpers import at, run_python
from tracker.digests import content, emails, schedule, sending, tokens
from tracker.digests.models import DigestDelivery, Subscription
from tracker.digests.weeks import IsoWeek

UTC = datetime.UTC
PARIS = zoneinfo.ZoneInfo("Europe/Paris")
SITE = "https://watchpost.example.org"
WEEK = IsoWeek(2026, 37)  # Monday 7 to Sunday 13 September 2026
D = datetime.date


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


# Events are recorded at 18:00 UTC on the day they happen; subscriptions a month before WEEK.
log = functools.partial(helpers.log, hour=18)
subscribe = functools.partial(helpers.subscribe, now=at(WEEK.monday - datetime.timedelta(days=30)))


# --- Weeks and schedule -------------------------------------------------------------------------------


def test_iso_weeks_parse_and_explain_mistakes():
    assert str(IsoWeek.parse("2026-w1")) == "2026-W01"
    assert IsoWeek.parse("2026W37") == WEEK
    assert (WEEK.monday, WEEK.sunday) == (D(2026, 9, 7), D(2026, 9, 13))
    assert str(IsoWeek(2026, 1).prev()) == "2025-W52" and str(IsoWeek(2020, 52).next()) == "2020-W53"
    with pytest.raises(ValueError, match="YYYY-Www, for example 2025-W36"):
        IsoWeek.parse("2026-09-07")
    with pytest.raises(ValueError, match="2026 has ISO weeks W01 to W53"):
        IsoWeek.parse("2026-W54")
    with pytest.raises(ValueError, match="2025 has ISO weeks W01 to W52"):
        IsoWeek.parse("2025-W53")


def test_due_time_follows_the_subscribers_zone_and_daylight_saving(db, bob):
    sub = subscribe(bob, time_zone="Europe/Paris", weekday=0, hour=8)
    # Week 13 of 2026 ends on Sunday 29 March, the night clocks go forward: Monday 08:00 is 06:00 UTC.
    assert schedule.due_at(sub, IsoWeek(2026, 12)) == at(D(2026, 3, 23), 7)
    assert schedule.due_at(sub, IsoWeek(2026, 13)) == at(D(2026, 3, 30), 6)
    # An hour the spring jump skips (Sunday 02:00) falls at the moment of the jump.
    sub.weekday, sub.hour = 6, 2
    assert schedule.due_at(sub, IsoWeek(2026, 12)) == at(D(2026, 3, 29), 1)
    assert schedule.due_at(sub, IsoWeek(2026, 12)).astimezone(PARIS).hour == 3

    # In autumn (Sunday 25 October) 08:00 goes back to 07:00 UTC; 02:00 that Sunday happens twice: the first.
    sub.weekday, sub.hour = 0, 8
    assert schedule.due_at(sub, IsoWeek(2026, 43)) == at(D(2026, 10, 26), 7)
    assert schedule.due_at(sub, IsoWeek(2026, 42)) == at(D(2026, 10, 19), 6)
    sub.weekday, sub.hour = 6, 2
    assert schedule.due_at(sub, IsoWeek(2026, 42)) == at(D(2026, 10, 25), 0)

    sub.weekday, sub.hour = 0, 8
    assert schedule.latest_due_week(sub, at(D(2026, 3, 30), 5, UTC)) == IsoWeek(2026, 12)
    assert schedule.latest_due_week(sub, at(D(2026, 3, 30), 6, UTC)) == IsoWeek(2026, 13)


def test_a_new_subscription_waits_for_its_first_due_time(db, bob):
    sub = Subscription(user=bob, time_zone="America/New_York", weekday=4, hour=17)
    schedule.save_subscription(sub, now=at(D(2026, 9, 9), 12))  # a Wednesday
    # The first digest is due that Friday at 17:00 in New York and covers the week that ended on Sunday.
    assert sub.next_due_at == datetime.datetime(2026, 9, 11, 17, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    assert schedule.next_due(sub, at(D(2026, 9, 9), 12))[0] == WEEK.prev()
    # Once it is sent, the next one covers the week of the subscription.
    assert schedule.next_due(sub, at(D(2026, 9, 11), 22))[0] == WEEK


# --- Model validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "x@example.org", "time_zone": "Europe/Pari"}, "Unknown time zone 'Europe/Pari'"),
        ({"email": "x@example.org", "time_zone": "../../etc/passwd"}, "Unknown time zone"),
        ({"email": "x@example.org", "categories": ["ground", "sports"]}, "Unknown category: sports"),
        ({"email": "x@example.org", "hour": 24}, "less than or equal to 23"),
        ({"email": "not an address"}, "valid email address"),
        ({}, "Enter an external address, or choose a user"),
    ],
)
def test_subscription_validation_says_what_to_fix(db, fields, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        Subscription(**fields).full_clean()


def test_categories_are_kept_in_catalogue_order_and_empty_means_all(db):
    sub = Subscription(email="x@example.org", categories=["coercive", "ground"])
    sub.full_clean()
    assert sub.categories == ["ground", "coercive"] and sub.followed == ["ground", "coercive"]
    assert Subscription(email="y@example.org").followed == ["ground", "humanitarian", "political", "coercive"]


# --- Contents -----------------------------------------------------------------------------------------


@pytest.fixture
def week_events(db, alice):
    """A week with status changes, corroborated events, a late confirmation, and a pending proposal."""
    tue, thu = WEEK.monday + datetime.timedelta(days=1), WEEK.monday + datetime.timedelta(days=3)
    log(
        "prisoner-exchange",
        "advance",
        tue,
        title="84 prisoners of war exchanged",
        sources=[
            {"url": "https://ria.example/exchange", "outlet": "RIA"},
            {"url": "https://kyiv.example/swap", "outlet": "Kyiv Independent"},
            {"url": "https://kyiv.example/swap-update", "outlet": "Kyiv Independent"},
        ],
    )
    log("strike-reduction", "advance", WEEK.monday - datetime.timedelta(days=20))
    log("strike-reduction", "reverse", thu, title="Record drone attack on Kyiv")
    log("sanctions-pressure", "advance", thu, title="New EU sanctions package")  # coercive
    # Happened the week before, confirmed during this week after last week's digest: shown as late.
    late = log(
        "evacuation",
        "advance",
        WEEK.monday - datetime.timedelta(days=2),
        title="Evacuation from Kupiansk",
        origin="feed",
    )
    review_event(
        late.pk, action="confirm", actor_id=alice.pk, now=at(WEEK.monday + datetime.timedelta(days=2))
    )
    # Confirmed before last week's digest went out: it was in that digest, not in this one.
    old = log(
        "evacuation", "advance", WEEK.monday - datetime.timedelta(days=5), title="Old news", origin="feed"
    )
    review_event(
        old.pk, action="confirm", actor_id=alice.pk, now=at(WEEK.monday - datetime.timedelta(days=1))
    )
    # A proposal awaiting review, and a confirmed event of the following week.
    log("prisoner-exchange", "advance", thu, title="Proposal awaiting review", origin="feed")
    log("ceasefire", "advance", WEEK.sunday + datetime.timedelta(days=1), title="Next week")


def test_digest_lists_changes_with_arrows_new_events_and_pending_for_analysts(db, alice, week_events):
    sub = subscribe(alice, categories=["ground", "humanitarian"])
    digest = content.build_digest(sub.pk, WEEK, at(WEEK.sunday + datetime.timedelta(days=1), 9))

    assert [s.category for s in digest.sections] == ["ground", "humanitarian"]
    ground, humanitarian = digest.sections
    assert [(c.indicator.slug, c.before_label, c.after_label, c.trend.symbol) for c in ground.changes] == [
        ("strike-reduction", "advancing", "reversed", "↓")
    ]
    assert [
        (c.indicator.slug, c.before_label, c.after_label, c.trend.symbol) for c in humanitarian.changes
    ] == [("prisoner-exchange", "not seen", "advancing", "↑")]
    assert [i.event.title for i in ground.events] == ["Record drone attack on Kyiv"]
    items = {i.event.title: i for i in humanitarian.events}
    assert sorted(items) == ["84 prisoners of war exchanged", "Evacuation from Kupiansk"]
    assert (
        items["84 prisoners of war exchanged"].corroboration,
        len(items["84 prisoners of war exchanged"].sources),
    ) == (2, 3)
    assert (items["Evacuation from Kupiansk"].late, items["84 prisoners of war exchanged"].late) == (
        True,
        False,
    )
    assert (humanitarian.pending, ground.pending, digest.pending_total) == (1, 0, 1)
    assert (digest.change_count, digest.event_count, digest.is_empty) == (2, 3, False)
    stages = {s.stage: (s.advancing, s.reversed, s.total) for s in digest.stages}
    assert stages == {1: (2, 0, 3), 2: (0, 1, 5), 3: (0, 0, 3)}


def test_viewers_and_external_addresses_get_no_review_counts(db, bob, week_events):
    for sub in (subscribe(bob), subscribe(email="desk@news.example")):
        digest = content.build_digest(sub.pk, WEEK, at(WEEK.sunday, 23))
        assert digest.pending_total is None and all(s.pending is None for s in digest.sections)
        assert len(digest.sections) == 4 and digest.event_count == 4  # all categories: + the sanctions


def test_a_quiet_week_is_empty(db, bob, week_events):
    digest = content.build_digest(subscribe(bob).pk, IsoWeek(2026, 30), at(D(2026, 8, 1)))
    assert digest.is_empty and (digest.change_count, digest.event_count) == (0, 0)
    subject, text, html = emails.render("digest", {"digest": digest})
    assert "nothing new" in subject and "Nothing new this week" in text and "Nothing new this week" in html


def test_email_parts_subject_links_and_headers(db, alice, week_events):
    sub = subscribe(alice, categories=["ground", "humanitarian"], time_zone="Europe/Paris", hour=7)
    digest = content.build_digest(sub.pk, WEEK, at(WEEK.sunday, 23))
    message = emails.digest("alice@example.org", digest)

    assert message.to == ["alice@example.org"]
    assert message.subject == "Watchpost, week of 7-13 September 2026: 2 status changes, 3 new events"
    text, (html, mimetype) = message.body, message.alternatives[0]
    assert mimetype == "text/html"
    for part in (text, html):
        assert "84 prisoners of war exchanged" in part and "Record drone attack on Kyiv" in part
        assert "New EU sanctions package" not in part  # coercive is not followed
        assert "Carried by 2 outlets" in part and "https://ria.example/exchange" in part
        assert "confirmed this week" in part and "Old news" not in part and "Next week" not in part
        assert f"{SITE}/indicators/prisoner-exchange/" in part and f"{SITE}{reverse('overview')}" in part
        assert digest.unsubscribe_url in part and f"{SITE}/digests/" in part
        assert "1 proposal awaits review" in part
        assert "stage 1 (low-visibility measures) 2 of 3 advancing" in part
        assert "stage 2 (local freeze and verification) 0 of 5 advancing, 1 reversed" in part
        assert "every Monday at 07:00 (Europe/Paris)" in part
    assert "↓ Fewer strikes: advancing -> reversed" in text
    assert "↑ Prisoner exchanges: not seen -> advancing" in text
    assert '<a href="https://watchpost.example.org/indicators/strike-reduction/">Fewer strikes</a>' in html
    assert "<img" not in html.lower() and "{{" not in text + html and "&amp;#" not in html
    assert digest.unsubscribe_url.startswith(f"{SITE}/digests/unsubscribe/")
    headers = message.message()
    assert headers["List-Unsubscribe"] == f"<{digest.unsubscribe_url}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["Message-ID"].endswith("@watchpost.example.org>")


def test_titles_from_feeds_are_escaped_in_html_and_plain_in_text(client, bob):
    title = 'Exchange <script>alert(1)</script> & "swap"'
    log("prisoner-exchange", "advance", WEEK.monday, title=title)
    sub = subscribe(bob)
    digest = content.build_digest(sub.pk, WEEK, at(WEEK.sunday, 23))
    subject, text, html = emails.render("digest", {"digest": digest})
    assert title in text and "<script>" not in html and "&lt;script&gt;" in html
    client.force_login(bob)
    with time_machine.travel(at(WEEK.sunday, 20), tick=False):
        page = client.get(reverse("digests:preview")).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


# --- Pages --------------------------------------------------------------------------------------------


def test_subscribe_change_and_unsubscribe_from_the_web_app(client, bob):
    client.force_login(bob)
    page = client.get(reverse("digests:manage"))
    assert page.status_code == 200 and "You are not subscribed" in page.content.decode()

    form = {
        "weekday": "4",
        "hour": "18",
        "time_zone": "Asia/Tokyo",
        "categories": ["political"],
        "action": "save",
    }
    assert client.post(reverse("digests:manage"), form).status_code == 302
    sub = Subscription.objects.get(user=bob)
    assert (sub.weekday, sub.hour, sub.time_zone, sub.categories, sub.active) == (
        4,
        18,
        "Asia/Tokyo",
        ["political"],
        True,
    )
    assert sub.next_due_at.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo")).strftime("%a %H:%M") == "Fri 18:00"
    page = client.get(reverse("digests:manage")).content.decode()
    assert "You are subscribed" in page and "bob@example.org" in page

    bad = client.post(reverse("digests:manage"), {**form, "time_zone": "Mars/Olympus", "hour": "25"})
    assert bad.status_code == 400
    assert "Select a valid choice. Mars/Olympus is not one of the available choices." in bad.content.decode()
    assert Subscription.objects.get(user=bob).time_zone == "Asia/Tokyo"

    client.post(reverse("digests:manage"), {"action": "unsubscribe"})
    sub.refresh_from_db()
    assert (sub.active, sub.next_due_at) == (False, None) and sub.unsubscribed_at is not None
    assert "You unsubscribed on" in client.get(reverse("digests:manage")).content.decode()

    client.post(reverse("digests:manage"), form)  # subscribing again
    sub.refresh_from_db()
    assert sub.active and sub.unsubscribed_at is None and sub.next_due_at is not None


def test_manage_page_needs_a_login(client):
    page = client.get(reverse("digests:manage"))
    assert page.status_code == 302 and page["Location"].startswith(reverse("login"))


def test_preview_shows_the_next_digest(client, alice, bob, admin_user, week_events):
    sub = subscribe(alice, categories=["humanitarian"])
    client.force_login(alice)
    # On the Saturday of the week: the next digest covers it.
    with time_machine.travel(at(WEEK.monday + datetime.timedelta(days=5)), tick=False):
        page = client.get(reverse("digests:preview"))
    text = page.content.decode()
    assert page.status_code == 200
    assert "week 2026-W37" in text and "Watchpost, week of 7-13 September 2026" in text
    assert "84 prisoners of war exchanged" in text and "Record drone attack" not in text
    assert "srcdoc=" in text and "&lt;!doctype html&gt;" in text  # the HTML part, escaped in the iframe
    assert "Carried by 2 outlets:\n      - RIA: https://ria.example/exchange" in text  # the text part

    client.force_login(bob)
    assert client.get(reverse("digests:preview-subscription", args=[sub.pk])).status_code == 403
    assert client.get(reverse("digests:preview")).status_code == 302  # bob has no subscription
    client.force_login(admin_user)
    assert client.get(reverse("digests:preview-subscription", args=[sub.pk])).status_code == 200


def test_one_click_unsubscribe(db, bob):
    sub = subscribe(bob)
    url = content.build_digest(sub.pk, WEEK, at(WEEK.sunday)).unsubscribe_url.removeprefix(SITE)
    client = Client(enforce_csrf_checks=True)  # a mail client posts with no CSRF token

    page = client.get(url)  # a link scanner following the link does not unsubscribe
    assert page.status_code == 200 and "Stop sending the Watchpost weekly digest to" in page.content.decode()
    assert Subscription.objects.get(pk=sub.pk).active

    done = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "You are unsubscribed" in done.content.decode()
    sub.refresh_from_db()
    assert not sub.active and sub.unsubscribed_at is not None
    assert "already unsubscribed" in client.get(url).content.decode()
    assert client.post(url).status_code == 200  # twice is fine


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-3] + "abc", lambda t: t.upper(), lambda t: "x" + t, lambda t: "junk"]
)
def test_a_forged_or_cut_unsubscribe_link_is_refused(db, bob, mangle):
    sub = subscribe(bob)
    token = tokens.unsubscribe_token(sub)
    page = Client().post(reverse("digests:unsubscribe", args=[mangle(token)]))
    assert page.status_code == 400 and "not valid" in page.content.decode()
    assert Subscription.objects.get(pk=sub.pk).active


def test_a_token_for_a_deleted_subscription_does_not_unsubscribe_its_successor(db, bob):
    sub = subscribe(bob)
    token = tokens.unsubscribe_token(sub)
    sub.delete()
    successor = subscribe(email="new@example.org")
    assert tokens.subscription_from_token(token) is None and successor.active


def test_admin_adds_an_external_address(client, admin_user):
    client.force_login(admin_user)
    form = {
        "email": "desk@news.example",
        "weekday": "0",
        "hour": "9",
        "time_zone": "Europe/Kyiv",
        "active": "on",
        "deliveries-TOTAL_FORMS": "0",  # the read-only inline of deliveries
        "deliveries-INITIAL_FORMS": "0",
    }
    assert client.post(reverse("admin:digests_subscription_add"), form).status_code == 302
    sub = Subscription.objects.get(email="desk@news.example")
    assert sub.user is None and sub.next_due_at is not None and sub.categories == []
    assert client.get(reverse("admin:digests_subscription_changelist")).status_code == 200
    assert client.get(reverse("admin:digests_digestdelivery_changelist")).status_code == 200


# --- The command's errors and dry run -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("week", "message"),
    [
        ("2026-37", "is not an ISO week: write it as YYYY-Www, for example 2025-W36"),
        ("2025-W53", "2025 has ISO weeks W01 to W52"),
        ("2999-W01", "has not ended yet"),
    ],
)
def test_send_digests_refuses_a_bad_week_with_a_clear_message(db, week, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("send_digests", "--week", week)


def test_send_digests_dry_run_claims_and_sends_nothing(db, bob, week_events, mailoutbox, capsys):
    subscribe(bob)
    subscribe(email="quiet@example.org", skip_empty=True, categories=["political"])
    call_command("send_digests", "--week", str(WEEK), "--dry-run")
    out = capsys.readouterr().out
    assert "<bob@example.org>: would send (3 status changes, 4 new events)" in out
    assert "<quiet@example.org>: would skip (nothing new)" in out
    assert mailoutbox == [] and not DigestDelivery.objects.exists()


def test_building_a_digest_takes_the_same_queries_for_few_or_many_events(db, alice, week_events):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    sub = subscribe(alice)
    with CaptureQueriesContext(connection) as few:
        content.build_digest(sub.pk, WEEK, at(WEEK.sunday, 23))
    for i in range(25):
        log(
            "strike-reduction",
            "reverse" if i % 2 else "advance",
            WEEK.monday + datetime.timedelta(days=i % 7),
        )
    with CaptureQueriesContext(connection) as many:
        digest = content.build_digest(sub.pk, WEEK, at(WEEK.sunday, 23))
    assert digest.event_count == 29 and len(many) == len(few) <= 10


# --- Admin: deliveries --------------------------------------------------------------------------------


def test_admin_releases_a_stuck_digest_and_sends_it_again(client, admin_user, bob, mailoutbox, settings):
    from config.celery_app import app

    sub = subscribe(bob)
    delivery, _ = sending.claim(sub.pk, WEEK, at(WEEK.sunday + datetime.timedelta(days=1), 9))
    assert delivery.status == "sending"  # as if its worker had been killed mid-send
    client.force_login(admin_user)
    url = reverse("admin:digests_digestdelivery_changelist")

    client.post(url, {"action": "send_again", "_selected_action": [delivery.pk]})
    assert mailoutbox == []  # "sending" is never resent without an admin's decision
    client.post(url, {"action": "release", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.status == "failed" and "Released for a resend" in delivery.last_error

    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        client.post(url, {"action": "send_again", "_selected_action": [delivery.pk]})
    finally:
        app.conf.task_always_eager = saved
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert [m.to for m in mailoutbox] == [["bob@example.org"]]


# --- Mail settings ------------------------------------------------------------------------------------


def _settings_in_a_subprocess(**env):
    import os

    full = {
        k: v for k, v in os.environ.items() if not k.startswith("EMAIL_") and k not in ("DEBUG", "SECRET_KEY")
    }
    full.update(env, WATCHPOST_READ_DOTENV="0")
    code = (
        "from config import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_FILE_PATH)"
    )
    return run_python("-c", code, env=full)


@pytest.mark.slow
def test_mail_settings_come_from_the_environment_with_a_folder_default(tmp_path):
    out = _settings_in_a_subprocess(WATCHPOST_VAR_DIR=str(tmp_path)).stdout.split()
    assert out == ["django.core.mail.backends.filebased.EmailBackend", "587", "True", str(tmp_path / "mail")]
    out = _settings_in_a_subprocess(EMAIL_HOST="smtp.example.org", EMAIL_PORT="465").stdout.split()
    assert out[:3] == ["django.core.mail.backends.smtp.EmailBackend", "465", "False"]
    out = _settings_in_a_subprocess(EMAIL_BACKEND="console").stdout.split()
    assert out[0] == "django.core.mail.backends.console.EmailBackend"
    bad = _settings_in_a_subprocess(EMAIL_BACKEND="smpt")
    assert bad.returncode != 0 and "EMAIL_BACKEND='smpt' is not known: use smtp, file, console" in bad.stderr
    both = _settings_in_a_subprocess(EMAIL_HOST="smtp.example.org", EMAIL_USE_TLS="1", EMAIL_USE_SSL="1")
    assert both.returncode != 0 and "EMAIL_USE_TLS and EMAIL_USE_SSL are both on" in both.stderr


def test_a_deactivated_account_gets_no_digest(db, alice, bob, mailoutbox):
    subscribe(alice)
    bob_sub = subscribe(bob)
    bob.is_active = False
    bob.save()
    due = schedule.due_subscriptions(at(WEEK.sunday + datetime.timedelta(days=1), 9))
    assert [pk for pk, _ in due] == [Subscription.objects.get(user=alice).pk]
    assert sending.claim_and_send(bob_sub.pk, WEEK, at(WEEK.sunday, 23)).status == "inactive"
    assert mailoutbox == [] and not DigestDelivery.objects.filter(subscription=bob_sub).exists()


def test_saving_the_form_never_writes_back_a_stale_claim(db, bob):
    sub = subscribe(bob)
    stale = Subscription.objects.get(pk=sub.pk)  # the form's copy, loaded before a worker claims a week
    sending.claim(sub.pk, WEEK, at(WEEK.sunday + datetime.timedelta(days=1), 9))
    stale.hour = 18
    schedule.save_subscription(stale, now=at(WEEK.sunday + datetime.timedelta(days=1), 10))
    sub.refresh_from_db()
    assert (sub.hour, sub.last_sent_week) == (18, str(WEEK))
    assert sub.next_due_at == at(WEEK.next().next().monday, 18)  # the week after the claimed one


def test_the_subscription_page_is_linked_from_every_page_for_logged_in_users(client, bob, settings):
    settings.WATCHPOST_PUBLIC_DASHBOARDS = True
    link = f'href="{reverse("digests:manage")}"'
    assert link not in client.get(reverse("overview")).content.decode()
    client.force_login(bob)
    page = client.get(reverse("overview")).content.decode()
    assert link in page and "Weekly digest" in page
    assert client.get(reverse("digests:manage")).status_code == 200
