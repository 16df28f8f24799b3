"""Dry-run of a rule change: gained and lost over stored entries, before saving; admin and command."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from indicators.matching.dryrun import dry_run_rule
from indicators.matching.seeding import seed_rules
from indicators.matching.store import clear_cache
from indicators.models import MatchRule
from tests.factories import EntryFactory, StoryFactory

NOW = datetime.datetime(2025, 10, 20, 12, 0, tzinfo=datetime.UTC)
TITLES = [
    "Russia and Ukraine swap 146 prisoners of war",
    "Ukraine and Russia hand back detained sailors in Black Sea deal",
    "Kremlin says next prisoner exchange with Kyiv postponed",
    "Stock exchange in Moscow suspends trading",
]


@pytest.fixture
def stored(db):
    seed_rules()
    clear_cache()
    story = StoryFactory(title="t", first_seen_at=NOW, last_seen_at=NOW)
    entries = [EntryFactory(title=t, story=story, published_at=NOW) for t in TITLES]
    yield {e.title: e.pk for e in entries}
    clear_cache()


def rule():
    return MatchRule.objects.get(indicator__slug="prisoner-exchange", language="en")


def test_gained_lost_and_flipped_without_saving(stored):
    candidate = rule()
    saved_terms = candidate.terms
    candidate.terms = candidate.terms.replace("prisoners of war\n", "") + "\nhand back detained"
    candidate.reverse_cues = "\n".join(
        x for x in candidate.reverse_cues.splitlines() if not x.startswith("postpon")
    )
    result = dry_run_rule(candidate)
    assert [c.entry_id for c in result.gained] == [stored[TITLES[1]]]
    assert result.lost == []  # "swap ... prisoners" still matches the first one
    assert [(c.entry_id, c.before_direction, c.direction) for c in result.flipped] == [
        (stored[TITLES[2]], "reverse", "advance")
    ]
    assert result.entries_checked == 4 and result.matched_before == 2 and result.matched_after == 3
    assert rule().terms == saved_terms  # nothing saved

    candidate = rule()
    candidate.enabled = False
    lost = dry_run_rule(candidate)
    assert sorted(c.entry_id for c in lost.lost) == sorted([stored[TITLES[0]], stored[TITLES[2]]])
    assert lost.gained == []


def test_admin_dry_run_button_shows_gained_and_lost_and_saves_nothing(client, admin_user, stored):
    client.force_login(admin_user)
    obj = rule()
    url = reverse("admin:indicators_matchrule_change", args=[obj.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Dry-run against stored entries" in page.content.decode()
    data = {
        "indicator": obj.indicator_id,
        "language": "en",
        "enabled": "on",
        "weight": "1.0",
        "terms": obj.terms + "\nhand back detained",
        "reverse_terms": obj.reverse_terms,
        "reverse_cues": obj.reverse_cues,
        "exclusions": obj.exclusions,
        "_dryrun": "Dry-run against stored entries",
    }
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Gained 1" in html and "lost 0" in html
    assert "Ukraine and Russia hand back detained sailors" in html
    assert "hand back detained" not in rule().terms  # not saved
    assert "hand back detained</textarea>" in html  # the form keeps the edit
    # Then saving keeps it.
    data.pop("_dryrun")
    data["_save"] = "Save"
    assert client.post(url, data).status_code == 302
    assert "hand back detained" in rule().terms


def test_admin_dry_run_with_a_bad_phrase_says_what_to_fix(client, admin_user, stored):
    client.force_login(admin_user)
    obj = rule()
    url = reverse("admin:indicators_matchrule_change", args=[obj.pk])
    data = {
        "indicator": obj.indicator_id,
        "language": "en",
        "weight": "1",
        "terms": "swap | many",
        "_dryrun": "1",
    }
    html = client.post(url, data).content.decode()
    assert "must be a number" in html and "Gained" not in html


@pytest.mark.parametrize(
    "url",
    [
        "admin:indicators_matchrule_changelist",
        "admin:indicators_scopeterm_changelist",
        "admin:indicators_matchrule_add",
    ],
)
def test_rule_admin_pages_render(client, admin_user, stored, url):
    client.force_login(admin_user)
    response = client.get(reverse(url), {"language__exact": "uk"} if url.endswith("changelist") else {})
    assert response.status_code == 200


def test_rule_changelist_filters_and_search(client, admin_user, stored):
    client.force_login(admin_user)
    url = reverse("admin:indicators_matchrule_changelist")
    html = client.get(url, {"language__exact": "ru", "q": "военнопленными"}).content.decode()
    assert "prisoner-exchange (ru)" in html
    assert "prisoner-exchange (uk)" not in html and "ceasefire (ru)" not in html
    everything = client.get(url, {"indicator__id__exact": rule().indicator_id}).content.decode()
    assert all(f"prisoner-exchange ({lang})" in everything for lang in ("en", "fr", "ru", "uk"))


def test_dryrun_rule_command(stored):
    out = io.StringIO()
    call_command(
        "dryrun_rule", "prisoner-exchange", "en", "--add-term", "hand back detained", "--json", stdout=out
    )
    result = json.loads(out.getvalue())
    assert [g["entry"] for g in result["gained"]] == [stored[TITLES[1]]]
    assert result["lost"] == []
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="nothing to remove"):
        call_command("dryrun_rule", "prisoner-exchange", "en", "--remove-term", "no such phrase")
    with pytest.raises(CommandError, match="Unknown indicator"):
        call_command("dryrun_rule", "peace", "en")
