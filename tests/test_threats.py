"""Threats and deadlines, the second meeting (issue #13, sections 2 and 4): deadlines read from headlines
in four languages, a deadline coming then due (time_machine), each outcome with its audit line, the
ledger's credibility line, the overview block and the digest section, the exports and the codebook, the
second-summit line, the model's invariants, bad form input and viewers."""

import csv
import datetime
import io
import json

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from indicators import threats
from indicators.matching.deadlines import find_actor, find_deadline, find_place
from indicators.matching.seeding import seed_rules
from indicators.matching.versions import clear_cache
from indicators.models import Event, EventReview, Meeting, Threat, ThreatDeadline
from indicators.proposals import propose_for_entries
from indicators.services import indicator_status, review_event
from tests.factories import EntryFactory
from tests.helpers import at, log

pytestmark = pytest.mark.django_db

D = datetime.date
PUBLISHED = D(2025, 8, 1)  # a Friday
DEADLINE = D(2025, 9, 1)


def threat(day=None, deadline=DEADLINE, who="Trump", what="secondary tariffs", actor=None):
    """A confirmed consequences-threat event with its details, written through the services."""
    day = day or D(2025, 8, 20)
    event = log("consequences-threat", "advance", day, title=f"{who} threatens {what}", now=at(day))
    threats.set_threat(
        event.pk, now=at(day), threatened_by=who, consequence=what, deadline=deadline, actor_id=actor
    )
    return event


# --- The deadline reader ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lang, text, expected",
    [
        ("en", "Trump gives Russia until 8 August to agree a ceasefire", D(2025, 8, 8)),
        ("en", "Trump warns Moscow of sanctions by August 8", D(2025, 8, 8)),
        ("en", "Deadline for Moscow: 2025-08-08, the White House says", D(2025, 8, 8)),
        ("en", "Russia faces secondary tariffs within 10 days, Trump says", D(2025, 8, 11)),
        ("en", "Trump: Putin has 10 or 12 days to end the war", D(2025, 8, 11)),
        ("en", "EU threatens new sanctions in two weeks", D(2025, 8, 15)),
        ("en", "Trump wants Putin's answer by Friday", D(2025, 8, 8)),  # published on a Friday: next one
        ("fr", "Trump menace Moscou de sanctions d'ici le 8 août", D(2025, 8, 8)),
        ("fr", "Trump donne à la Russie jusqu'au 8 août", D(2025, 8, 8)),
        ("fr", "Trump menace la Russie de sanctions sous dix jours", D(2025, 8, 11)),
        ("fr", "Ultimatum de Trump à Poutine : une réponse d'ici vendredi", D(2025, 8, 8)),
        ("ru", "Трамп дал России время до 8 августа", D(2025, 8, 8)),
        ("ru", "Трамп пригрозил санкциями в течение 10 дней", D(2025, 8, 11)),
        ("ru", "ЕС введёт санкции через две недели", D(2025, 8, 15)),
        ("ru", "Трамп ждёт ответа Кремля к пятнице", D(2025, 8, 8)),
        ("uk", "Трамп дав Росії час до 8 серпня", D(2025, 8, 8)),
        ("uk", "Трамп пригрозив санкціями протягом 10 днів", D(2025, 8, 11)),
        ("uk", "ЄС запровадить санкції через два тижні", D(2025, 8, 15)),
        ("uk", "Трамп чекає відповіді Путіна до п’ятниці", D(2025, 8, 8)),
        ("en", "Trump warns Putin of severe consequences", None),
        ("en", "Putin met Trump on 15 August in Alaska", None),  # a date, but no deadline cue
    ],
)
def test_deadlines_are_read_in_four_languages_relative_to_publication(lang, text, expected):
    assert find_deadline(text, lang, PUBLISHED) == expected


def test_a_day_and_month_long_past_mean_next_year():
    assert find_deadline("Trump gives Moscow until 10 January", "en", D(2025, 12, 20)) == D(2026, 1, 10)


