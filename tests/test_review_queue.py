"""The review queue: proposed events newest first with their explanation and cluster, decisions by analysts
only, each landing in the audit trail."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from indicators.models import Event, EventReview
from tests.factories import EntryFactory, StoryFactory
from tests.helpers import indicator_card, log

pytestmark = pytest.mark.django_db

QUEUE = "/review/"


def propose(
    title="Russia and Ukraine exchange 150 prisoners", *, slug="prisoner-exchange", minutes_ago=0, **kw
):
    story = StoryFactory(title=title, outlet_count=2)
    for outlet, link in (
        ("Reuters", "https://reuters.example.org/a"),
        ("Le Monde", "https://lemonde.example.fr/b"),
    ):
        EntryFactory(story=story, title=f"{outlet}: {title}", link=link, outlet=outlet, lang="en")
    return log(
        slug,
        kw.pop("direction", "advance"),
        timezone.localdate() - datetime.timedelta(days=1),
        title=title,
        now=timezone.now() - datetime.timedelta(minutes=minutes_ago),
        origin="feed",
        sources=[{"url": "https://reuters.example.org/a", "outlet": "Reuters", "language": "en"}],
        actor_label="matcher",
        story_id=story.pk,
        match_rule="prisoner-exchange/en/1",
        match_terms=["prisoner", "exchange", "Ukraine"],
        match_score=0.87,
        **kw,
    )


def test_url_names():
    assert reverse("review-queue") == QUEUE
    assert reverse("review-decision", args=[7]) == "/review/7/"


def test_queue_lists_proposed_events_newest_first_with_explanation_and_cluster(client, alice):
    older = propose("Older proposal about an exchange", minutes_ago=30)
    newer = propose("Newer proposal about an evacuation", slug="evacuation", minutes_ago=1)
    confirmed = propose("Already confirmed", minutes_ago=5)
    confirmed.state = "confirmed"
    confirmed.save()
    client.force_login(alice)
    response = client.get(QUEUE)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("Newer proposal") < html.index("Older proposal")
    assert "Already confirmed" not in html
    assert "2 proposed events" in html
    item = html[html.index(f'id="event-{older.pk}"') :]
    item = item[: item.index("</li>\n", item.index("</form>"))]
    assert "prisoner-exchange/en/1" in item and "score 0.87" in item
    assert "<mark>prisoner</mark>" in item and "<mark>Ukraine</mark>" in item
    assert "story carried by 2 outlets" in item
    assert "Le Monde: Older proposal" in item and "https://lemonde.example.fr/b" in item
    assert 'value="confirm"' in item and 'value="reject"' in item
    assert 'tabindex="0"' in html and "<kbd>j</kbd>" in html
    assert newer.pk != older.pk


def test_confirm_lands_in_the_audit_trail_and_changes_the_status(client, alice):
    event = propose()
    client.force_login(alice)
    assert "pending review" in _overview_card(client, "prisoner-exchange")
    response = client.post(
        reverse("review-decision", args=[event.pk]), {"action": "confirm", "note": "two outlets"}
    )
    assert response.status_code == 302 and response["Location"] == QUEUE
    event.refresh_from_db()
    assert event.state == "confirmed" and event.reviewed_by == alice
    audit = EventReview.objects.filter(event=event).last()
    assert (audit.action, audit.from_state, audit.to_state, audit.actor, audit.note) == (
        "confirmed",
        "proposed",
        "confirmed",
        alice,
        "two outlets",
    )
    assert "Confirmed: “Russia and Ukraine exchange 150 prisoners”" in client.get(QUEUE).content.decode()
    assert "advancing" in _overview_card(client, "prisoner-exchange")


def _overview_card(client, slug):
    return indicator_card(client.get("/").content.decode(), slug)


def test_reject(client, alice):
    event = propose()
    client.force_login(alice)
    client.post(reverse("review-decision", args=[event.pk]), {"action": "reject"})
    event.refresh_from_db()
    assert event.state == "rejected"
    assert EventReview.objects.filter(event=event, action="rejected", actor=alice).exists()
    assert "Nothing to review" in client.get(QUEUE).content.decode()


def test_confirm_with_changed_direction_and_indicator_records_the_changes(client, alice):
    event = propose()
    client.force_login(alice)
    client.post(
        reverse("review-decision", args=[event.pk]),
        {"action": "confirm", "direction": "reverse", "indicator": "evacuation"},
    )
    event.refresh_from_db()
    assert (event.state, event.direction, event.indicator.slug) == ("confirmed", "reverse", "evacuation")
    audit = EventReview.objects.filter(event=event).last()
    assert audit.changes == {
        "direction": ["advance", "reverse"],
        "indicator": ["prisoner-exchange", "evacuation"],
    }
    page = client.get(reverse("event", args=[event.pk])).content.decode()
    assert "direction: advance → reverse" in page and "alice" in page


def test_save_changes_only_keeps_the_event_proposed(client, alice):
    event = propose()
    client.force_login(alice)
    client.post(reverse("review-decision", args=[event.pk]), {"action": "edit", "direction": "reverse"})
    event.refresh_from_db()
    assert (event.state, event.direction) == ("proposed", "reverse")
    assert EventReview.objects.filter(event=event, action="edited", actor=alice).exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"action": "approve"}, "Unknown decision"),
        ({}, "This field is required"),
        ({"action": "confirm", "direction": "up"}, "Direction must be advance or reverse"),
        ({"action": "confirm", "indicator": "world-peace"}, "Unknown indicator"),
    ],
)
def test_bad_decisions_change_nothing_and_say_why(client, alice, data, message):
    event = propose()
    client.force_login(alice)
    response = client.post(reverse("review-decision", args=[event.pk]), data, follow=True)
    assert message in response.content.decode()
    event.refresh_from_db()
    assert event.state == "proposed" and event.direction == "advance"
    assert EventReview.objects.filter(event=event).count() == 1


def test_unknown_event_is_404(client, alice):
    client.force_login(alice)
    assert client.post(reverse("review-decision", args=[999999]), {"action": "confirm"}).status_code == 404


def test_next_parameter_must_stay_on_site(client, alice):
    event = propose()
    client.force_login(alice)
    response = client.post(
        reverse("review-decision", args=[event.pk]), {"action": "reject", "next": "https://evil.example.com/"}
    )
    assert response["Location"] == QUEUE


def test_viewer_and_anonymous_cannot_review(client, bob, settings):
    event = propose()
    client.force_login(bob)
    assert client.get(QUEUE).status_code == 403
    assert client.post(reverse("review-decision", args=[event.pk]), {"action": "confirm"}).status_code == 403
    client.logout()
    settings.WATCHPOST_PUBLIC_DASHBOARDS = True
    response = client.post(reverse("review-decision", args=[event.pk]), {"action": "confirm"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert client.get(QUEUE).status_code == 302
    event.refresh_from_db()
    assert event.state == "proposed"


def test_get_on_decision_is_refused(client, alice):
    event = propose()
    client.force_login(alice)
    assert client.get(reverse("review-decision", args=[event.pk])).status_code == 405


def test_hostile_feed_text_is_escaped_in_the_queue(client, alice):
    propose('<script>alert("feed")</script><img src=x onerror=alert(1)>')
    client.force_login(alice)
    html = client.get(QUEUE).content.decode()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert" in html


def test_queue_paginates_with_a_constant_number_of_queries(client, alice, django_assert_max_num_queries):
    for i in range(25):
        propose(f"Proposal number {i}", minutes_ago=i)
    client.force_login(alice)
    with django_assert_max_num_queries(14):
        html = client.get(QUEUE).content.decode()
    assert "Proposal number 0" in html and "Proposal number 24" not in html
    assert "page 1 of 2" in html
    assert Event.objects.filter(state="proposed").count() == 25
