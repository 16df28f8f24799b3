"""The overview (home page): statuses by category, arrows, Plotly figures, date range, constant queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from indicators.models import Event, Indicator
from tests.factories import EventFactory, EventSourceFactory, MilestoneFactory
from tests.helpers import figure, indicator_card

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(reverse("overview"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_public_setting_opens_the_overview_to_anonymous_visitors(client, settings):
    settings.WATCHPOST_PUBLIC_DASHBOARDS = True
    response = client.get(reverse("overview"))
    assert response.status_code == 200
    assert "Log an event" not in response.content.decode()


def test_viewer_sees_the_sixteen_indicators_in_four_categories(client, bob):
    client.force_login(bob)
    response = client.get(reverse("overview"))
    assert response.status_code == 200
    html = response.content.decode()
    for title in Indicator.objects.values_list("title", flat=True):
        assert title in html
    for category in ("Ground", "Humanitarian", "Political", "Coercive"):
        assert f">{category}</a></h3>" in html
    assert html.count('class="indicator-card"') == 16
    assert "Log an event" not in html  # bob is no analyst
    assert "plotly/plotly.min.js" in html


def test_statuses_arrows_and_last_change(client, bob):
    today = timezone.localdate()
    EventFactory(
        indicator=Indicator.objects.get(slug="prisoner-exchange"),
        occurred_on=today - datetime.timedelta(days=2),
    )
    EventFactory(
        indicator=Indicator.objects.get(slug="strike-reduction"),
        direction="reverse",
        occurred_on=datetime.date(2025, 9, 3),
    )
    EventFactory(indicator=Indicator.objects.get(slug="evacuation"), state="proposed", origin="feed")
    client.force_login(bob)
    html = client.get(reverse("overview")).content.decode()
    pe = indicator_card(html, "prisoner-exchange")
    assert "advancing" in pe and "arrow-improved" in pe
    assert f"since {today - datetime.timedelta(days=2):%-d %b %Y}" in pe
    sr = indicator_card(html, "strike-reduction")
    assert "reversed" in sr and "since 3 Sep 2025" in sr and "arrow-unchanged" in sr
    ev = indicator_card(html, "evacuation")
    assert "pending review" in ev and "1 pending" in ev
    assert "not seen" in indicator_card(html, "ceasefire")


def test_timeline_has_advances_above_and_reverses_below_with_the_summit_marked(client, bob):
    EventFactory(occurred_on=datetime.date(2025, 9, 3))  # humanitarian advance, a Wednesday
    EventFactory(occurred_on=datetime.date(2025, 9, 4))
    EventFactory(
        indicator=Indicator.objects.get(slug="sanctions-pressure"),
        direction="reverse",
        occurred_on=datetime.date(2025, 9, 10),
    )
    EventFactory(occurred_on=datetime.date(2025, 9, 5), state="rejected")  # never counted
    MilestoneFactory(date=datetime.date(2025, 10, 1), label="Coalition meeting")
    client.force_login(bob)
    fig = figure(client.get(reverse("overview")), "fig-timeline")
    traces = {t["name"]: t for t in fig["data"]}
    assert traces["Humanitarian advance"]["x"] == ["2025-09-01"]
    assert traces["Humanitarian advance"]["y"] == [2]
    assert traces["Coercive reverse"]["x"] == ["2025-09-08"]
    assert traces["Coercive reverse"]["y"] == [-1]
    assert fig["layout"]["barmode"] == "relative"
    labels = [a["text"] for a in fig["layout"]["annotations"]]
    assert labels == ["Anchorage summit", "Coalition meeting"]
    assert fig["layout"]["shapes"][0]["x0"] == "2025-08-15"


def test_stage_progress_counts_indicators_that_appeared(client, bob):
    EventFactory(indicator=Indicator.objects.get(slug="prisoner-exchange"))  # stage 1
    EventFactory(indicator=Indicator.objects.get(slug="prisoner-exchange"))  # same indicator: counts once
    EventFactory(indicator=Indicator.objects.get(slug="evacuation"))  # stage 1
    EventFactory(
        indicator=Indicator.objects.get(slug="strike-reduction"), direction="reverse"
    )  # not an advance
    EventFactory(indicator=Indicator.objects.get(slug="ceasefire"))  # no stage
    client.force_login(bob)
    fig = figure(client.get(reverse("overview")), "fig-stages")
    appeared, not_yet = fig["data"]
    assert appeared["x"] == [2, 0, 0]
    assert [a + b for a, b in zip(appeared["x"], not_yet["x"], strict=True)] == [3, 5, 3]


def test_date_range_filter_drives_every_figure_and_status(client, bob):
    EventFactory(occurred_on=datetime.date(2025, 9, 3))
    EventFactory(occurred_on=datetime.date(2025, 11, 20))
    client.force_login(bob)
    response = client.get(reverse("overview"), {"since": "2025-11-01", "until": "2025-11-30"})
    fig = figure(response, "fig-timeline")
    xs = [x for t in fig["data"] for x in t["x"]]
    assert xs == ["2025-11-17"]
    assert figure(response, "fig-stages")["data"][0]["x"] == [1, 0, 0]
    assert fig["layout"].get("annotations", []) == []  # the summit is outside the range
    html = response.content.decode()
    assert "since 20 Nov 2025" in indicator_card(html, "prisoner-exchange")
    assert 'value="2025-11-01"' in html
    # Arrows cover the 7 days up to the end of the range.
    assert "arrow-unchanged" in indicator_card(html, "prisoner-exchange")
    response = client.get(reverse("overview"), {"since": "2025-11-14", "until": "2025-11-20"})
    assert "arrow-improved" in indicator_card(response.content.decode(), "prisoner-exchange")


@pytest.mark.parametrize(
    "params, message",
    [
        ({"since": "yesterday"}, "Enter a date as YYYY-MM-DD"),
        ({"since": "2025-12-01", "until": "2025-11-01"}, "The start date is after the end date"),
    ],
)
def test_bad_date_range_says_what_to_fix_and_falls_back(client, bob, params, message):
    client.force_login(bob)
    response = client.get(reverse("overview"), params)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_feed_text_is_escaped_on_the_overview_and_in_figures(client, bob):
    EventFactory(title='<script>alert("x")</script>', state="confirmed")
    client.force_login(bob)
    html = client.get(reverse("indicator", args=["prisoner-exchange"])).content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;" in html


def _make_events(n):
    inds = list(Indicator.objects.all())
    start = datetime.date(2025, 8, 16)
    events = [
        Event(
            indicator=inds[i % len(inds)],
            direction="advance" if i % 3 else "reverse",
            occurred_on=start + datetime.timedelta(days=i % 400),
            title=f"Event {i}",
            origin="manual",
            state="confirmed" if i % 5 else "proposed",
        )
        for i in range(n)
    ]
    Event.objects.bulk_create(events, batch_size=2000)


@pytest.mark.slow  # 100,000 rows: about 20 s
def test_query_count_is_the_same_with_10_and_100000_events(client, bob):
    client.force_login(bob)
    _make_events(10)
    EventSourceFactory()
    client.get(reverse("overview"))  # warm the session and caches
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("overview")).status_code == 200
    # Copy now: the context reads the connection's log, which the next request resets.
    few = list(captured.captured_queries)
    _make_events(100_000 - 11)
    MilestoneFactory(date=datetime.date(2025, 12, 1), label="Another milestone")
    assert Event.objects.count() == 100_000
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("overview"))
    many = list(captured.captured_queries)
    assert response.status_code == 200
    assert 5 < len(few) == len(many) <= 12, [q["sql"] for q in many]
    assert "Another milestone" in response.content.decode()


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_dashboard_statuses_equal_the_service_statuses(seed):
    """The dashboards derive statuses from their daily aggregate; they must agree with
    indicators.services.indicator_statuses on any data, ties on the same day included."""
    import random

    from indicators import services
    from tracker.dashboards import queries

    rng = random.Random(seed)
    inds = list(Indicator.objects.all())
    start = datetime.date(2025, 8, 10)
    Event.objects.bulk_create(
        Event(
            indicator=rng.choice(inds[:6]),  # a few indicators, many events each: runs, reversals, ties
            direction=rng.choice(["advance", "reverse"]),
            occurred_on=start + datetime.timedelta(days=rng.randint(0, 40)),
            title=f"Random {i}",
            origin="manual",
            state=rng.choice(["confirmed", "confirmed", "confirmed", "proposed", "rejected"]),
        )
        for i in range(rng.randint(5, 120))
    )
    for since, until in [
        (None, None),
        (datetime.date(2025, 8, 15), datetime.date(2025, 9, 1)),
        (datetime.date(2025, 8, 25), datetime.date(2025, 8, 25)),
    ]:
        expected = services.indicator_statuses(since=since, until=until)
        got = queries.indicator_statuses(queries.Filters(since=since, until=until))
        fields = ("status", "since", "last_event_on", "confirmed", "pending", "label")

        def row(s, fields=fields):
            return (s.indicator.slug, *(getattr(s, f) for f in fields))

        assert [row(s) for s in got] == [row(s) for s in expected], (seed, since, until)


def test_every_figure_is_valid_plotly(client, bob):
    """Figures skip plotly's validation on the request path: validate them here."""
    import plotly.graph_objects as go

    EventFactory(occurred_on=datetime.date(2025, 9, 3), title="<i>x</i>")
    EventFactory(occurred_on=datetime.date(2025, 9, 10), direction="reverse")
    MilestoneFactory(date=datetime.date(2025, 9, 5), label="A & B")
    client.force_login(bob)
    overview = client.get(reverse("overview"))
    heatmap = client.get(reverse("heatmap"))
    indicator = client.get(reverse("indicator", args=["prisoner-exchange"]))
    for response, figure_id in [
        (overview, "fig-timeline"),
        (overview, "fig-stages"),
        (heatmap, "fig-heatmap"),
        (indicator, "fig-timeline"),
    ]:
        go.Figure(figure(response, figure_id))  # raises ValueError on any invalid property