def test_who_threatened_and_where_from_short_lists_of_cues():
    assert find_actor("Трамп пригрозил России санкциями") == "Trump"
    assert find_actor("L'UE menace Moscou de nouvelles sanctions") == "EU"
    assert find_actor("Europe waits for news") == ""  # "eu" is a word, not a prefix
    assert find_place("Трамп і Путін зустрінуться в Будапешті") == "Budapest"


def test_a_threat_proposed_from_an_entry_carries_the_deadline_and_who_threatened():
    seed_rules()
    clear_cache()
    now = at(D(2025, 8, 1), 14)
    entry = EntryFactory(
        title="Trump warns Russia of severe consequences, gives Moscow until 8 August",
        lang="en",
        published_at=at(D(2025, 8, 1), 9),
        story__first_seen_at=now,
        story__last_seen_at=now,
    )
    propose_for_entries([entry.pk], now)
    clear_cache()
    event = Event.objects.get(indicator__slug="consequences-threat")
    assert event.state == "proposed"
    assert event.threat.threatened_by == "Trump"
    deadline = event.threat.deadlines.get()
    assert (deadline.due_on, deadline.outcome, deadline.set_by_label) == (D(2025, 8, 8), "", "matcher")


# --- The model's invariants ---------------------------------------------------------------------------


def test_a_deadline_belongs_to_consequences_threat_events_only(alice):
    other = log("sanctions-pressure", "advance", D(2025, 9, 3))
    with pytest.raises(ValidationError, match="consequences-threat"):
        threats.set_threat(other.pk, now=at(D(2025, 9, 3)), deadline=DEADLINE)
    assert not Threat.objects.exists()
    summit = log("prisoner-exchange", "advance", D(2025, 9, 3))
    with pytest.raises(ValidationError, match="second-summit"):
        threats.set_meeting(summit.pk, now=at(D(2025, 9, 3)), status="proposed", place="Budapest")


def test_moving_a_decided_threat_to_another_indicator_is_refused(alice):
    event = threat()
    follow = log("sanctions-pressure", "advance", D(2025, 9, 2))
    threats.record_outcome(event.pk, outcome="carried_out", follow_up_id=follow.pk, now=at(D(2025, 9, 2)))
    with pytest.raises(ValidationError, match="clear them first"):
        review_event(
            event.pk,
            action="confirm",
            actor_id=alice.pk,
            now=at(D(2025, 9, 3)),
            indicator_id=follow.indicator_id,
        )


# --- Coming, due, outcomes ----------------------------------------------------------------------------


def test_a_deadline_is_coming_within_7_days_then_due_once_passed(client, alice):
    event = threat()
    client.force_login(alice)
    with time_machine.travel(at(DEADLINE - datetime.timedelta(days=10)), tick=False):
        assert "Threats due" not in client.get(reverse("overview")).content.decode()
    with time_machine.travel(at(DEADLINE - datetime.timedelta(days=3)), tick=False):
        html = client.get(reverse("overview")).content.decode()
        assert "Threats due" in html and "deadline in 3 days" in html
        assert "threat-coming" in html and "threat-due" not in html
    with time_machine.travel(at(DEADLINE + datetime.timedelta(days=1)), tick=False):
        html = client.get(reverse("overview")).content.decode()
        assert "threat-due" in html and "deadline passed 1 day ago" in html
        assert reverse("threat-outcome", args=[event.pk]) in html  # the link to record the outcome
        [due] = threats.open_deadlines(D(2025, 9, 2))
        assert due.is_due and due.threatened_by == "Trump"


def test_carried_out_links_the_follow_up_event_and_lands_in_the_audit_trail(client, alice):
    event = threat()
    sanctions = log("sanctions-pressure", "advance", D(2025, 9, 2), title="US sanctions Rosneft and Lukoil")
    client.force_login(alice)
    with time_machine.travel(at(D(2025, 9, 3)), tick=False):
        response = client.post(
            reverse("threat-outcome", args=[event.pk]), {"outcome": "carried_out", "follow_up": sanctions.pk}
        )
    assert response.status_code == 302
    deadline = ThreatDeadline.objects.get()
    assert (deadline.outcome, deadline.follow_up_id, deadline.decided_by) == (
        "carried_out",
        sanctions.pk,
        alice,
    )
    audit = event.reviews.filter(action=EventReview.Action.EDITED).last()
    assert audit.actor == alice and audit.changes["deadline_outcome"] == [None, "carried_out"]
    assert "US sanctions Rosneft" in audit.changes["follow_up"][1]
    assert threats.open_deadlines(D(2025, 9, 3)) == []


