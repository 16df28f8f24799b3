import datetime

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from indicators.models import Indicator
from indicators.services import Status, indicator_status, indicator_statuses, review_event
from tests.helpers import log

D = datetime.date


def status(slug):
    return indicator_status(Indicator.objects.get(slug=slug).pk)


def test_an_indicator_with_no_events_is_not_seen(db):
    s = status("ceasefire")
    assert (s.status, s.since, s.label, s.pending) == (Status.NOT_SEEN, None, "not seen", 0)


def test_advances_then_a_reversal(db, alice):
    log("prisoner-exchange", "advance", D(2025, 8, 24), actor=alice)
    log("prisoner-exchange", "advance", D(2025, 10, 2), actor=alice)
    s = status("prisoner-exchange")
    assert (s.status, s.since, s.last_event_on, s.confirmed) == (
        Status.ADVANCING,
        D(2025, 8, 24),
        D(2025, 10, 2),
        2,
    )

    log("prisoner-exchange", "reverse", D(2025, 11, 5), actor=alice)
    s = status("prisoner-exchange")
    assert (s.status, s.since, s.label) == (Status.REVERSED, D(2025, 11, 5), "reversed")

    log("prisoner-exchange", "advance", D(2025, 12, 1), actor=alice)
    log("prisoner-exchange", "advance", D(2025, 12, 9), actor=alice)
    s = status("prisoner-exchange")
    assert (s.status, s.since, s.last_event_on) == (Status.ADVANCING, D(2025, 12, 1), D(2025, 12, 9))


def test_status_follows_event_dates_not_entry_order(db, alice):
    log("second-summit", "reverse", D(2025, 10, 22), actor=alice)
    log("second-summit", "advance", D(2025, 10, 16), actor=alice)  # logged later, happened earlier
    assert status("second-summit").status == Status.REVERSED


def test_proposed_events_show_as_pending_never_as_confirmed(db, alice):
    proposed = log("evacuation", "advance", D(2025, 9, 1), origin="feed")
    s = status("evacuation")
    assert (s.status, s.pending, s.label) == (Status.NOT_SEEN, 1, "pending review")

    review_event(proposed.pk, action="reject", actor_id=alice.pk, now=timezone.now())
    s = status("evacuation")
    assert (s.status, s.pending, s.label) == (Status.NOT_SEEN, 0, "not seen")

    second = log("evacuation", "reverse", D(2025, 9, 3), origin="feed")
    review_event(second.pk, action="confirm", actor_id=alice.pk, now=timezone.now())
    assert status("evacuation").status == Status.REVERSED


def test_status_within_a_date_range(db, alice):
    log("sanctions-pressure", "advance", D(2025, 8, 20), actor=alice)
    log("sanctions-pressure", "reverse", D(2025, 10, 1), actor=alice)
    ind = Indicator.objects.filter(slug="sanctions-pressure")
    (s,) = indicator_statuses(queryset=ind, until=D(2025, 9, 30))
    assert s.status == Status.ADVANCING
    (s,) = indicator_statuses(queryset=ind, since=D(2025, 11, 1))
    assert s.status == Status.NOT_SEEN


def test_all_statuses_in_three_queries_whatever_the_number_of_events(db, alice):
    with CaptureQueriesContext(connection) as few:
        assert len(indicator_statuses()) == 16
    for i in range(30):
        log(
            "strike-reduction", "advance" if i % 2 else "reverse", D(2025, 8, 16) + datetime.timedelta(days=i)
        )
    with CaptureQueriesContext(connection) as many:
        statuses = indicator_statuses()
    assert len(many) == len(few) == 3  # indicators, confirmed events per day, pending counts
    assert statuses[0].indicator.slug == "strike-reduction"
    last = D(2025, 8, 16) + datetime.timedelta(days=29)
    assert (statuses[0].status, statuses[0].since, statuses[0].confirmed) == (Status.ADVANCING, last, 30)


def test_same_day_reversal_changes_status_that_day(db, alice):
    log("ceasefire", "advance", D(2025, 9, 1), actor=alice)
    log("ceasefire", "advance", D(2025, 9, 10), actor=alice)
    log("ceasefire", "reverse", D(2025, 9, 10), actor=alice)  # logged after the advance of the same day
    s = status("ceasefire")
    assert (s.status, s.since, s.last_event_on) == (Status.REVERSED, D(2025, 9, 10), D(2025, 9, 10))


def test_weekly_trend_arrows(db, alice):
    from indicators.services import indicator_trends

    week = (D(2025, 9, 1), D(2025, 9, 7))
    log("prisoner-exchange", "advance", D(2025, 9, 2))
    log("prisoner-exchange", "advance", D(2025, 9, 5))
    log("prisoner-exchange", "reverse", D(2025, 9, 6))
    log("strike-reduction", "reverse", D(2025, 9, 3))
    log("evacuation", "advance", D(2025, 9, 3))
    log("evacuation", "reverse", D(2025, 9, 4))
    log("ceasefire", "advance", D(2025, 9, 8))  # outside the week
    log("second-summit", "advance", D(2025, 9, 3), origin="feed")  # proposed: does not count
    trends = {
        Indicator.objects.get(pk=pk).slug: t
        for pk, t in indicator_trends(since=week[0], until=week[1]).items()
    }
    assert len(trends) == 16
    got = {slug: (t.arrow, t.symbol) for slug, t in trends.items() if t.arrow != "unchanged"}
    assert got == {
        "prisoner-exchange": ("improved", "↑"),
        "strike-reduction": ("deteriorated", "↓"),
        "evacuation": ("mixed", "↕"),
    }
    assert (trends["ceasefire"].symbol, trends["second-summit"].advances) == ("→", 0)
