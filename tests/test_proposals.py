"""From stored entries to proposed events: one per story and indicator, corroboration, explanations."""

import datetime

import pytest
from django.utils import timezone

from indicators.matching.seeding import seed_rules
from indicators.matching.store import clear_cache, get_matcher
from indicators.models import Event, EventReview, Indicator, MatchRule
from indicators.proposals import propose_for_entries
from indicators.services import review_event
from tests.factories import EntryFactory, FeedFactory
from tracker.feeds.models import Entry

NOW = datetime.datetime(2025, 10, 20, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def rules(db):
    seed_rules()  # idempotent: the data migration seeded them, a flushed database gets them back
    clear_cache()
    yield
    clear_cache()


def make_entry(title, **fields):
    """An entry published two hours before NOW, in a story of its own first seen at NOW unless `story=`."""
    fields.setdefault("published_at", NOW - datetime.timedelta(hours=2))
    return EntryFactory(title=title, story__first_seen_at=NOW, story__last_seen_at=NOW, **fields)


def test_match_proposes_one_event_with_its_explanation(rules):
    entry = make_entry(
        "Russia and Ukraine swap 146 prisoners of war",
        summary="<p>The exchange was <b>mediated</b> by the UAE.</p>",
        lang="en",
        outlet="Reuters",
    )
    assert propose_for_entries([entry.pk], NOW) == 1
    event = Event.objects.get()
    assert event.indicator.slug == "prisoner-exchange"
    assert (event.direction, event.state, event.origin) == ("advance", "proposed", "feed")
    assert event.story_id == entry.story_id
    assert event.match_rule == "prisoner-exchange:en"
    assert any("prisoners" in t for t in event.match_terms)
    assert 0.5 <= event.match_score <= 1
    assert event.summary == "The exchange was mediated by the UAE."
    assert event.occurred_on == datetime.date(2025, 10, 20)
    source = event.sources.get()
    assert (source.url, source.outlet, source.language, source.entry_id) == (
        entry.link,
        "Reuters",
        "en",
        entry.pk,
    )
    review = EventReview.objects.get(event=event)
    assert (review.action, review.actor_label) == ("created", "matcher")


def test_same_story_same_indicator_corroborates_instead_of_duplicating(rules):
    first = make_entry("Russia and Ukraine swap 146 prisoners of war", outlet="Reuters")
    second = make_entry("Украина и Россия провели обмен пленными", story=first.story, outlet="ТАСС")
    assert propose_for_entries([first.pk], NOW) == 1
    assert propose_for_entries([second.pk], NOW) == 0
    event = Event.objects.get()
    assert sorted(event.sources.values_list("outlet", flat=True)) == ["Reuters", "ТАСС"]
    assert event.corroboration == 2
    # Running twice changes nothing.
    assert propose_for_entries([first.pk, second.pk], NOW) == 0
    assert Event.objects.count() == 1 and event.sources.count() == 2


def test_confirmed_event_gets_corroborated_and_rejected_one_is_left_alone(rules, alice):
    first = make_entry("Putin rejects unconditional ceasefire in Ukraine")
    propose_for_entries([first.pk], NOW)
    event = Event.objects.get(indicator__slug="ceasefire")
    assert event.direction == "reverse"
    review_event(event.pk, action="confirm", actor_id=alice.pk, now=NOW)
    again = make_entry("Kremlin: Putin says no to ceasefire in Ukraine", story=first.story)
    propose_for_entries([again.pk], NOW)
    event.refresh_from_db()
    assert event.state == "confirmed" and event.sources.count() == 2

    other = make_entry("Zelensky backs 30-day ceasefire with Russia")
    propose_for_entries([other.pk], NOW)
    rejected = Event.objects.get(story=other.story)
    review_event(rejected.pk, action="reject", actor_id=alice.pk, now=NOW)
    late = make_entry("Zelensky says ready for 30-day ceasefire with Russia", story=other.story)
    assert propose_for_entries([late.pk], NOW) == 0
    rejected.refresh_from_db()
    assert rejected.state == "rejected" and rejected.sources.count() == 1


def test_one_entry_several_indicators(rules):
    entry = make_entry("Prisoner swap goes ahead hours after Russia's heaviest air attack on Kyiv")
    assert propose_for_entries([entry.pk], NOW) == 2
    got = dict(Event.objects.values_list("indicator__slug", "direction"))
    assert got == {"prisoner-exchange": "advance", "strike-reduction": "reverse"}


def test_scope_and_theatre_feed(rules):
    gaza = make_entry("Israel and Hamas complete prisoner swap as Gaza ceasefire holds")
    no_cue = make_entry("'We are home': 84 defenders freed in prisoner exchange")
    assert propose_for_entries([gaza.pk, no_cue.pk], NOW) == 0
    feed = FeedFactory(url="https://www.pravda.com.ua/eng/rss/", title="Ukrainska Pravda", theatre=True)
    from_theatre_feed = make_entry(
        "'We are home': 84 defenders freed in prisoner exchange", feed=feed, outlet=""
    )
    assert propose_for_entries([from_theatre_feed.pk], NOW) == 1
    assert Event.objects.get().sources.get().outlet == "Ukrainska Pravda"


def test_entry_without_link_or_story(rules):
    unlinked = make_entry("Russia and Ukraine swap prisoners of war", link="")
    assert propose_for_entries([unlinked.pk], NOW) == 0
    assert not Event.objects.exists()
    storyless = make_entry("Russia and Ukraine swap prisoners of war")
    Entry.objects.filter(pk=storyless.pk).update(story=None)
    assert propose_for_entries([storyless.pk], NOW) == 1
    assert propose_for_entries([storyless.pk], NOW) == 0
    assert Event.objects.get().story is None


def test_future_published_date_is_clamped_to_now(rules):
    entry = make_entry(
        "Russia and Ukraine swap prisoners of war", published_at=NOW + datetime.timedelta(days=30)
    )
    assert propose_for_entries([entry.pk], NOW) == 1
    assert Event.objects.get().occurred_on == NOW.date()


def test_rules_edited_in_the_admin_take_effect(rules):
    title = "Ukraine and Russia hand back detained sailors in Black Sea deal"
    entry = make_entry(title)
    assert propose_for_entries([entry.pk], NOW) == 0
    rule = MatchRule.objects.get(indicator__slug="prisoner-exchange", language="en")
    rule.terms += "\nhand back detained"
    rule.save()
    assert get_matcher().match(title)[0].indicator == "prisoner-exchange"
    assert propose_for_entries([entry.pk], NOW) == 1
    rule.enabled = False
    rule.save()
    assert get_matcher().match(title) == []


def test_seeding_is_idempotent_and_keeps_edits(rules):
    assert MatchRule.objects.count() == 64
    rule = MatchRule.objects.get(indicator__slug="ceasefire", language="fr")
    rule.terms = "trêve"
    rule.save()
    assert seed_rules() == {"rules_created": 0, "scope_terms_created": 0}
    rule.refresh_from_db()
    assert rule.terms == "trêve"
    MatchRule.objects.filter(pk=rule.pk).delete()
    assert seed_rules()["rules_created"] == 1


def test_bad_rule_is_refused_with_a_message(rules):
    from django.core.exceptions import ValidationError

    rule = MatchRule(indicator=Indicator.objects.get(slug="ceasefire"), language="en", terms="truce | lots")
    with pytest.raises(ValidationError, match="must be a number"):
        rule.full_clean()
    empty = MatchRule(indicator=Indicator.objects.get(slug="ceasefire"), language="en", terms="  \n")
    with pytest.raises(ValidationError, match="at least one term"):
        empty.full_clean()


def test_now_is_a_parameter_not_the_clock(rules):
    entry = make_entry("Russia and Ukraine swap prisoners of war", published_at=None)
    propose_for_entries([entry.pk], NOW)
    event = Event.objects.get()
    assert event.occurred_on == NOW.date() and event.created_at == NOW
    assert event.created_at != timezone.now()