def test_extended_keeps_the_history_of_deadlines(alice):
    event = threat()
    threats.record_outcome(
        event.pk, outcome="extended", new_deadline=D(2025, 9, 15), now=at(D(2025, 9, 2)), actor_id=alice.pk
    )
    rows = list(ThreatDeadline.objects.values_list("due_on", "outcome"))
    assert rows == [(DEADLINE, "extended"), (D(2025, 9, 15), "")]
    audit = event.reviews.last()
    assert audit.changes == {"deadline_outcome": [None, "extended"], "deadline": ["2025-09-01", "2025-09-15"]}
    [coming] = threats.open_deadlines(D(2025, 9, 10))
    assert (coming.due_on, coming.when) == (D(2025, 9, 15), "deadline in 5 days")
    with pytest.raises(ValidationError, match="a day after 15 Sep 2025"):
        threats.record_outcome(
            event.pk, outcome="extended", new_deadline=D(2025, 9, 10), now=at(D(2025, 9, 16))
        )


def test_lapsed_records_a_reverse_event_of_the_indicator(alice):
    event = threat()
    with pytest.raises(ValidationError, match="has not passed yet"):
        threats.record_outcome(event.pk, outcome="lapsed", now=at(D(2025, 8, 30)), actor_id=alice.pk)
    deadline = threats.record_outcome(event.pk, outcome="lapsed", now=at(D(2025, 9, 5)), actor_id=alice.pk)
    reverse = deadline.follow_up
    assert (reverse.indicator.slug, reverse.direction, reverse.state) == (
        "consequences-threat",
        "reverse",
        "confirmed",
    )
    assert reverse.occurred_on == D(2025, 9, 2) and reverse.created_by == alice
    assert indicator_status(reverse.indicator_id).status == "reversed"
    assert event.reviews.last().changes["deadline_outcome"] == [None, "lapsed"]


# --- The ledger ---------------------------------------------------------------------------------------


def test_the_coercive_page_shows_the_ledger_and_its_credibility_line(client, bob):
    carried = threat(D(2025, 8, 20), deadline=D(2025, 9, 1), what="secondary tariffs")
    extended = threat(D(2025, 9, 5), deadline=D(2025, 9, 20), who="EU", what="a 19th package")
    lapsed = threat(D(2025, 9, 25), deadline=D(2025, 10, 5), what="Tomahawks")
    threat(D(2025, 8, 1), deadline=D(2025, 8, 8), what="tariffs")  # deadline before the summit: not counted
    follow = log("sanctions-pressure", "advance", D(2025, 9, 2), title="Tariffs on India for Russian oil")
    threats.record_outcome(carried.pk, outcome="carried_out", follow_up_id=follow.pk, now=at(D(2025, 9, 2)))
    threats.record_outcome(
        extended.pk, outcome="extended", new_deadline=D(2025, 10, 1), now=at(D(2025, 9, 21))
    )
    threats.record_outcome(lapsed.pk, outcome="lapsed", now=at(D(2025, 10, 7)))
    ledger = threats.threat_ledger()
    # The extension's new deadline is still open: it is counted as awaiting its outcome.
    assert ledger.credibility == (
        "4 deadlines since 15 Aug: 1 followed by action, 1 extended, 1 lapsed, 1 awaiting its outcome"
    )
    ThreatDeadline.objects.filter(outcome="").exclude(threat__event__title__contains="tariffs").delete()
    assert (
        threats.threat_ledger().credibility
        == "3 deadlines since 15 Aug: 1 followed by action, 1 extended, 1 lapsed"
    )
    client.force_login(bob)
    html = client.get(reverse("category", args=["coercive"])).content.decode()
    assert "Threat ledger" in html
    assert "3 deadlines since 15 Aug: 1 followed by action, 1 extended, 1 lapsed." in html
    assert "Tariffs on India for Russian oil" in html and "EU threatens a 19th package" in html
    assert "Threat ledger" not in client.get(reverse("category", args=["ground"])).content.decode()


