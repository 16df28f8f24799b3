"""Story clustering: the similarity function on real-looking headlines, and stories in the database
(one event carried by several outlets counts once, with its number of independent outlets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracker.feeds.clustering import compare, same_story, signature
from tracker.feeds.models import Entry, Story
from tracker.feeds.parsing import parse_feed
from tracker.feeds.store import store_entries

NOW = datetime(2025, 10, 2, 12, 0, tzinfo=UTC)

SAME = [
    (
        "Russia launches massive drone attack on Kyiv",
        "en",
        "Russia launches massive drone attack on Kyiv, killing 3",
        "en",
    ),
    (
        "Russia and Ukraine swap 146 prisoners of war",
        "en",
        "Ukraine, Russia exchange 146 POWs in UAE-brokered deal",
        "en",
    ),
    (
        "Russia and Ukraine swap 146 prisoners of war",
        "en",
        "Россия и Украина обменялись 146 военнопленными",
        "ru",
    ),
    (
        "Russia and Ukraine swap 146 prisoners of war",
        "en",
        "Україна повернула додому 146 військовополонених",
        "uk",
    ),
    (
        "Russia and Ukraine swap 146 prisoners of war",
        "en",
        "La Russie et l'Ukraine échangent 146 prisonniers",
        "fr",
    ),
    ("Russian strike on Kharkiv kills 12", "en", "Удар по Харькову: погибли 12 человек", "ru"),
    (
        "Zelensky meets Trump, Macron and Starmer at the White House",
        "en",
        "Зеленський, Трамп, Макрон і Стармер зустрілися у Білому домі",
        "uk",
    ),
    (
        "EU adopts 19th sanctions package against Russia",
        "en",
        "ЕС принял 19-й пакет санкций против России",
        "ru",
    ),
]
DIFFERENT = [
    ("Trump says Putin wants peace", "en", "Putin tells Trump he is ready to meet Zelensky", "en"),
    (
        "Prisoner exchange in Gaza: Hamas releases 20 hostages",
        "en",
        "Russia and Ukraine swap 20 prisoners",
        "en",
    ),
    (
        "Russia launches massive drone attack on Kyiv",
        "en",
        "EU adopts 19th sanctions package against Russia",
        "en",
    ),
    ("Ukraine says front stable near Pokrovsk", "en", "Украина заявила о стабилизации фронта", "ru"),
    ("Ceasefire talks resume in Istanbul", "en", "Pourparlers de cessez-le-feu : reprise à Genève", "fr"),
]


@pytest.mark.parametrize("a,la,b,lb", SAME)
def test_same_event_is_recognised(a, la, b, lb):
    match = compare(signature(a, la), signature(b, lb))
    assert match.same, match
    assert compare(signature(b, lb), signature(a, la)).same  # symmetric


@pytest.mark.parametrize("a,la,b,lb", DIFFERENT)
def test_different_events_stay_apart(a, la, b, lb):
    assert not compare(signature(a, la), signature(b, lb)).same


def test_time_window():
    a = signature("Russia and Ukraine swap 146 prisoners of war", "en")
    b = signature("Россия и Украина обменялись 146 военнопленными", "ru")
    assert same_story(a, NOW, b, NOW + timedelta(hours=20))
    assert not same_story(a, NOW, b, NOW + timedelta(days=5))


def test_years_and_small_numbers_are_not_evidence():
    a = signature("Ukraine 2025: 3 things to watch", "en")
    assert a.numbers == frozenset()


def feed_bytes(outlet: str, items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>https://{outlet}/{abs(hash(t))}</link><pubDate>{d}</pubDate></item>"
        for t, d in items
    )
    return f'<rss version="2.0"><channel><title>{outlet}</title>{body}</channel></rss>'.encode()


def load(outlet, items, lang=""):
    return store_entries(
        parse_feed(feed_bytes(outlet, items), now=NOW, default_language=lang), None, outlet, NOW
    )


def test_one_event_many_outlets_is_one_story_with_corroboration(db):
    d = "Thu, 02 Oct 2025 09:00:00 GMT"
    load("wire.example", [("Russia and Ukraine swap 146 prisoners of war", d)])
    load("other.example", [("Ukraine and Russia swap 146 prisoners of war in UAE deal", d)])
    load("lenta.example", [("Россия и Украина обменялись 146 военнопленными", d)])
    load("wire.example", [("Update: Russia and Ukraine swap 146 prisoners of war, Kyiv confirms", d)])
    story = Story.objects.get()
    assert Entry.objects.count() == 4
    assert story.outlet_count == 3  # wire.example twice counts once


def test_unrelated_and_late_reports_start_new_stories(db):
    load("wire.example", [("Russia and Ukraine swap 146 prisoners of war", "Thu, 02 Oct 2025 09:00:00 GMT")])
    load(
        "other.example",
        [("EU adopts 19th sanctions package against Russia", "Thu, 02 Oct 2025 10:00:00 GMT")],
    )
    load(
        "late.example",
        [("Russia and Ukraine swap 146 prisoners of war again", "Wed, 24 Sep 2025 09:00:00 GMT")],
    )
    assert Story.objects.count() == 3
    assert set(Story.objects.values_list("outlet_count", flat=True)) == {1}


def test_dedup_by_guid_then_canonical_link_then_content_hash(db):
    def feed(items):
        body = "".join(
            f"<item><title>{t}</title><link>{link}</link><guid>{g}</guid><description>{s}</description></item>"
            for t, link, g, s in items
        )
        return parse_feed(
            f'<rss version="2.0"><channel><title>x</title>{body}</channel></rss>'.encode(), now=NOW
        )

    first = store_entries(feed([("Talks resume", "https://a.example/1", "g1", "Text one")]), None, "a", NOW)
    again = store_entries(
        feed(
            [
                ("Talks resume (updated)", "https://a.example/other", "g1", "x"),  # same GUID
                (
                    "Different title",
                    "https://www.a.example/1?utm_source=tw#c",
                    "g2",
                    "y",
                ),  # same canonical link
                ("Talks resume", "https://b.example/9", "g3", "Text one"),  # same content
                ("Brand new", "https://a.example/2", "g4", "z"),
                ("Brand new", "https://a.example/2", "g4", "z"),  # repeated in the batch
            ]
        ),
        None,
        "a",
        NOW,
    )
    assert (first.new, again.entries, again.new, again.duplicates) == (1, 5, 1, 4)
    assert sorted(Entry.objects.values_list("title", flat=True)) == ["Brand new", "Talks resume"]


def test_same_wording_with_different_figures_is_two_events():
    a = signature("Russia and Ukraine swap 84 prisoners of war", "en")
    b = signature("Russia and Ukraine swap 146 prisoners of war", "en")
    assert not compare(a, b).same
    c = signature("Russia and Ukraine swap prisoners of war", "en")
    assert compare(a, c).same
