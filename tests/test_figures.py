"""Figures from the news: the night's figures read from headlines in four languages, proposed as series
points through the pipeline's enrich step (gated: never another theatre's), reviewed in the queue;
confirming writes the point with its revision, rejecting writes nothing."""

import datetime

import pytest
from django.urls import reverse

from indicators.figures import confirm_figure, propose_figures, reject_figure
from indicators.matching.figures import DRONES, MISSILES, night_figures, night_of
from indicators.matching.seeding import seed_rules
from indicators.matching.store import clear_cache
from indicators.models import ProposedPoint, SeriesPoint, SeriesPointRevision
from tests.factories import EntryFactory
from tracker.pipeline.pipeline import enrich_entries

NOW = datetime.datetime(2025, 9, 7, 9, 0, tzinfo=datetime.UTC)
PUBLISHED = datetime.datetime(2025, 9, 7, 6, 30, tzinfo=datetime.UTC)  # 09:30 in Kyiv
NIGHT = datetime.date(2025, 9, 7)  # the statement's date (fixtures/series.json)
HEADLINE = "Russia launched 810 drones and 13 missiles overnight, the air force said"
BOTH = {DRONES: 810, MISSILES: 13}

READS = [
    ("en", HEADLINE, "", BOTH),
    ("en", "Overnight attack on Kyiv", "Russia fired 13 cruise and ballistic missiles and 810 drones.", BOTH),
    ("en", "Russia attacked with 125 drones, air defences shot down 100", "", {DRONES: 125}),
    ("en", "Russia launched 1,204 Shahed-type drones during the night", "", {DRONES: 1204}),
    ("en", "Russia launched 810 drones and missiles at Ukraine", "", {DRONES: 810}),
    ("fr", "La Russie a lancé 810 drones et 13 missiles cette nuit", "", BOTH),
    ("fr", "Ukraine : 810 drones et 13 missiles de croisière tirés sur le pays", "", BOTH),
    ("fr", "Moscou a lancé 810 drones contre l'Ukraine", "", {DRONES: 810}),
    ("ru", "Россия за ночь запустила 810 дронов и 13 ракет", "", BOTH),
    ("ru", "Ночью по Украине выпущено 810 беспилотников и 13 ракет", "", BOTH),
    ("ru", "Армия РФ атаковала Украину: 810 ударных БПЛА", "", {DRONES: 810}),
    ("uk", "Росія вночі випустила 810 ударних БпЛА та 13 ракет", "", BOTH),
    ("uk", "Ворог атакував 810 дронів та 13 ракетами", "", BOTH),
    ("uk", "Уночі росіяни запустили 810 безпілотників", "", {DRONES: 810}),
]

NOT_READ = [
    ("en", "Ukraine received 50 drones from its partners", ""),
    ("en", "Ukraine plans to build 1,000 drones a month", ""),
    ("en", "Russia launched 50,000 drones at Ukraine since January", ""),
    ("en", "Air defence shot down 780 drones overnight", ""),
    ("en", "Russia launched a massive attack overnight", "Explosions were heard in Kyiv."),
    ("fr", "L'Ukraine a reçu 50 drones de ses alliés", ""),
    ("ru", "Украина получила 50 дронов от партнёров", ""),
    ("ru", "ПВО за ночь сбила 125 украинских беспилотников", ""),
    ("uk", "Україна отримала 50 дронів від партнерів", ""),
    ("uk", "Україна планує виробити 1000 дронів", ""),
]


@pytest.mark.parametrize("lang,title,summary,expected", READS)
def test_the_night_figures_are_read_in_four_languages(lang, title, summary, expected):
    assert night_figures(title, summary, lang) == expected


@pytest.mark.parametrize("lang,title,summary", NOT_READ)
def test_deliveries_plans_totals_and_interceptions_are_not_launches(lang, title, summary):
    assert night_figures(title, summary, lang) == {}


def test_the_figures_are_entered_on_the_statements_date_in_kyiv():
    assert night_of(PUBLISHED) == NIGHT
    assert night_of(datetime.datetime(2025, 9, 6, 22, 30, tzinfo=datetime.UTC)) == NIGHT  # 01:30 in Kyiv


@pytest.fixture
def rules(rules_only):
    seed_rules()
    clear_cache()
    yield
    clear_cache()


def entry(title, summary="", lang="en", **fields):
    return EntryFactory(
        title=title,
        summary=summary,
        lang=lang,
        published_at=PUBLISHED,
        outlet="Kyiv Wire",
        story__first_seen_at=NOW,
        story__last_seen_at=NOW,
        **fields,
    )


