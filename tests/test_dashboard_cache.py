"""The dashboards' cache (tracker/dashboards/cache.py): a second view runs few queries and shows the same;
every way of changing the watch list shows on the next view; one visitor class never sees another's.

Transactional: the cache is not used inside an open transaction (the `db` fixture holds one for the whole
test), and these tests are about what other requests see after a write has committed.
"""

import datetime
import re
from html.parser import HTMLParser

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from indicators import changes, services
from indicators.models import Event, Indicator
from tests.factories import EntryFactory, MilestoneFactory, StoryFactory
from tests.helpers import figure, indicator_card, log

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)
PAGES = [
    reverse("overview"),
    reverse("category", args=["humanitarian"]),
    reverse("indicator", args=["prisoner-exchange"]),
    reverse("heatmap"),
]


def get(client, url, params=None):
    """(the page's text, the SQL queries it ran)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200, (url, response.status_code)
    return _strip_tokens(response.content.decode()), list(captured.captured_queries)


def _strip_tokens(html):
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def proposal(title="Russia and Ukraine exchange 150 prisoners", slug="prisoner-exchange", **kw):
    return log(slug, "advance", YESTERDAY, title=title, origin="feed", actor_label="matcher", **kw)


@pytest.mark.parametrize("url", PAGES)
def test_a_second_view_runs_far_fewer_queries_and_shows_the_same(client, bob, url):
    log("prisoner-exchange", "advance", YESTERDAY, title="Swap of 84 prisoners")
    proposal("A proposed swap")
    MilestoneFactory(date=YESTERDAY, label="Coalition meeting")
    client.force_login(bob)
    first, built = get(client, url)
    second, served = get(client, url)
    assert second == first
    # Left: the session, the user, the analyst check (three: the navigation needs it anyway) and the
    # generation (highest ids, one query). Every query of the page's own is gone.
    assert len(served) <= 6 and len(built) - len(served) >= 4, [q["sql"] for q in served]
    assert not any('indicators_event"."occurred_on' in q["sql"] for q in served)


def test_the_overview_shows_a_confirmation_through_the_service_at_once(client, bob, alice):
    event = proposal()
    client.force_login(bob)
    html, _ = get(client, "/")
    assert "pending review" in indicator_card(html, "prisoner-exchange")
    services.review_event(event.pk, action="confirm", actor_id=alice.pk, now=timezone.now())
    html, _ = get(client, "/")
    assert "advancing" in indicator_card(html, "prisoner-exchange")
    assert "pending" not in indicator_card(html, "prisoner-exchange")


def test_a_decision_in_the_review_queue_shows_on_the_next_view(client, alice):
    event = proposal()
    client.force_login(alice)
    get(client, "/")  # cached, pending
    indicator_page, _ = get(client, "/indicators/prisoner-exchange/")
    assert "Pending review" in indicator_page
    response = client.post(f"/review/{event.pk}/", {"action": "confirm", "note": ""})
    assert response.status_code == 302
    html, _ = get(client, "/")
    assert "advancing" in indicator_card(html, "prisoner-exchange")
    indicator_page, _ = get(client, "/indicators/prisoner-exchange/")
    assert "Pending review" not in indicator_page and "Confirmed events (1)" in indicator_page
    # An edit that keeps it proposed shows too (another event, another indicator).
    other = proposal("Evacuation from Sumy", slug="evacuation")
    get(client, "/indicators/ceasefire/")
    client.post(f"/review/{other.pk}/", {"action": "edit", "indicator": "ceasefire", "note": ""})
    assert "Evacuation from Sumy" in get(client, "/indicators/ceasefire/")[0]


def test_logging_an_event_shows_on_the_next_view(client, alice, bob):
    client.force_login(bob)
    assert "not seen" in indicator_card(get(client, "/")[0], "evacuation")
    client.force_login(alice)
    response = client.post(
        reverse("log-event"),
        {
            "indicator": "evacuation",
            "direction": "advance",
            "occurred_on": YESTERDAY.isoformat(),
            "title": "Civilians evacuated from Vovchansk",
            "sources": "https://news.example.org/vovchansk",
        },
    )
    assert response.status_code == 302
    client.force_login(bob)
    assert "advancing" in indicator_card(get(client, "/")[0], "evacuation")


class _FormFields(HTMLParser):
    """The fields of the admin's change form, as a browser would submit them unchanged."""

    def __init__(self):
        super().__init__()
        self.data, self._select, self._textarea = {}, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "checkbox", "radio"):
            self.data[name] = a.get("value", "")
        elif tag == "input" and name and "checked" in a:
            self.data[name] = a.get("value", "on")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data.lstrip("\n") if not self.data[self._textarea] else data


