"""Category, indicator, heatmap, feed health, event and codebook pages: content, escaping, permissions."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from indicators.models import Indicator
from tests.factories import EventFactory, EventSourceFactory, FeedFactory, StoryFactory
from tests.helpers import figure, log

pytestmark = pytest.mark.django_db

PAGES = [
    ("overview", []),
    ("category", ["humanitarian"]),
    ("indicator", ["prisoner-exchange"]),
    ("heatmap", []),
    ("feed-health", []),
    ("export", []),
    ("codebook", []),
]


@pytest.mark.parametrize("name, args", PAGES)
def test_every_page_needs_an_account_unless_public(client, bob, settings, name, args):
    url = reverse(name, args=args)
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    settings.WATCHPOST_PUBLIC_DASHBOARDS = True
    assert client.get(url).status_code == 200
    settings.WATCHPOST_PUBLIC_DASHBOARDS = False
    client.force_login(bob)
    response = client.get(url)
    assert response.status_code == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in response.content.decode()


def test_unknown_category_and_indicator_are_404(client, bob):
    client.force_login(bob)
    assert client.get("/categories/nautical/").status_code == 404
    assert client.get("/indicators/world-peace/").status_code == 404
    assert client.get("/events/424242/").status_code == 404


def test_category_page_lists_its_indicators_and_events(client, bob):
    EventFactory(title="Swap of 84 prisoners", occurred_on=datetime.date(2025, 10, 2))
    EventFactory(indicator=Indicator.objects.get(slug="ceasefire"), title="Ground event")
    client.force_login(bob)
    response = client.get(reverse("category", args=["humanitarian"]))
    html = response.content.decode()
    assert "Humanitarian signals" in html
    assert html.count('class="indicator-card"') == 3
    assert "Swap of 84 prisoners" in html and "Ground event" not in html
    fig = figure(response, "fig-timeline")
    assert {t["name"] for t in fig["data"]} == {"Humanitarian advance", "Humanitarian reverse"}


def test_indicator_page_shows_wording_criteria_events_sources_and_corroboration(client, bob):
    ind = Indicator.objects.get(slug="prisoner-exchange")
    story = StoryFactory(title="Exchange", outlet_count=4)
    event = EventFactory(indicator=ind, title="Exchange of 146 prisoners", story=story)
    EventSourceFactory(event=event, outlet="Reuters", url="https://reuters.example.org/x")
    EventSourceFactory(event=event, outlet="reuters", url="https://reuters.example.org/y")  # same outlet
    EventSourceFactory(event=event, outlet="Ukrainska Pravda", url="https://pravda.example.ua/z")
    EventFactory(indicator=ind, title="Proposed, awaiting review", state="proposed", origin="feed")
    EventFactory(indicator=ind, title="Rejected noise", state="rejected", origin="feed")
    client.force_login(bob)
    response = client.get(reverse("indicator", args=["prisoner-exchange"]))
    html = response.content.decode()
    assert escape(ind.title) in html and escape(ind.title_fr) in html
    assert escape(ind.advance_criteria) in html and escape(ind.reverse_criteria) in html
    assert "Exchange of 146 prisoners" in html
    assert "2 outlets" in html  # Reuters twice counts once
    assert "story carried by 4 outlets" in html
    assert 'href="https://pravda.example.ua/z"' in html
    assert "Proposed, awaiting review" in html and "Pending review" in html
    assert "Rejected noise" not in html
    assert figure(response, "fig-timeline")["data"]


def test_indicator_page_events_are_paginated(client, bob):
    for i in range(55):
        EventFactory(
            title=f"Numbered event {i:02d}",
            occurred_on=datetime.date(2025, 9, 1) + datetime.timedelta(days=i),
        )
    client.force_login(bob)
    html = client.get(reverse("indicator", args=["prisoner-exchange"])).content.decode()
    assert "Confirmed events (55)" in html and "page 1 of 2" in html
    assert "Numbered event 54" in html and "Numbered event 00" not in html
    html = client.get(reverse("indicator", args=["prisoner-exchange"]), {"page": 2}).content.decode()
    assert "Numbered event 00" in html


def test_heatmap_colours_net_direction_with_hover_naming_events(client, bob):
    ind = Indicator.objects.get(slug="prisoner-exchange")
    EventFactory(indicator=ind, title="Swap one", occurred_on=datetime.date(2025, 9, 1))
    EventFactory(indicator=ind, title="Swap two", occurred_on=datetime.date(2025, 9, 2))
    EventFactory(
        indicator=ind, title="Swaps suspended", direction="reverse", occurred_on=datetime.date(2025, 9, 3)
    )
    for day in range(4):
        EventFactory(
            indicator=Indicator.objects.get(slug="strike-reduction"),
            direction="reverse",
            title=f"Record strike {day}",
            occurred_on=datetime.date(2025, 9, 8 + day),
        )
    EventFactory(
        indicator=ind, title="<b onmouseover=alert(1)>bold</b>", occurred_on=datetime.date(2025, 9, 4)
    )
    client.force_login(bob)
    response = client.get(reverse("heatmap"), {"since": "2025-09-01", "until": "2025-09-14"})
    trace = figure(response, "fig-heatmap")["data"][0]
    assert trace["type"] == "heatmap"
    assert trace["x"] == ["2025-09-01", "2025-09-08"]
    assert len(trace["y"]) == 16
    row = trace["y"].index(ind.title)
    assert trace["z"][row] == [2, None]  # 3 advances (one hostile title) - 1 reverse
    hover = trace["text"][row][0]
    assert "3 advance, 1 reverse" in hover and "Swaps suspended" in hover and "… and 1 more" in hover
    assert "&lt;b onmouseover=alert(1)&gt;" in hover and "<b onmouseover" not in hover
    strikes = trace["y"].index("Fewer strikes")
    assert trace["z"][strikes] == [None, -4]
    html = client.get(reverse("heatmap"), {"category": "ground"}).content.decode()
    assert "Fewer strikes" in html


def test_feed_health_lists_every_feed_with_success_error_and_next_poll(client, bob):
    now = timezone.now()
    FeedFactory(
        title="Healthy feed",
        last_success_at=now - datetime.timedelta(minutes=20),
        next_poll_at=now + datetime.timedelta(minutes=10, seconds=30),
    )
    FeedFactory(
        title="<script>alert('feed')</script>",
        last_error_at=now - datetime.timedelta(minutes=5),
        last_error_kind="http_503",
        last_error_message="Service unavailable <b>retry later</b>",
        consecutive_failures=3,
    )
    FeedFactory(title="Switched off", active=False)
    client.force_login(bob)
    html = client.get(reverse("feed-health")).content.decode().replace("\xa0", " ")
    assert "Healthy feed" in html and "20 minutes ago" in html and "(in 10 minutes)" in html
    assert "http_503" in html and "3 failures in a row" in html and "never" in html
    assert "&lt;script&gt;alert(&#x27;feed&#x27;)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "&lt;b&gt;retry later&lt;/b&gt;" in html
    assert "Switched off" in html and "inactive" in html
    assert "Manage feeds" not in html


def test_event_page_shows_sources_and_audit_trail(client, alice):
    event = log(
        "ceasefire",
        "reverse",
        datetime.date(2025, 9, 1),
        title="Ceasefire proposal rejected",
        sources=[{"url": "https://news.example.org/a", "outlet": "Example"}],
        actor=alice,
    )
    client.force_login(alice)
    html = client.get(reverse("event", args=[event.pk])).content.decode()
    assert "Ceasefire proposal rejected" in html and "Reverse" in html
    assert "https://news.example.org/a" in html
    assert "alice · Created (confirmed)" in html


def test_codebook_explains_fields_and_indicators(client, bob):
    client.force_login(bob)
    html = client.get(reverse("codebook")).content.decode()
    for field in ("indicator", "category", "stage", "direction", "occurred_on", "sources", "outlets"):
        assert f"<code>{field}</code>" in html
    for ind in Indicator.objects.all():
        assert f'id="{ind.slug}"' in html
        assert escape(ind.advance_criteria) in html


def test_plotly_is_served_locally(client, settings):
    from django.contrib.staticfiles import finders

    assert finders.find("plotly/plotly.min.js")
    assert finders.find("tracker/watchpost.css") and finders.find("tracker/watchpost.js")


def test_admin_adds_a_milestone_that_every_timeline_marks(client, admin_user, bob):
    client.force_login(admin_user)
    assert client.get("/admin/dashboards/milestone/add/").status_code == 200
    response = client.post(
        "/admin/dashboards/milestone/add/",
        {"date": "2025-10-20", "label": "Budapest summit called off", "note": ""},
    )
    assert response.status_code == 302
    client.force_login(bob)
    for name, args in [("overview", []), ("category", ["political"]), ("indicator", ["second-summit"])]:
        fig = figure(client.get(reverse(name, args=args)), "fig-timeline")
        labels = [a["text"] for a in fig["layout"]["annotations"]]
        assert labels == ["Anchorage summit", "Budapest summit called off"], name
        assert [s["x0"] for s in fig["layout"]["shapes"]] == ["2025-08-15", "2025-10-20"]
    assert "Budapest summit called off" in client.get(reverse("overview")).content.decode()


def test_viewer_cannot_manage_milestones_or_feeds(client, bob, alice):
    for user in (bob, alice):
        client.force_login(user)
        assert client.get("/admin/dashboards/milestone/add/").status_code == 302  # to the admin login
        assert client.get("/admin/feeds/feed/").status_code == 302


@pytest.mark.parametrize(
    "params, message",
    [
        ({"since": "0001-01-01", "until": "9999-12-24"}, "Dates start on 1 January 2000"),
        ({"until": "9999-12-31"}, "Dates go at most a year ahead"),
        ({"until": "0001-01-01"}, "Dates start on 1 January 2000"),
        ({"since": "2000-01-01", "until": "2025-12-31"}, "Choose a range of at most 5 years"),
    ],
)
def test_an_insane_date_range_is_refused_with_a_message_on_every_page(client, bob, params, message):
    client.force_login(bob)
    for url in ("/", "/categories/ground/", "/indicators/prisoner-exchange/", "/heatmap/"):
        response = client.get(url, params)
        assert response.status_code == 200, url
        text = response.content.decode()
        assert message in text and "Showing the default range instead." in text, url
    refused = client.get("/export/events.json", params)  # an export says what to fix, exports nothing
    assert refused.status_code == 400 and any(
        message in m for ms in refused.json()["fields"].values() for m in ms
    )
