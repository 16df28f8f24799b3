"""Logging an event by hand: analysts only, clear messages for every bad field, confirmed on save."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from indicators.models import Event, EventReview, Indicator
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/events/new/"


def valid(**overrides):
    data = {
        "indicator": "prisoner-exchange",
        "direction": "advance",
        "occurred_on": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
        "title": "Ukraine and Russia swap 84 prisoners each",
        "summary": "Mediated by the UAE.",
        "sources": "https://www.reuters.com/world/europe/swap-84\n\nhttps://kyivindependent.com/exchange-84/\n",
    }
    data.update(overrides)
    return data


def test_url_name():
    assert reverse("log-event") == URL


def test_analyst_logs_an_event_confirmed_with_author(client, alice):
    client.force_login(alice)
    response = client.post(URL, valid())
    event = Event.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("event", args=[event.pk])
    assert event.state == "confirmed"
    assert event.origin == "manual"
    assert event.created_by == alice and event.reviewed_by == alice
    assert event.indicator.slug == "prisoner-exchange"
    assert sorted(s.outlet for s in event.sources.all()) == ["kyivindependent.com", "reuters.com"]
    audit = EventReview.objects.get(event=event)
    assert audit.action == "created" and audit.actor == alice and audit.to_state == "confirmed"
    page = client.get(response["Location"]).content.decode()
    assert "Logged and confirmed" in page
    assert "logged by alice" in page
    assert "2 outlets" in page


def test_form_page_preselects_the_indicator(client, alice):
    client.force_login(alice)
    html = client.get(URL, {"indicator": "ceasefire"}).content.decode()
    assert '<option value="ceasefire" selected>' in html
    assert 'name="csrfmiddlewaretoken"' in html


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("sources", "", "Add at least one source URL"),
        ("sources", "   \n  ", "Add at least one source URL"),
        (
            "sources",
            "https://ok.example.org/a\nnot a url",
            "Source 2 (&#x27;not a url&#x27;) is not a web address",
        ),
        ("sources", "ftp://files.example.org/x", "starting with http:// or https://"),
        ("sources", "javascript:alert(1)", "is not a web address"),
        ("occurred_on", "2999-01-01", "is in the future"),
        ("occurred_on", "31/12/2025", "Enter the date as YYYY-MM-DD"),
        ("occurred_on", "", "Give the date the event happened"),
        ("occurred_on", "1812-09-07", "too far in the past"),
        ("indicator", "world-peace", "Unknown indicator: choose one of the 16 indicators"),
        ("indicator", "", "Choose the indicator this event bears on"),
        ("direction", "sideways", "Direction must be advance or reverse"),
        ("direction", "", "Say whether the event is an advance or a reverse"),
        ("title", "", "Give the event a title"),
        ("title", "   ", "Give the event a title"),
        ("title", "x" * 501, "Shorten the title to at most 500 characters"),
    ],
)
def test_bad_input_says_what_to_fix_and_writes_nothing(client, alice, field, value, message):
    client.force_login(alice)
    response = client.post(URL, valid(**{field: value}))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html, html[html.find('class="errors"') : html.find('class="errors"') + 1500]
    assert "Please fix what is marked below" in html
    assert not Event.objects.exists()


def test_far_future_message_names_the_latest_allowed_date(client, alice, settings):
    settings.WATCHPOST_MAX_FUTURE_DAYS = 1
    client.force_login(alice)
    html = client.post(URL, valid(occurred_on="2999-01-01")).content.decode()
    latest = timezone.localdate() + datetime.timedelta(days=1)
    assert f"no later than {latest:%d %B %Y}" in html


def test_duplicate_urls_are_stored_once(client, alice):
    client.force_login(alice)
    client.post(URL, valid(sources="https://a.example.org/x\nhttps://a.example.org/x"))
    assert Event.objects.get().sources.count() == 1


def test_viewer_cannot_log(client, bob):
    client.force_login(bob)
    assert client.get(URL).status_code == 403
    assert client.post(URL, valid()).status_code == 403
    assert not Event.objects.exists()


def test_anonymous_cannot_log_and_is_sent_to_login(client, settings):
    settings.WATCHPOST_PUBLIC_DASHBOARDS = True  # public dashboards never open writing
    response = client.post(URL, valid())
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Event.objects.exists()


def test_csrf_is_enforced(alice):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    assert csrf_client.post(URL, valid()).status_code == 403
    assert not Event.objects.exists()


def test_staff_can_log(client, admin_user):
    client.force_login(admin_user)
    assert client.post(URL, valid()).status_code == 302
    assert Event.objects.get().created_by == admin_user


def test_user_with_event_permissions_counts_as_analyst(client):
    from django.contrib.auth.models import Permission

    carol = UserFactory(username="carol")
    carol.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="indicators", codename__in=["add_event", "change_event"]
        )
    )
    client.force_login(carol)
    assert client.get(URL).status_code == 200


def test_analysts_group_is_created_by_migration_with_event_permissions():
    from django.contrib.auth.models import Group

    perms = set(Group.objects.get(name="analysts").permissions.values_list("codename", flat=True))
    assert {"add_event", "change_event", "view_event", "add_eventsource"} <= perms
    assert "delete_event" not in perms and "change_feed" not in perms


def test_nav_shows_logging_to_analysts_only(client, alice, bob):
    client.force_login(alice)
    assert "Log an event" in client.get("/").content.decode()
    client.force_login(bob)
    assert "Log an event" not in client.get("/").content.decode()
    assert Indicator.objects.count() == 16