def test_the_admin_confirm_action_and_edit_show_on_the_next_view(client, admin_user, bob):
    event = proposal()
    client.force_login(bob)
    assert "pending review" in indicator_card(get(client, "/")[0], "prisoner-exchange")
    client.force_login(admin_user)
    client.post(
        reverse("admin:indicators_event_changelist"),
        {"action": "confirm_selected", "_selected_action": [event.pk]},
    )
    client.force_login(bob)
    assert "advancing" in indicator_card(get(client, "/")[0], "prisoner-exchange")

    client.force_login(admin_user)
    url = reverse("admin:indicators_event_change", args=[event.pk])
    parser = _FormFields()
    parser.feed(client.get(url).content.decode())
    data = {k: v for k, v in parser.data.items() if not k.startswith("_")}
    data.update(direction="reverse", _save="Save")
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Event.objects.get(pk=event.pk).direction == "reverse"
    client.force_login(bob)
    assert "reversed" in indicator_card(get(client, "/")[0], "prisoner-exchange")


def test_deleting_an_event_and_adding_a_milestone_show_on_the_next_view(client, bob):
    event = log("prisoner-exchange", "advance", YESTERDAY)
    client.force_login(bob)
    assert "advancing" in indicator_card(get(client, "/")[0], "prisoner-exchange")
    Event.objects.filter(pk=event.pk).delete()  # the admin's delete action: a queryset delete
    assert "not seen" in indicator_card(get(client, "/")[0], "prisoner-exchange")
    milestone = MilestoneFactory(date=YESTERDAY, label="Coalition meeting")
    labels = lambda: [a["text"] for a in figure(client.get("/"), "fig-timeline")["layout"]["annotations"]]  # noqa: E731
    assert labels()[-1] == "Coalition meeting"
    milestone.label = "Coalition summit"
    milestone.save()
    assert labels()[-1] == "Coalition summit"


def test_a_renamed_indicator_shows_on_the_next_view(client, bob):
    client.force_login(bob)
    get(client, "/heatmap/")
    Indicator.objects.filter(slug="ceasefire").update(title="Ceasefire (renamed)")  # no signal: bump()
    changes.bump()
    assert "Ceasefire (renamed)" in get(client, "/heatmap/")[0]


def test_events_inserted_without_signals_show_on_the_next_view(client, bob):
    """A row another process inserted (its signals bump a generation this process may not share: each
    has its own LocMem cache) or a bulk load: the highest ids are part of the generation."""
    client.force_login(bob)
    assert "not seen" in indicator_card(get(client, "/")[0], "evacuation")
    Event.objects.bulk_create(
        [
            Event(
                indicator=Indicator.objects.get(slug="evacuation"),
                direction="advance",
                occurred_on=YESTERDAY,
                title="Loaded in bulk",
                origin="manual",
                state="confirmed",
            )
        ]
    )
    assert "advancing" in indicator_card(get(client, "/")[0], "evacuation")