@pytest.mark.parametrize(
    "lang,title",
    [
        ("en", HEADLINE),
        ("fr", "La Russie a lancé 810 drones et 13 missiles cette nuit sur l'Ukraine"),
        ("ru", "Россия за ночь запустила по Украине 810 дронов и 13 ракет"),
        ("uk", "Росія вночі випустила по Україні 810 ударних БпЛА та 13 ракет"),
    ],
)
def test_a_stored_entry_proposes_its_figures_through_the_enrich_step(rules, lang, title):
    reported = entry(title, lang=lang)
    result = enrich_entries([reported.pk], NOW)
    assert result.failed == 0 and result.figures == 2
    proposed = {p.series.slug: p for p in ProposedPoint.objects.select_related("series")}
    assert {slug: p.value for slug, p in proposed.items()} == BOTH
    drones = proposed[DRONES]
    assert (drones.date, drones.state, drones.entry_id) == (NIGHT, "proposed", reported.pk)
    assert drones.source_url == reported.link
    assert not SeriesPoint.objects.exists()


@pytest.mark.parametrize(
    "title",
    [
        "Israel launched 30 drones and 5 missiles at Gaza overnight",
        "RSF launched 40 drones at Port Sudan overnight, the Sudanese army said",
    ],
)
def test_another_theatres_figures_are_not_proposed(rules, title):
    assert night_figures(title, "", "en")  # the reader alone would read them: the gate stops them
    other = entry(title)
    assert enrich_entries([other.pk], NOW).figures == 0
    assert not ProposedPoint.objects.exists()


def test_wire_copy_proposes_once_and_a_different_figure_is_still_proposed(rules):
    first = entry(HEADLINE)
    copy = entry(HEADLINE + ".")
    other = entry("Russia launched 790 drones overnight, Ukraine's air force says")
    assert propose_figures([first.pk], NOW) == 2
    assert propose_figures([first.pk, copy.pk], NOW) == 0
    assert propose_figures([other.pk], NOW) == 1
    assert sorted(ProposedPoint.objects.filter(series__slug=DRONES).values_list("value", flat=True)) == [
        790,
        810,
    ]


def test_confirming_writes_the_point_with_a_revision_and_rerunning_proposes_nothing(rules, alice):
    reported = entry(HEADLINE)
    propose_figures([reported.pk], NOW)
    proposal = ProposedPoint.objects.get(series__slug=DRONES)
    assert confirm_figure(proposal.pk, alice.pk, NOW) == "new"
    point = SeriesPoint.objects.get(series__slug=DRONES)
    assert (point.date, point.value, point.source_url) == (NIGHT, 810, reported.link)
    revision = SeriesPointRevision.objects.get(point=point)
    assert (revision.old_value, revision.new_value, revision.actor_id) == (None, 810, alice.pk)
    proposal.refresh_from_db()
    assert (proposal.state, proposal.reviewed_by_id, proposal.reviewed_at) == ("confirmed", alice.pk, NOW)
    ProposedPoint.objects.all().delete()  # even with no proposal left, the point itself stops a repeat
    assert propose_figures([entry(HEADLINE).pk], NOW) == 1  # the missiles' figure only: no point yet
    assert not ProposedPoint.objects.filter(series__slug=DRONES).exists()


def test_rejecting_writes_nothing_and_a_decided_figure_cannot_be_decided_again(rules, alice):
    from django.core.exceptions import ValidationError

    propose_figures([entry(HEADLINE).pk], NOW)
    proposal = ProposedPoint.objects.get(series__slug=DRONES)
    reject_figure(proposal.pk, alice.pk, NOW)
    assert not SeriesPoint.objects.exists()
    assert ProposedPoint.objects.get(pk=proposal.pk).state == "rejected"
    with pytest.raises(ValidationError):
        confirm_figure(proposal.pk, alice.pk, NOW)
    assert not SeriesPoint.objects.exists()


def test_the_queue_shows_the_figures_to_an_analyst_who_confirms_one(client, rules, alice):
    reported = entry(HEADLINE)
    propose_figures([reported.pk], NOW)
    proposal = ProposedPoint.objects.get(series__slug=DRONES)
    client.force_login(alice)
    html = client.get(reverse("review-queue")).content.decode()
    assert "Figures from the news" in html and f'id="figure-{proposal.pk}"' in html
    assert reverse("figure-decision", args=[proposal.pk]) in html and reported.link in html
    assert "<script>" not in html  # strict CSP: no inline script
    response = client.post(reverse("figure-decision", args=[proposal.pk]), {"action": "confirm"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("review-queue")
    assert "the series&#x27; point is written" in response.content.decode()
    assert SeriesPoint.objects.get(series__slug=DRONES).value == 810
    assert f'id="figure-{proposal.pk}"' not in response.content.decode()


def test_a_viewer_cannot_decide_a_figure(client, rules, bob):
    propose_figures([entry(HEADLINE).pk], NOW)
    proposal = ProposedPoint.objects.get(series__slug=DRONES)
    client.force_login(bob)
    assert (
        client.post(reverse("figure-decision", args=[proposal.pk]), {"action": "confirm"}).status_code == 403
    )
    assert client.get(reverse("figure-decision", args=[proposal.pk])).status_code in (403, 405)
    assert ProposedPoint.objects.get(pk=proposal.pk).state == "proposed"
    assert not SeriesPoint.objects.exists()