# --- Digest, exports, codebook ------------------------------------------------------------------------


def test_the_digest_has_a_threats_due_section(alice):
    from tests.helpers import subscribe
    from tracker.digests import content, emails
    from tracker.digests.weeks import IsoWeek

    event = threat(deadline=D(2025, 9, 1))
    sub = subscribe(alice, now=at(D(2025, 8, 25)))
    digest = content.build_digest(sub.pk, IsoWeek(2025, 36), at(D(2025, 9, 8), 9))
    _, text, html = emails.render("digest", {"digest": digest})
    assert (
        "== THREATS DUE ==" in text and "deadline 1 September 2025: due, deadline passed 7 days ago" in text
    )
    assert f"/events/{event.pk}/threat/outcome/" in text
    assert ">Threats due</h2>" in html and "record the outcome" in html
    assert "WATCHPOST WEEKLY DIGEST" in text and "Unsubscribe:" in text  # the rest of the email stands


def test_exports_carry_the_deadline_and_its_outcome(client, bob):
    event = threat()
    threats.record_outcome(event.pk, outcome="extended", new_deadline=D(2025, 9, 15), now=at(D(2025, 9, 2)))
    other = log("prisoner-exchange", "advance", D(2025, 9, 3))
    client.force_login(bob)
    rows = {e["id"]: e for e in json.loads(client.get(reverse("export-json")).content)["events"]}
    assert rows[event.pk]["deadline"] == "2025-09-15"
    assert rows[event.pk]["deadline_outcome"] == "pending"
    assert rows[event.pk]["deadlines_extended"] == ["2025-09-01"]
    assert (rows[other.pk]["deadline"], rows[other.pk]["deadline_outcome"]) == (None, None)
    body = client.get(reverse("export-csv")).content.decode("utf-8-sig")
    by_id = {int(r["id"]): r for r in csv.DictReader(io.StringIO(body))}
    assert (by_id[event.pk]["deadline"], by_id[event.pk]["deadline_outcome"]) == ("2025-09-15", "pending")
    assert (by_id[other.pk]["deadline"], by_id[other.pk]["deadline_outcome"]) == ("", "")
    codebook = client.get(reverse("codebook")).content.decode()
    for name in ("deadline", "deadline_outcome", "deadlines_extended"):
        assert f"<code>{name}</code>" in codebook
    assert "carried_out" in codebook and "Threats and deadlines" in codebook


# --- The second meeting -------------------------------------------------------------------------------


def test_the_second_summit_card_tells_its_history_in_one_line(client, bob):
    proposed = log(
        "second-summit", "advance", D(2025, 10, 16), title="Trump and Putin agree to meet in Budapest"
    )
    threats.set_meeting(proposed.pk, now=at(D(2025, 10, 16)), status="proposed", place="Budapest")
    shelved = log("second-summit", "reverse", D(2025, 10, 21), title="Budapest summit shelved")
    threats.set_meeting(shelved.pk, now=at(D(2025, 10, 21)), status="cancelled", place="Budapest")
    assert threats.meeting_line(threats.meeting_rows()) == "Budapest proposed 16 Oct; shelved 21 Oct"
    client.force_login(bob)
    html = client.get(reverse("overview")).content.decode()
    start = html.index('href="/indicators/second-summit/')
    assert "Budapest proposed 16 Oct; shelved 21 Oct" in html[start : html.index("</li>", start)]
    assert Meeting.objects.get(event=shelved).get_status_display() == "cancelled"


# --- Forms and access ---------------------------------------------------------------------------------


