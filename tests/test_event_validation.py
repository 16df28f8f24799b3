"""Events refuse bad input with messages that say what to fix, and nothing is written."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from indicators.models import Event, EventReview, EventSource, Indicator
from indicators.services import edit_event, record_event, review_event
from tests.factories import EventFactory


def make(**overrides):
    fields = dict(
        indicator_id=Indicator.objects.get(slug="prisoner-exchange").pk,
        direction="advance",
        occurred_on=datetime.date(2025, 8, 24),
        title="Ukraine and Russia swap 146 prisoners of war",
        origin="manual",
        sources=[{"url": "https://www.reuters.com/world/europe/swap", "outlet": "Reuters"}],
        now=timezone.now(),
    )
    fields.update(overrides)
    return record_event(**fields)


def errors(exc_info):
    return exc_info.value.message_dict


def test_a_valid_manual_event_is_confirmed_with_its_author_and_audit_line(db, alice):
    event = make(actor_id=alice.pk)
    assert (event.state, event.created_by, event.reviewed_by) == ("confirmed", alice, alice)
    assert [s.url for s in event.sources.all()] == ["https://www.reuters.com/world/europe/swap"]
    (audit,) = event.reviews.all()
    assert (audit.action, audit.to_state, audit.actor) == ("created", "confirmed", alice)


def test_unknown_direction_is_refused(db):
    with pytest.raises(ValidationError) as exc:
        make(direction="sideways")
    assert "direction" in errors(exc)
    assert "not a valid choice" in errors(exc)["direction"][0]
    assert Event.objects.count() == 0


def test_unknown_direction_is_refused_by_the_database_too(db):
    ind = Indicator.objects.get(slug="ceasefire")
    with pytest.raises(IntegrityError), transaction.atomic():
        EventFactory(indicator=ind, direction="up")


def test_feed_event_without_a_source_url_is_refused(db):
    with pytest.raises(ValidationError) as exc:
        make(origin="feed", sources=[])
    assert errors(exc)["sources"] == ["An event proposed from a feed needs at least one source URL."]
    with pytest.raises(ValidationError):
        make(origin="feed", sources=[{"url": "", "outlet": "Somewhere"}])
    assert Event.objects.count() == 0


def test_feed_event_with_a_source_is_proposed(db):
    event = make(
        origin="feed", match_rule="prisoner-exchange/en", match_terms=["prisoners", "swap"], match_score=0.8
    )
    assert (event.state, event.reviewed_by, event.match_terms) == ("proposed", None, ["prisoners", "swap"])


def test_bad_source_url_is_refused(db):
    with pytest.raises(ValidationError) as exc:
        make(sources=[{"url": "javascript:alert(1)"}])
    assert "http://" in str(exc.value)
    assert Event.objects.count() == EventSource.objects.count() == 0


def test_a_date_far_in_the_future_is_refused(db):
    far = timezone.localdate() + datetime.timedelta(days=400)
    with pytest.raises(ValidationError) as exc:
        make(occurred_on=far)
    message = errors(exc)["occurred_on"][0]
    assert "is in the future" in message and "no later than" in message
    assert Event.objects.count() == 0


def test_tomorrow_is_accepted_for_time_zones_ahead(db):
    assert make(occurred_on=timezone.localdate() + datetime.timedelta(days=1)).pk


def test_unknown_indicator_and_empty_title_are_refused(db):
    with pytest.raises(ValidationError) as exc:
        make(indicator_id=999_999)
    assert "Unknown indicator" in errors(exc)["indicator"][0]
    with pytest.raises(ValidationError) as exc:
        make(title="   ")
    assert "title" in errors(exc)


def test_review_changes_land_in_the_audit_trail(db, alice, bob):
    event = make(origin="feed")
    review_event(
        event.pk, action="confirm", actor_id=alice.pk, now=timezone.now(), direction="reverse", note="misread"
    )
    edit_event(
        event.pk,
        actor_id=bob.pk,
        now=timezone.now(),
        indicator_id=Indicator.objects.get(slug="evacuation").pk,
    )
    event.refresh_from_db()
    assert (event.state, event.direction, event.indicator.slug, event.reviewed_by) == (
        "confirmed",
        "reverse",
        "evacuation",
        alice,
    )
    trail = list(
        EventReview.objects.filter(event=event).values_list("action", "from_state", "to_state", "changes")
    )
    assert trail == [
        ("created", "", "proposed", {}),
        ("confirmed", "proposed", "confirmed", {"direction": ["advance", "reverse"]}),
        ("edited", "confirmed", "confirmed", {"indicator": ["prisoner-exchange", "evacuation"]}),
    ]


def test_unknown_review_action_is_refused(db, alice):
    event = make(origin="feed")
    with pytest.raises(ValidationError) as exc:
        review_event(event.pk, action="approve", actor_id=alice.pk, now=timezone.now())
    assert "use confirm, reject or reopen" in exc.value.messages[0]
