"""End to end in headless Chromium (Debian's /usr/bin/chromium through Playwright) against a live server:
log in, see the Plotly figures drawn, log an event, confirm a proposal from the keyboard, see the overview
change; feed text never runs as script; the overview fits a phone screen; no page breaks its
Content-Security-Policy."""

import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from indicators.models import Event, EventReview, Indicator
from tests.factories import EntryFactory, EventFactory, FeedFactory, StoryFactory
from tests.helpers import log

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Events drawn in the timeline: the sum of the bar heights (reverses are drawn below the axis).
COUNT_BARS = """
document.getElementById('fig-timeline-plot').data
  .reduce((n, t) => n + t.y.reduce((a, b) => a + Math.abs(b), 0), 0)
"""
HOSTILE = '<script>window.__pwned = 1; alert("xss")</script><img src=x onerror="window.__pwned=2">'


def propose(title, slug):
    story = StoryFactory(title=title, outlet_count=2)
    EntryFactory(story=story, title=title, link="https://wire.example.org/1", outlet="Wire", lang="en")
    return log(
        slug,
        "advance",
        timezone.localdate() - datetime.timedelta(days=2),
        title=title,
        origin="feed",
        sources=[{"url": "https://wire.example.org/1", "outlet": "Wire"}],
        story_id=story.pk,
        match_rule="evacuation/en/1",
        match_terms=["evacuation", "corridor"],
        match_score=0.9,
    )


@pytest.fixture(scope="module", autouse=True)
def _orm_beside_playwright(django_db_setup):
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
    # The test database is created before Chromium starts; the variable is restored after this module.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def watch_list(transactional_db):
    """The 16 indicators. Transactional tests flush the database afterwards, and the serialized copy that
    would restore it is not reachable while Playwright's loop runs, so seed them (idempotent) if missing."""
    from indicators.seeding import seed_indicators

    seed_indicators()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