def test_analysts_edit_a_threat_on_the_event_page_and_bad_input_says_what_to_fix(client, alice):
    event = log("consequences-threat", "advance", D(2025, 8, 20))
    client.force_login(alice)
    page = client.get(reverse("event", args=[event.pk])).content.decode()
    assert reverse("threat-edit", args=[event.pk]) in page
    url = reverse("threat-edit", args=[event.pk])
    response = client.post(url, {"threatened_by": "Trump", "deadline": "8 August"}, follow=True)
    assert response.status_code == 200
    assert "Give a real day as YYYY-MM-DD" in response.content.decode()
    assert not Threat.objects.exists()
    client.post(url, {"threatened_by": "Trump", "consequence": "tariffs", "deadline": "2025-09-01"})
    assert Threat.objects.get().deadlines.get().due_on == DEADLINE
    assert event.reviews.last().changes["deadline"] == [None, "2025-09-01"]
    outcome = reverse("threat-outcome", args=[event.pk])
    review_event(event.pk, action="confirm", actor_id=alice.pk, now=at(D(2025, 8, 21)))
    response = client.post(outcome, {"outcome": "carried_out"})  # no follow-up event picked
    assert response.status_code == 400
    assert "Pick the confirmed event that carried the threat out" in response.content.decode()
    response = client.post(outcome, {"outcome": "extended", "new_deadline": "2025-08-01"})
    assert response.status_code == 400 and "a day after 1 Sep 2025" in response.content.decode()
    assert ThreatDeadline.objects.get().outcome == ""


def test_viewers_cannot_write(client, bob):
    event = threat()
    summit = log("second-summit", "advance", D(2025, 10, 16))
    client.force_login(bob)
    assert client.post(reverse("threat-edit", args=[event.pk]), {"threatened_by": "x"}).status_code == 403
    assert client.get(reverse("threat-outcome", args=[event.pk])).status_code == 403
    assert client.post(reverse("threat-outcome", args=[event.pk]), {"outcome": "lapsed"}).status_code == 403
    assert client.post(reverse("meeting-edit", args=[summit.pk]), {"status": "set"}).status_code == 403
    assert Threat.objects.get().threatened_by == "Trump" and not Meeting.objects.exists()
    assert ThreatDeadline.objects.get().outcome == ""
    client.logout()
    response = client.post(reverse("threat-edit", args=[event.pk]), {"threatened_by": "x"})
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_the_admin_edits_a_threat_on_its_event_only(client, admin_user):
    event = threat()
    other = log("prisoner-exchange", "advance", D(2025, 9, 3))
    client.force_login(admin_user)
    page = client.get(reverse("admin:indicators_event_change", args=[event.pk])).content.decode()
    assert "consequences-threat events" in page and "threat-0-deadline" in page
    assert "2025-09-01" in page
    page = client.get(reverse("admin:indicators_event_change", args=[other.pk])).content.decode()
    assert "consequences-threat events" not in page


def test_analysts_set_a_meeting_on_the_event_page(client, alice):
    summit = log("second-summit", "advance", D(2025, 10, 16))
    client.force_login(alice)
    page = client.get(reverse("event", args=[summit.pk])).content.decode()
    assert reverse("meeting-edit", args=[summit.pk]) in page
    url = reverse("meeting-edit", args=[summit.pk])
    response = client.post(url, {"status": "maybe", "place": "Budapest"}, follow=True)
    assert "Choose a status: proposed, set, cancelled or held." in response.content.decode()
    client.post(url, {"status": "set", "place": "Budapest", "date": "2025-10-30"})
    meeting = Meeting.objects.get()
    assert (meeting.status, meeting.place, meeting.date) == ("set", "Budapest", D(2025, 10, 30))
    assert summit.reviews.last().changes["place"] == [None, "Budapest"]
    assert threats.meeting_line(threats.meeting_rows()) == "Budapest set 16 Oct (for 30 Oct)"


def test_with_no_deadline_yet_the_ledger_says_so(db):
    from indicators.threats import threat_ledger

    assert (
        threat_ledger().credibility
        == "No deadline since 15 Aug yet: nothing to judge a threat's credibility by."
    )