def test_merging_stories_through_the_bulk_paths_shows_on_the_next_view(client, bob):
    """indicators.stories moves events with QuerySet.update; the audit lines it writes in the same
    transaction bump the generation."""
    from indicators.stories import merge_stories

    now = timezone.now()
    kept, absorbed = StoryFactory(title="kept"), StoryFactory(title="absorbed")
    for story in (kept, absorbed):
        EntryFactory(story=story, title=story.title)
    proposal("Exchange, first report", story_id=kept.pk)
    confirmed = proposal("Exchange, second report", story_id=absorbed.pk)
    services.review_event(confirmed.pk, action="confirm", actor_id=None, now=now)
    client.force_login(bob)
    page, _ = get(client, "/indicators/prisoner-exchange/")
    assert "Exchange, second report" in page and "Exchange, first report" in page  # confirmed, pending
    before = changes.generation()
    assert merge_stories(absorbed.pk, kept.pk, now) == 1
    assert changes.generation() > before
    page, _ = get(client, "/indicators/prisoner-exchange/")
    # The surviving event (the first report's) is confirmed now; the absorbed one is gone.
    assert "Exchange, second report" not in page
    assert "Confirmed events (1)" in page and "Pending review" not in page


def test_an_analysts_view_never_reaches_an_anonymous_visitor(client, settings, alice, bob):
    settings.WATCHPOST_PUBLIC_DASHBOARDS = True
    proposal("Unreviewed: prisoners said to be swapped")
    client.force_login(alice)
    analyst_page, _ = get(client, "/indicators/prisoner-exchange/")
    assert "Unreviewed: prisoners said to be swapped" in analyst_page and "Log an event" in analyst_page
    get(client, "/")
    client.logout()
    for url in PAGES:
        page, _ = get(client, url)
        assert "Unreviewed: prisoners said to be swapped" not in page, url
        assert "alice" not in page and "Log an event" not in page, url
    # And the other way round: what the anonymous visitor cached does not hide it from analysts.
    client.force_login(alice)
    assert "Unreviewed: prisoners said to be swapped" in get(client, "/indicators/prisoner-exchange/")[0]
    client.force_login(bob)
    assert "alice" not in get(client, "/")[0]


def test_each_class_has_entries_of_its_own(client, settings, alice, bob):
    from django.core.cache import cache

    settings.WATCHPOST_PUBLIC_DASHBOARDS = True
    for login in (None, bob, alice):
        client.logout()
        if login:
            client.force_login(login)
        get(client, "/")
    keys = [k for k in cache._cache if ":dash:" in k]  # LocMem's own store: the test settings' cache
    assert {k.split(":dash:")[1].split(":")[2] for k in keys} == {"public", "viewer", "analyst"}


def test_around_the_cached_content_the_page_is_each_visitors_own(client, alice, bob):
    """The content block comes from the cache; the name, the log-out form's token and messages do not."""
    from tests.factories import UserFactory

    client.force_login(bob)
    get(client, "/")
    client.force_login(UserFactory(username="carol"))
    response = client.get("/")
    html = response.content.decode()
    assert "<span>carol</span>" in html and "<span>bob</span>" not in html
    assert re.search(
        r'<form method="post" action="/accounts/logout/"[^>]*><input type="hidden" '
        r'name="csrfmiddlewaretoken" value="\w+">',
        html,
    )  # carol's own log-out form
    # A message shown on a page whose content comes from the cache (a refused decision changes nothing).
    event = proposal()
    client.force_login(alice)
    get(client, "/")
    response = client.post(f"/review/{event.pk}/", {"action": "nonsense", "next": "/"}, follow=True)
    assert "Nothing changed for" in response.content.decode()


def test_only_the_filters_query_strings_are_cached_as_html(client, bob):
    from django.core.cache import cache

    client.force_login(bob)
    html_keys = lambda: {k for k in cache._cache if ":overview-html:" in k}  # noqa: E731
    get(client, "/", {"since": "2025-09-01"})
    assert len(html_keys()) == 1
    page, _ = get(client, "/", {"since": "2025-09-01", "utm_source": "<b>x</b>"})
    assert len(html_keys()) == 1  # any other parameter would make an entry of its own
    assert "utm_source=%3Cb%3Ex%3C%2Fb%3E" in page  # its links still carry it, escaped


def test_arrows_follow_the_calendar_day(client, bob):
    today = timezone.localdate()
    log("prisoner-exchange", "advance", today - datetime.timedelta(days=6))
    client.force_login(bob)
    assert "arrow-improved" in indicator_card(get(client, "/")[0], "prisoner-exchange")
    with time_machine.travel(timezone.now() + datetime.timedelta(days=1), tick=False):
        # Same data, same generation; a new day: the 7-day window moved past the event.
        assert "arrow-unchanged" in indicator_card(get(client, "/")[0], "prisoner-exchange")


