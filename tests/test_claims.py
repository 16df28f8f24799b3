"""Who claims it (issue #13, section 3): claimant cues in four languages, the claim status of each case,
a denial attached as a counter-claim to the event it denies, the overview's `?claims=confirmed`, the
exports and the codebook, the event page and the lists, the feeds' camps seeded and editable."""

import csv
import datetime
import importlib
import io
import json

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from indicators import claims
from indicators.matching.claimants import claimant
from indicators.matching.seeding import seed_rules
from indicators.matching.versions import clear_cache
from indicators.models import Event, EventReview, EventSource
from indicators.proposals import propose_for_entries
from tests.factories import EntryFactory, FeedFactory
from tests.helpers import at, log
from tracker.dashboards.queries import Daily, Filters
from tracker.feeds.models import Feed
from tracker.feeds.seeding import seed_feeds

pytestmark = pytest.mark.django_db

DAY = datetime.date(2025, 9, 3)
NOW = at(datetime.date(2025, 10, 20))


# --- Claimant cues ------------------------------------------------------------------------------------

CUES = [
    ("en", "Russia launched 810 drones and 13 missiles overnight, the air force said", "kyiv"),
    ("en", "Ukraine's general staff reports 900 Russian losses in a day", "kyiv"),
    ("en", "Russian troops took Ivanivka, according to the Russian defence ministry", "moscow"),
    ("en", "Kyiv denies Moscow's claim to have taken Ivanivka", "kyiv"),
    ("en", "The White House said talks would resume next week", "washington"),
    ("en", "Brussels said the new sanctions package was ready", "europe"),
    ("en", "Ankara says it is ready to host a new round of talks", "other"),
    ("fr", "Les troupes russes ont pris Ivanivka, selon Moscou", "moscow"),
    ("fr", "La frappe a tué trois civils, a indiqué Kyiv", "kyiv"),
    ("fr", "Kyiv dément la prise d'Ivanivka", "kyiv"),
    ("fr", "La Maison Blanche a annoncé un nouveau sommet", "washington"),
    ("ru", "Войска заняли Ивановку, по данным Минобороны", "moscow"),
    ("ru", "В Кремле заявили, что переговоры продолжатся", "moscow"),
    ("ru", "Москва опровергла сообщения об обмене пленными", "moscow"),
    ("ru", "Генштаб ВСУ сообщил о потерях противника", "kyiv"),
    ("uk", "Росія випустила 810 дронів, повідомили в ЗСУ", "kyiv"),
    ("uk", "За даними Генштабу, ворог втратив 900 осіб", "kyiv"),
    ("uk", "Київ спростував заяву Москви про Іванівку", "kyiv"),
    ("uk", "У Кремлі заявили про готовність до зустрічі", "moscow"),
]
NO_CUE = [
    ("en", "Russia and Ukraine swap 146 prisoners of war"),
    ("en", "Russia launched drones at Kyiv overnight"),  # an actor without a verb of saying
    ("fr", "Un sommet à Budapest"),
    ("ru", "Обмен пленными состоялся"),
    ("uk", "Обмін полоненими відбувся"),
    (None, "the air force said"),  # no language, no cues
]


@pytest.mark.parametrize("lang,text,expected", CUES)
def test_claimant_cues(lang, text, expected):
    assert claimant(text, lang) == expected


@pytest.mark.parametrize("lang,text", NO_CUE)
def test_no_cue_is_unknown(lang, text):
    assert claimant(text, lang) == "unknown"


# --- The claim status ---------------------------------------------------------------------------------


def event_with(*sources):
    """A confirmed event whose sources are (claimant, stance, feed camp or None) triples."""
    event = log("sector-stabilisation", "advance", DAY, sources=[], now=at(DAY))
    for n, (who, stance, camp) in enumerate(sources):
        entry = EntryFactory(feed=FeedFactory(camp=camp)) if camp else None
        EventSource.objects.create(
            event=event,
            url=f"https://news.example/{n}",
            outlet=f"outlet {n}",
            claimant=who,
            stance=stance,
            entry=entry,
        )
    return event


