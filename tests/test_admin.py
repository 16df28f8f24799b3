"""The Django admin renders and works for a staff user."""

import datetime

import pytest
from django.urls import reverse

from indicators.models import Event
from tests.helpers import log


@pytest.fixture
def proposed(db):
    return log(
        "second-summit",
        "advance",
        datetime.date(2025, 10, 16),
        title="Trump says he will meet Putin in Budapest",
        origin="feed",
        sources=[{"url": "https://apnews.com/article/budapest-summit", "outlet": "AP"}],
        match_terms=["meet", "Putin", "summit"],
    )


@pytest.mark.parametrize(
    "url",
    [
        "admin:index",
        "admin:indicators_indicator_changelist",
        "admin:indicators_event_changelist",
        "admin:indicators_eventreview_changelist",
        "admin:feeds_feed_changelist",
        "admin:feeds_entry_changelist",
        "admin:feeds_story_changelist",
        "admin:indicators_event_add",
    ],
)
def test_admin_pages_render(client, admin_user, proposed, url):
    client.force_login(admin_user)
    assert client.get(reverse(url)).status_code == 200


def test_indicator_list_filters_and_statuses(client, admin_user, proposed):
    client.force_login(admin_user)
    page = client.get(reverse("admin:indicators_indicator_changelist"), {"category__exact": "political"})
    text = page.content.decode()
    assert "A second Trump-Putin summit" in text and "pending review" in text
    assert "Prisoner exchanges" not in text


def test_indicator_page_lists_its_events(client, admin_user, proposed):
    client.force_login(admin_user)
    page = client.get(reverse("admin:indicators_indicator_change", args=[proposed.indicator_id]))
    assert "Trump says he will meet Putin in Budapest" in page.content.decode()


def test_event_list_filters_and_search(client, admin_user, proposed):
    client.force_login(admin_user)
    url = reverse("admin:indicators_event_changelist")
    for params in (
        {"state__exact": "proposed"},
        {"origin__exact": "feed"},
        {"direction__exact": "advance"},
        {"indicator__category__exact": "political"},
        {"q": "Budapest"},
        {"q": "apnews.com"},
    ):
        assert "meet Putin in Budapest" in client.get(url, params).content.decode(), params
    assert "meet Putin in Budapest" not in client.get(url, {"state__exact": "confirmed"}).content.decode()


def test_event_change_page_shows_evidence_and_trail(client, admin_user, proposed):
    client.force_login(admin_user)
    text = client.get(reverse("admin:indicators_event_change", args=[proposed.pk])).content.decode()
    assert "https://apnews.com/article/budapest-summit" in text
    assert "Putin" in text and "Created" in text


def test_confirm_action_records_the_reviewer(client, admin_user, proposed):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:indicators_event_changelist"),
        {"action": "confirm_selected", "_selected_action": [proposed.pk]},
        follow=True,
    )
    assert "1 event(s) confirmed." in response.content.decode()
    proposed.refresh_from_db()
    assert (proposed.state, proposed.reviewed_by) == ("confirmed", admin_user)
    assert list(proposed.reviews.values_list("action", flat=True)) == ["created", "confirmed"]


def test_anonymous_visitors_are_sent_to_the_login_page(client, proposed):
    response = client.get(reverse("admin:indicators_event_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Event.objects.count() == 1