def test_pages_of_events_are_cached_per_page_and_beyond_the_end_show_the_last(client, bob):
    for i in range(55):
        Event.objects.create(
            indicator=Indicator.objects.get(slug="prisoner-exchange"),
            direction="advance",
            occurred_on=datetime.date(2025, 9, 1) + datetime.timedelta(days=i),
            title=f"Swap number {i}",
            origin="manual",
            state="confirmed",
        )
    client.force_login(bob)
    url = "/indicators/prisoner-exchange/"
    first, _ = get(client, url)
    assert "Swap number 54" in first and "Swap number 4<" not in first and "page 1 of 2" in first
    second, _ = get(client, url, {"page": "2"})
    assert "Swap number 4<" in second and "Swap number 54" not in second
    assert get(client, url, {"page": "99"})[0] == second
    assert get(client, url, {"page": "nonsense"})[0].count("Swap number") == first.count("Swap number")


def test_a_change_rolled_back_never_shows(client, bob):
    """Inside a transaction the cache is not used: a page built there could show writes that are then
    rolled back."""
    client.force_login(bob)
    get(client, "/")
    with pytest.raises(RuntimeError), transaction.atomic():
        log("prisoner-exchange", "advance", YESTERDAY)
        assert "advancing" in indicator_card(get(client, "/")[0], "prisoner-exchange")
        raise RuntimeError("roll back")
    assert "not seen" in indicator_card(get(client, "/")[0], "prisoner-exchange")


def test_a_failing_cache_is_skipped(client, bob, monkeypatch):
    from tracker.dashboards import cache as dashboard_cache

    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(dashboard_cache.cache, "get", broken)
    monkeypatch.setattr(dashboard_cache.cache, "set", broken)
    client.force_login(bob)
    for url in PAGES:
        get(client, url)
    monkeypatch.setattr(changes.cache, "incr", broken)
    log("prisoner-exchange", "advance", YESTERDAY)  # writing never fails on the cache


def test_shared_in_redis_between_processes(client, bob, settings, redis_url):
    """With REDIS_URL, every process reads the same entries and the same generation."""
    from urllib.parse import urlsplit

    from django.core.cache import cache

    parts = urlsplit(redis_url)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": parts._replace(path="/15").geturl(),
            "KEY_PREFIX": "watchpost-test",
        }
    }
    cache.clear()
    try:
        client.force_login(bob)
        first, built = get(client, "/")
        second, served = get(client, "/")
        assert second == first and len(served) < len(built)
        event = proposal()
        services.review_event(event.pk, action="confirm", actor_id=None, now=timezone.now())
        assert "advancing" in indicator_card(get(client, "/")[0], "prisoner-exchange")
    finally:
        cache.clear()


def test_a_small_export_is_cached_until_an_event_changes_and_a_large_one_streams(
    client, bob, alice, monkeypatch
):
    import json

    from tracker.dashboards import exports

    def events(response):
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return {e["id"]: e["state"] for e in json.loads(body)["events"]}

    confirmed = log("prisoner-exchange", "advance", YESTERDAY, title="Swap of 84 prisoners")
    proposed = proposal("A proposed swap")
    client.force_login(bob)
    url = reverse("export-json") + "?state=all"
    with CaptureQueriesContext(connection) as built:
        first = client.get(url)
    with CaptureQueriesContext(connection) as again:
        second = client.get(url)
    assert second.content == first.content and len(again) < len(built)
    assert events(first) == {confirmed.pk: "confirmed", proposed.pk: "proposed"}
    services.review_event(proposed.pk, action="confirm", actor_id=alice.pk, now=timezone.now())
    assert events(client.get(url))[proposed.pk] == "confirmed"  # the change shows at once

    monkeypatch.setattr(exports, "CACHED_EVENTS", 1)
    streamed = client.get(url)
    assert streamed.streaming and events(streamed) == {confirmed.pk: "confirmed", proposed.pk: "confirmed"}
