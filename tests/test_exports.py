"""CSV and JSON exports following the filters, and the Atom feeds of newly confirmed events."""

import csv
import datetime
import io
import json
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse
from django.utils import timezone

from indicators.services import review_event
from tests.helpers import log

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def events(alice):
    return [
        log(
            "prisoner-exchange",
            "advance",
            datetime.date(2025, 9, 3),
            title="Swap of 84",
            actor=alice,
            sources=["https://reuters.example.org/a", "https://kyiv.example.ua/b"],
        ),
        log("sanctions-pressure", "reverse", datetime.date(2025, 9, 10), title='=HYPERLINK("http://evil")'),
        log("ceasefire", "advance", datetime.date(2025, 11, 1), title="Ceasefire talk"),
        log("evacuation", "advance", datetime.date(2025, 9, 5), title="Proposed corridor", origin="feed"),
    ]


def body_of(response):
    """The bytes of an export: whole (small, from the cache) or streamed (large)."""
    return b"".join(response.streaming_content) if response.streaming else response.content


def read_csv(response):
    body = body_of(response).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(body[1:])))


def read_json(response):
    return json.loads(body_of(response))


def test_csv_has_every_field_and_only_confirmed_events(client, bob, events):
    client.force_login(bob)
    response = client.get(reverse("export-csv"))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    assert [r["title"] for r in rows] == ["Swap of 84", '\'=HYPERLINK("http://evil")', "Ceasefire talk"]
    swap = rows[0]
    assert swap["indicator"] == "prisoner-exchange" and swap["category"] == "humanitarian"
    assert swap["stage"] == "1" and swap["direction"] == "advance" and swap["occurred_on"] == "2025-09-03"
    assert swap["state"] == "confirmed" and swap["origin"] == "manual" and swap["reviewed_by"] == "alice"
    assert swap["sources"] == "https://reuters.example.org/a https://kyiv.example.ua/b"
    assert swap["outlets"] == "2"
    assert rows[2]["stage"] == ""  # ceasefire has no stage


def test_csv_and_json_follow_the_filters(client, bob, events):
    client.force_login(bob)
    params = {"since": "2025-09-01", "until": "2025-09-30", "category": "coercive"}
    assert [r["title"] for r in read_csv(client.get(reverse("export-csv"), params))] == [
        '\'=HYPERLINK("http://evil")'
    ]
    data = read_json(client.get(reverse("export-json"), params))
    assert data["filters"]["category"] == "coercive" and data["filters"]["since"] == "2025-09-01"
    assert [e["indicator"] for e in data["events"]] == ["sanctions-pressure"]
    assert data["events"][0]["title"] == '=HYPERLINK("http://evil")'  # JSON is data, not a spreadsheet
    data = read_json(client.get(reverse("export-json"), {"state": "proposed"}))
    assert [e["title"] for e in data["events"]] == ["Proposed corridor"]
    data = read_json(client.get(reverse("export-json"), {"state": "all"}))
    assert len(data["events"]) == 4
    data = read_json(client.get(reverse("export-json"), {"direction": "reverse"}))
    assert len(data["events"]) == 1


def test_json_events_carry_sources_and_dates(client, bob, events):
    client.force_login(bob)
    response = client.get(reverse("export-json"))
    assert response["Content-Type"].startswith("application/json")
    swap = read_json(response)["events"][0]
    assert swap["stage"] == 1 and swap["occurred_on"] == "2025-09-03"
    assert swap["reviewed_at"] and swap["created_at"]
    assert swap["sources"][0] == {
        "url": "https://reuters.example.org/a",
        "outlet": "reuters.example.org",
        "language": "",
        "published_at": None,
        "claimant": "unknown",
        "stance": "claim",
    }


def test_export_page_counts_and_links_with_current_filters(client, bob, events):
    client.force_login(bob)
    html = client.get(reverse("export"), {"category": "humanitarian"}).content.decode()
    assert "<strong>1</strong> event matches" in html
    assert 'href="/export/events.csv?category=humanitarian"' in html


def test_exports_need_an_account_unless_public(client, settings, events):
    for name in ("export-csv", "export-json"):
        assert client.get(reverse(name)).status_code == 302
    settings.WATCHPOST_PUBLIC_DASHBOARDS = True
    assert len(read_csv(client.get(reverse("export-csv")))) == 3


