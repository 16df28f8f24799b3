import json
from pathlib import Path

import pytest
from django.core.management import call_command

from indicators.models import Event, Indicator
from indicators.seeding import seed_indicators
from tests.factories import EventFactory

CATALOGUE = Path(__file__).resolve().parents[2] / "shared" / "CATALOGUE.md"

EXPECTED = {
    "strike-reduction": ("ground", 2),
    "sector-stabilisation": ("ground", 2),
    "heavy-weapons-withdrawal": ("ground", 2),
    "verification-mechanism": ("ground", 2),
    "military-hotline": ("ground", 2),
    "ceasefire": ("ground", None),
    "prisoner-exchange": ("humanitarian", 1),
    "evacuation": ("humanitarian", 1),
    "civilian-infrastructure-protection": ("humanitarian", 1),
    "security-guarantees": ("political", 3),
    "second-summit": ("political", None),
    "sanctions-relief": ("political", 3),
    "peace-framework": ("political", 3),
    "consequences-threat": ("coercive", None),
    "sanctions-pressure": ("coercive", None),
    "military-support-pressure": ("coercive", None),
}


def test_migrations_seed_the_sixteen_indicators(db):
    got = {i.slug: (i.category, i.stage) for i in Indicator.objects.all()}
    assert got == EXPECTED


@pytest.mark.skipif(not CATALOGUE.exists(), reason="shared/CATALOGUE.md is not beside the checkout")
def test_seeded_watch_list_matches_the_catalogue_table():
    rows = {}
    for line in CATALOGUE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] and cells[0] not in ("slug",) and not cells[0].startswith("-"):
            rows[cells[0]] = (cells[1], int(cells[2]) if cells[2] else None)
    assert rows == EXPECTED


def test_every_indicator_has_wording_and_criteria(db):
    for ind in Indicator.objects.all():
        assert ind.title and ind.advance_criteria and ind.reverse_criteria, ind.slug
        assert ind.title_fr, f"{ind.slug} has no French wording from the editorial"


def test_reseeding_is_idempotent_and_keeps_events(db):
    ind = Indicator.objects.get(slug="ceasefire")
    EventFactory(indicator=ind)
    ind.title = "Edited by hand"
    ind.save()
    assert seed_indicators() == (0, 1)  # restores the catalogue wording, creates nothing
    assert seed_indicators() == (0, 0)
    call_command("seed", stdout=open("/dev/null", "w"))
    assert Indicator.objects.count() == 16
    assert Event.objects.filter(indicator__slug="ceasefire").count() == 1
    assert Indicator.objects.get(slug="ceasefire").title == "General ceasefire"


def test_seeding_recreates_a_deleted_indicator_and_follows_fixture_order(db, tmp_path):
    Indicator.objects.filter(slug="military-hotline").delete()
    assert seed_indicators() == (1, 0)
    fixture = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "indicators.json").read_text())
    assert list(Indicator.objects.values_list("slug", flat=True)) == [row["slug"] for row in fixture]
