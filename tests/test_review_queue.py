"""The review queue: one card per story, newest first, with its outlets and its proposals, each with its
explanation; decisions by analysts only, each landing in the audit trail."""

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
    assert "2 stories awaiting review (2 proposed events)" in html
    item = html[html.index(f'id="card-{older.story_id}"') :]
    item = item[: item.index("</form>")]
    assert "prisoner-exchange/en/1" in item and "score 0.87" in item
    assert "<mark>prisoner</mark>" in item and "<mark>Ukraine</mark>" in item
    assert "Story carried by 2 outlets" in item
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


def cards(html):
    """The story cards of the queue page, as the HTML of each."""
    parts = html.split('<li class="story-card"')[1:]
    return [p[: p.index("</ol>\n  </li>")] for p in parts]


def test_a_story_in_four_languages_is_one_card_with_every_outlet(client, alice):
    """The 146-for-146 exchange as four outlets carried it: one story, one card, four outlets listed once;
    a second indicator proposed on the same story sits in the same card; a proposal with no story is a
    card of its own."""
    story = StoryFactory(title="Russia and Ukraine swap 146 prisoners each", outlet_count=4)
    reports = [
        ("Wire", "en", "Russia and Ukraine swap 146 prisoners each"),
        ("Le Quotidien", "fr", "Échange de 146 prisonniers entre Moscou et Kyiv"),
        ("Ukrinform", "uk", "Україна повернула додому 146 захисників"),
        ("Broadcaster", "en", "Ukrainian soldiers come home in 146-for-146 exchange"),
    ]
    for i, (outlet, lang, title) in enumerate(reports):
        EntryFactory(
            story=story,
            title=title,
            link=f"https://{outlet.lower().replace(' ', '')}.example/{i}",
            outlet=outlet,
            lang=lang,
        )
    day = timezone.localdate() - datetime.timedelta(days=1)
    exchange = log(
        "prisoner-exchange",
        "advance",
        day,
        title=reports[0][2],
        origin="feed",
        story_id=story.pk,
        sources=[{"url": "https://wire.example/0", "outlet": "Wire", "language": "en"}],
        actor_label="matcher",
        now=timezone.now() - datetime.timedelta(minutes=3),
    )
    civilians = log(
        "evacuation",
        "advance",
        day,
        title="Civilians among those returned",
        origin="feed",
        story_id=story.pk,
        sources=[{"url": "https://ukrinform.example/2", "outlet": "Ukrinform"}],
        actor_label="matcher",
        now=timezone.now() - datetime.timedelta(minutes=2),
    )
    alone = log(
        "sanctions-pressure",
        "advance",
        day,
        title="A lone report of new sanctions",
        origin="feed",
        sources=[{"url": "https://other.example/x", "outlet": "Other"}],
        actor_label="matcher",
        now=timezone.now() - datetime.timedelta(minutes=10),
    )
    client.force_login(alice)
    html = client.get(QUEUE).content.decode()

    assert "2 stories awaiting review (3 proposed events)" in html
    first, second = cards(html)
    for outlet, lang, title in reports:
        assert first.count(f"{outlet}: ") == 1 and title in first and f"· {lang}" in first, outlet
    assert "Story carried by 4 outlets" in first and "2 indicators proposed" in first
    assert f'id="event-{exchange.pk}"' in first and f'id="event-{civilians.pk}"' in first
    assert first.count('value="confirm"') == 2  # one decision per proposed indicator
    assert "A lone report of new sanctions" in second and f'id="event-{alone.pk}"' in second
    assert html.count('class="story-card"') == 2

    # Confirming the story's exchange event leaves the card with its other proposal.
    client.post(f"/review/{exchange.pk}/", {"action": "confirm"})
    html = client.get(QUEUE).content.decode()
    assert "2 stories awaiting review (2 proposed events)" in html
    assert f'id="event-{exchange.pk}"' not in html and f'id="event-{civilians.pk}"' in html


def test_queue_pages_count_stories_not_events(client, alice):
    from tracker.dashboards import views

    story = StoryFactory(title="One story, many indicators", outlet_count=3)
    day = timezone.localdate() - datetime.timedelta(days=1)
    for i, slug in enumerate(("prisoner-exchange", "evacuation", "civilian-infrastructure-protection")):
        log(
            slug,
            "advance",
            day,
            title=f"Proposal {slug}",
            origin="feed",
            story_id=story.pk,
            sources=[{"url": f"https://w.example/{i}", "outlet": "W"}],
            actor_label="matcher",
        )
    for i in range(views.QUEUE_PER_PAGE):
        propose(f"Separate story {i}", minutes_ago=i + 1)
    client.force_login(alice)
    html = client.get(QUEUE).content.decode()
    assert f"{views.QUEUE_PER_PAGE + 1} stories awaiting review" in html and "page 1 of 2" in html
    assert len(cards(html)) == views.QUEUE_PER_PAGE
    assert cards(html)[0].count('class="queue-item"') == 3  # the newest story keeps all three proposals