@pytest.mark.parametrize(
    "query, field, says",
    [
        ({"since": "soon"}, "since", "Enter a date as YYYY-MM-DD"),
        ({"category": "nautical"}, "category", "Select a valid choice"),
        ({"until": "9999-12-31"}, "until", "Dates go at most a year ahead"),
        ({"since": "0001-01-01"}, "since", "Dates start on 1 January 2000"),
        ({"since": "2025-09-01", "until": "2025-08-01"}, "__all__", "The start date is after the end date"),
        ({"since": "2000-01-01", "until": "2025-08-01"}, "__all__", "at most 5 years"),
    ],
)
def test_a_bad_filter_is_refused_with_what_to_fix(client, bob, events, query, field, says):
    client.force_login(bob)
    as_json = client.get(reverse("export-json"), query)
    assert as_json.status_code == 400
    body = as_json.json()
    assert body["error"].startswith("The export was not made")
    assert any(says in m for m in body["fields"][field]), body
    as_csv = client.get(reverse("export-csv"), query)
    assert as_csv.status_code == 400 and as_csv["Content-Type"].startswith("text/plain")
    assert says in as_csv.content.decode()


def atom(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    return ET.fromstring(response.content)  # noqa: S314 - our own output


def test_atom_feed_lists_newly_confirmed_events_newest_decision_first(client, bob, alice, events):
    proposed = events[3]
    review_event(
        proposed.pk, action="confirm", actor_id=alice.pk, now=timezone.now() + datetime.timedelta(minutes=1)
    )
    client.force_login(bob)
    feed = atom(client.get(reverse("atom-events")))
    titles = [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")]
    assert len(titles) == 4
    assert titles[0] == "▲ Civilian evacuations: Proposed corridor"
    humanitarian = atom(client.get(reverse("atom-category", args=["humanitarian"])))
    titles = [e.find(f"{ATOM}title").text for e in humanitarian.findall(f"{ATOM}entry")]
    assert len(titles) == 2 and all("Ceasefire" not in t for t in titles)
    assert "humanitarian" in humanitarian.find(f"{ATOM}title").text


def test_atom_escapes_hostile_text(client, bob):
    log("ceasefire", "advance", datetime.date(2025, 9, 1), title="<script>alert(1)</script>")
    client.force_login(bob)
    response = client.get(reverse("atom-events"))
    assert b"<script>" not in response.content
    entry = atom(response).find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text.endswith("<script>alert(1)</script>")  # text, once decoded
    summary = entry.find(f"{ATOM}summary")
    assert summary.get("type") == "html" and "<script>" not in summary.text  # still escaped as HTML


def test_atom_feed_with_personal_key_works_without_a_session(client, bob, events):
    assert client.get(reverse("atom-events")).status_code == 302
    client.force_login(bob)
    html = client.get(reverse("export")).content.decode()
    start = html.index('href="/atom/events/?key=') + len('href="')
    url = html[start : html.index('"', start)].replace("&amp;", "&")
    client.logout()
    from urllib.parse import unquote

    assert len(atom(client.get(unquote(url))).findall(f"{ATOM}entry")) == 3
    assert client.get(reverse("atom-events"), {"key": "forged:key"}).status_code == 302
    bob.is_active = False
    bob.save()
    assert client.get(unquote(url)).status_code == 302


def test_unknown_category_feed_is_404(client, bob):
    client.force_login(bob)
    assert client.get("/atom/categories/nautical/").status_code == 404


def test_public_dashboards_show_anonymous_visitors_confirmed_events_only(client, settings, alice, events):
    from indicators.models import Event

    settings.WATCHPOST_PUBLIC_DASHBOARDS = True
    data = read_json(client.get(reverse("export-json"), {"state": "all"}))
    assert data["filters"]["state"] == "confirmed"
    assert {e["state"] for e in data["events"]} == {"confirmed"}
    assert all(e["reviewed_by"] == "" for e in data["events"])
    csv_rows = read_csv(client.get(reverse("export-csv"), {"state": "all"}))
    assert {r["state"] for r in csv_rows} == {"confirmed"} and {r["reviewed_by"] for r in csv_rows} == {""}
    confirmed = Event.objects.filter(state="confirmed").first()
    page = client.get(f"/events/{confirmed.pk}/").content.decode()
    assert "Audit trail" not in page and "alice" not in page
    hidden = Event.objects.exclude(state="confirmed").first()
    assert client.get(f"/events/{hidden.pk}/").status_code == 404
    client.force_login(alice)
    assert "Audit trail" in client.get(f"/events/{confirmed.pk}/").content.decode()