# Installed before any page script: every CSP violation the page reports, as "directive: blocked URI".
COLLECT_CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.effectiveDirective + ': ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile));
"""


def login(page, username, password):
    page.goto("/accounts/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def card(page, slug):
    return page.locator(f'li.indicator-card:has(a[href^="/indicators/{slug}/"])').inner_text()


def wait_for_figures(page):
    page.wait_for_selector('[data-figure="fig-timeline"][data-rendered="true"]')
    page.wait_for_selector('[data-figure="fig-stages"][data-rendered="true"]')


def test_analyst_logs_and_reviews_and_the_overview_follows(page, alice):
    proposal = propose("Humanitarian corridor opened near Sumy", "evacuation")
    EventFactory(
        indicator=Indicator.objects.get(slug="sanctions-pressure"),
        occurred_on=datetime.date(2025, 9, 10),
        title="New sanctions package",
    )
    login(page, "alice", "alice-password-1")

    # The overview draws its Plotly figures, from the local plotly.js, with data in them.
    wait_for_figures(page)
    assert page.locator("#fig-timeline-plot .main-svg").count() >= 1
    traces = page.evaluate("document.getElementById('fig-timeline-plot').data.length")
    assert traces == 8
    drawn = page.evaluate(COUNT_BARS)
    assert drawn == 1  # one confirmed event so far
    assert page.locator("#fig-timeline-plot .bars .point").count() >= 1
    assert "pending review" in card(page, "evacuation")
    assert "not seen" in card(page, "ceasefire")
    assert page.evaluate("typeof window.Plotly") == "object"

    # Log an event through the form.
    page.click("text=Log an event")
    page.select_option("#id_indicator", "ceasefire")
    page.check("input[name=direction][value=advance]")
    page.fill("#id_occurred_on", (timezone.localdate() - datetime.timedelta(days=1)).isoformat())
    page.fill("#id_title", "Both sides announce a 30-day ceasefire")
    page.fill("#id_sources", "https://news.example.org/ceasefire\nhttps://other.example.net/truce")
    page.click("button:has-text('Log and confirm')")
    page.wait_for_selector("text=Logged and confirmed")
    logged = Event.objects.get(title="Both sides announce a 30-day ceasefire")
    assert (logged.state, logged.created_by_id) == ("confirmed", alice.pk)

    # Confirm the proposal in the review queue from the keyboard: the first item has focus, "c" confirms.
    page.goto("/review/")
    page.wait_for_selector(f"#event-{proposal.pk}:focus")
    assert "evacuation" in page.inner_text(f"#event-{proposal.pk} .why")
    page.keyboard.press("c")
    page.wait_for_selector("text=Confirmed: “Humanitarian corridor opened near Sumy”")
    proposal.refresh_from_db()
    assert proposal.state == "confirmed" and proposal.reviewed_by_id == alice.pk
    assert EventReview.objects.filter(event=proposal, action="confirmed", actor=alice).exists()

    # The overview changed.
    page.goto("/")
    wait_for_figures(page)
    assert "advancing" in card(page, "evacuation")
    assert "advancing" in card(page, "ceasefire")
    drawn = page.evaluate(COUNT_BARS)
    assert drawn == 3
    stages = page.evaluate("document.getElementById('fig-stages-plot').data[0].x")
    assert stages == [1, 0, 0]  # evacuation is stage 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
    assert page.dialogs == []


def test_script_in_feed_text_never_runs(page, alice):
    propose(HOSTILE, "evacuation")
    FeedFactory(title=HOSTILE, last_error_message=HOSTILE)
    login(page, "alice", "alice-password-1")
    for url in ("/review/", "/feeds/", "/indicators/evacuation/"):
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.evaluate("window.__pwned === undefined"), url
        assert "<script>window.__pwned" in page.inner_text("main"), url  # shown as text
    # Hover text in the heatmap is escaped too.
    Event.objects.filter(title=HOSTILE).update(state="confirmed")
    page.goto("/heatmap/")
    page.wait_for_selector('[data-figure="fig-heatmap"][data-rendered="true"]')
    page.hover("#fig-heatmap-plot .nsewdrag", position={"x": 5, "y": 5})
    assert page.evaluate("window.__pwned === undefined")
    assert page.dialogs == []


def test_overview_fits_a_phone_screen(browser, live_server, bob):
    context = browser.new_context(viewport={"width": 375, "height": 740}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        login(page, "bob", "bob-password-1")
        wait_for_figures(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page is {width}px wide on a 375px screen"
        assert page.locator("li.indicator-card").count() == 16
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "overview-phone.png"), full_page=True)
    finally:
        context.close()


def test_no_page_breaks_the_content_security_policy(page, alice):
    """Every page a user or an admin opens, under the policy the server sends: no violation reported, and
    the Plotly figures still draw."""
    from tests.factories import UserFactory

    UserFactory(username="root", is_staff=True, is_superuser=True)
    proposal = propose("Humanitarian corridor opened near Sumy", "evacuation")
    FeedFactory(title="Wire")
    page.add_init_script(COLLECT_CSP_VIOLATIONS)
    response = page.goto("/accounts/login/")
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "object-src 'none'" in policy, policy
    login(page, "alice", "alice-password-1")
    pages = {
        "/": ["fig-timeline", "fig-stages"],
        "/categories/humanitarian/": [],
        "/indicators/evacuation/": [],
        f"/events/{proposal.pk}/": [],
        "/heatmap/": ["fig-heatmap"],
        "/feeds/": [],
        "/review/": [],
        "/events/new/": [],
        "/export/": [],
        "/codebook/": [],
    }
    for url, figures in pages.items():
        page.goto(url)
        page.wait_for_load_state("load")
        for fig in figures:
            page.wait_for_selector(f'[data-figure="{fig}"][data-rendered="true"]')
        assert page.evaluate("window.__csp") == [], url
    page.context.clear_cookies()
    login_admin = page.goto("/admin/login/?next=/admin/")
    assert login_admin.ok
    page.fill("#id_username", "root")
    page.fill("#id_password", "root-password-1")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    for url in (
        "/admin/",
        "/admin/indicators/event/",
        f"/admin/indicators/event/{proposal.pk}/change/",
        "/admin/indicators/matchrule/add/",
    ):
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.evaluate("window.__csp") == [], url
    assert page.dialogs == []


def test_series_page_draws_its_figure_and_an_analyst_adds_a_point(page, alice):
    """The series page draws daily values, both means and the baseline from the local plotly.js, under the
    Content-Security-Policy; an analyst's point from the form appears in the figure."""
    from indicators import series
    from indicators.models import Series
    from indicators.seeding import seed_series

    seed_series()  # the flush of transactional tests removes what the migration seeded
    drones = Series.objects.get(slug="drones-launched")
    now = timezone.now()
    for i in range(60):
        series.save_point(
            drones.pk, datetime.date(2025, 7, 1) + datetime.timedelta(days=i), 100 + i % 9, now=now
        )
    series.points_changed([drones.pk], now=now)
    page.add_init_script(COLLECT_CSP_VIOLATIONS)
    login(page, "alice", "alice-password-1")
    page.goto("/series/drones-launched/")
    page.wait_for_selector('[data-figure="fig-series"][data-rendered="true"]')
    names = page.evaluate("document.getElementById('fig-series-plot').data.map(t => t.name)")
    assert names == ["daily", "7-day mean", "28-day mean", "pre-summit baseline"]
    assert page.evaluate("document.getElementById('fig-series-plot').data[0].y.length") == 60
    assert page.locator("#fig-series-plot .main-svg").count() >= 1
    assert "28-day mean" in page.inner_text(".series-sentence")

    page.fill("#id_date", "2025-09-05")
    page.fill("#id_value", "250")
    page.click("button:has-text('Save the point')")
    page.wait_for_selector("text=Added 250 for 5 Sep 2025.")
    page.wait_for_selector('[data-figure="fig-series"][data-rendered="true"]')
    assert page.evaluate("document.getElementById('fig-series-plot').data[0].y.length") == 61
    assert page.evaluate("window.__csp") == []
    assert page.dialogs == []