@pytest.mark.parametrize(
    "sources,expected",
    [
        ([("moscow", "claim", "russian")], "one_side"),
        ([("kyiv", "claim", None), ("kyiv", "claim", "ukrainian")], "one_side"),
        ([("kyiv", "claim", "western"), ("moscow", "claim", "russian")], "both_sides"),
        ([("washington", "claim", "russian")], "independent"),
        ([("europe", "claim", None)], "independent"),
        ([("moscow", "claim", "russian"), ("unknown", "claim", "western")], "independent"),
        ([("unknown", "claim", "other")], "independent"),
        ([("moscow", "claim", "russian"), ("kyiv", "denial", "ukrainian")], "contested"),
        ([("unknown", "claim", "ukrainian"), ("unknown", "claim", "russian")], "unattributed"),
        ([("unknown", "claim", None)], "unattributed"),
        ([("unknown", "claim", "unknown")], "unattributed"),  # an outlet whose camp nobody set yet
        ([("washington", "denial", "western")], "contested"),  # a denial confirms nothing
    ],
)
def test_claim_status(sources, expected):
    event = event_with(*sources)
    fresh = Event.objects.prefetch_related(claims.sources_prefetch()).get(pk=event.pk)
    assert fresh.claim_status == expected
    assert Event.objects.get(pk=event.pk).claim_status == expected  # not prefetched: same answer
    confirmed = Event.objects.filter(claims.confirmed_q(), pk=event.pk).exists()
    assert confirmed == (expected in claims.CONFIRMED)  # the filter says what the rule says


def test_claimant_corrected_with_an_audit_line(alice):
    event = event_with(("unknown", "claim", None))
    source = event.sources.get()
    claims.set_claimant(source.pk, claimant="moscow", stance="denial", now=NOW, actor_id=alice.pk)
    assert (EventSource.objects.get(pk=source.pk).claimant, event.claim_status) == ("moscow", "contested")
    line = EventReview.objects.filter(event=event, action="edited").get()
    assert line.changes == {
        f"source {source.pk} claimant": ["unknown", "moscow"],
        f"source {source.pk} stance": ["claim", "denial"],
    }
    assert line.actor_id == alice.pk


# --- Proposals: the claimant, and a denial as a counter-claim -----------------------------------------


@pytest.fixture
def rules(db):
    seed_rules()
    clear_cache()
    yield
    clear_cache()


def entry(title, **fields):
    fields.setdefault("published_at", NOW - datetime.timedelta(hours=2))
    return EntryFactory(title=title, lang="en", story__first_seen_at=NOW, story__last_seen_at=NOW, **fields)


def test_proposal_records_the_claimant_and_not_the_camp(rules):
    russian = FeedFactory(camp="russian")
    claim = entry(
        "Russia and Ukraine swap 146 prisoners of war, the Russian defence ministry said", feed=russian
    )
    plain = entry("Russia and Ukraine swap 84 prisoners of war", feed=FeedFactory(camp="ukrainian"))
    assert propose_for_entries([claim.pk, plain.pk], NOW) == 2
    by_entry = {s.entry_id: s for s in EventSource.objects.all()}
    assert (by_entry[claim.pk].claimant, by_entry[claim.pk].stance) == ("moscow", "claim")
    assert by_entry[plain.pk].claimant == "unknown"  # the outlet's camp is not the claimant
    assert by_entry[plain.pk].event.claim_status == "unattributed"


def test_a_denial_is_a_counter_claim_on_the_event_it_denies(rules):
    claim = entry("Russia and Ukraine swap 146 prisoners of war, the Russian defence ministry said")
    denial = entry("Kyiv denies a prisoner exchange with Russia took place", story=claim.story)
    assert propose_for_entries([claim.pk], NOW) == 1
    event = Event.objects.get(indicator__slug="prisoner-exchange")
    assert event.claim_status == "one_side"
    assert propose_for_entries([denial.pk], NOW) == 0  # nothing new proposed
    assert Event.objects.filter(indicator__slug="prisoner-exchange").count() == 1
    source = event.sources.get(entry_id=denial.pk)
    assert (source.claimant, source.stance) == ("kyiv", "denial")
    assert Event.objects.get(pk=event.pk).claim_status == "contested"


def test_a_denial_with_nothing_to_deny_is_proposed_as_before(rules):
    denial = entry("Kyiv denies a prisoner exchange with Russia took place")
    assert propose_for_entries([denial.pk], NOW) == 1
    assert EventSource.objects.get(entry_id=denial.pk).stance == "claim"


# --- Pages, the filter, the exports, the codebook -----------------------------------------------------


@pytest.fixture
def two_events(db):
    both = event_with(("kyiv", "claim", "ukrainian"), ("moscow", "claim", "russian"))
    one = event_with(("moscow", "claim", "russian"))
    Event.objects.filter(pk=both.pk).update(title="Both sides say so")
    Event.objects.filter(pk=one.pk).update(title="Moscow says so")
    return Event.objects.get(pk=both.pk), Event.objects.get(pk=one.pk)


def test_event_page_and_lists_show_the_status(client, bob, two_events):
    both, one = two_events
    client.force_login(bob)
    page = client.get(reverse("event", args=[both.pk])).content.decode()
    assert "Claim status: <strong>confirmed by both sides</strong>" in page
    assert "claimed by Moscow" in page
    listing = client.get(
        reverse("indicator", args=["sector-stabilisation"]), {"since": "2025-08-01"}
    ).content.decode()
    assert "confirmed by both sides" in listing and "claimed by one side" in listing


def test_claims_filter_limits_pages_and_exports(client, bob, two_events):
    both, one = two_events
    client.force_login(bob)
    assert sum(r[3] for r in Daily.load(Filters()).rows) == 2
    assert sum(r[3] for r in Daily.load(Filters(claims="confirmed")).rows) == 1
    data = json.loads(client.get(reverse("export-json"), {"claims": "confirmed"}).content)
    assert [e["id"] for e in data["events"]] == [both.pk] and data["filters"]["claims"] == "confirmed"
    listing = client.get(
        reverse("indicator", args=["sector-stabilisation"]), {"claims": "confirmed"}
    ).content.decode()
    assert "Both sides say so" in listing and "Moscow says so" not in listing
    assert client.get(reverse("overview"), {"claims": "confirmed"}).status_code == 200
    assert client.get(reverse("overview"), {"claims": "nonsense"}).status_code == 200  # shown as an error
    # The 7-day arrows follow the filter too.
    from indicators.services import indicator_trends

    window = {"since": DAY - datetime.timedelta(days=6), "until": DAY, "indicator_ids": [both.indicator_id]}
    assert indicator_trends(**window)[both.indicator_id].advances == 2
    assert indicator_trends(**window, only=claims.confirmed_q())[both.indicator_id].advances == 1


def test_exports_carry_the_fields_and_the_codebook_lists_them(client, bob, two_events):
    both, one = two_events
    client.force_login(bob)
    data = json.loads(client.get(reverse("export-json")).content)
    rows = {e["id"]: e for e in data["events"]}
    assert rows[both.pk]["claim_status"] == "both_sides" and rows[one.pk]["claim_status"] == "one_side"
    assert {(s["claimant"], s["stance"]) for s in rows[both.pk]["sources"]} == {
        ("kyiv", "claim"),
        ("moscow", "claim"),
    }
    body = client.get(reverse("export-csv")).content.decode("utf-8-sig")
    table = {int(r["id"]): r for r in csv.DictReader(io.StringIO(body))}
    assert table[one.pk]["claim_status"] == "one_side"
    codebook = client.get(reverse("codebook")).content.decode()
    assert "<code>claim_status</code>" in codebook and "confirmed by both sides" in codebook
    assert "claimant" in codebook and 'id="claims"' in codebook


# --- The feeds' camps ---------------------------------------------------------------------------------


def test_feed_camps_seeded_and_an_admin_edit_kept(client, admin_user):
    seed_feeds()
    camps = dict(Feed.objects.values_list("url", "camp"))
    assert camps["https://tass.ru/rss/v2.xml"] == "russian"
    assert camps["https://kyivindependent.com/rss/"] == "ukrainian"
    assert camps["https://feeds.bbci.co.uk/news/world/europe/rss.xml"] == "western"
    assert camps["https://www.aljazeera.com/xml/rss/all.xml"] == "other"
    feed = Feed.objects.get(url="https://www.aljazeera.com/xml/rss/all.xml")
    client.force_login(admin_user)
    change = reverse("admin:feeds_feed_change", args=[feed.pk])
    assert "camp" in client.get(change).content.decode()
    form = {
        "url": feed.url,
        "title": feed.title,
        "language": feed.language,
        "camp": "western",
        "active": "on",
        "poll_interval": feed.poll_interval,
    }
    response = client.post(change, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Feed.objects.get(pk=feed.pk).camp == "western"
    seed_feeds()  # re-seeding keeps the admin's edit
    assert Feed.objects.get(pk=feed.pk).camp == "western"


def test_the_migration_gives_existing_starter_feeds_their_camp(db):
    Feed.objects.create(url="https://tass.ru/rss/v2.xml", title="ТАСС")
    migration = importlib.import_module("tracker.feeds.migrations.0004_feed_camp")
    migration.seed_camps(django_apps, None)
    assert Feed.objects.get(url="https://tass.ru/rss/v2.xml").camp == "russian"
