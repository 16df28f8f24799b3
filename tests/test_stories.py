"""Stories on meaning: one event reported by several outlets in four languages is one story and one card;
two events of the same kind a week apart stay two."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from indicators.models import Event, Indicator
from tracker.feeds.models import Story
from tracker.feeds.semantic import (
    ReportEvidence,
    StoryIndex,
    StoryState,
    join_features,
    join_model,
    story_score,
)
from tracker.pipeline.pipeline import import_source

NOW = datetime(2025, 8, 25, 12, 0, tzinfo=UTC)
EXCHANGE = [  # one event, four outlets, four languages, worded each its own way
    ("en", "Wire One", "Kyiv and Moscow each hand over 146 prisoners in a swap brokered by the Emirates"),
    (
        "fr",
        "Quotidien",
        "Échange de prisonniers : 146 militaires ukrainiens libérés grâce à une médiation émiratie",
    ),
    ("ru", "Лента", "Россия и Украина провели обмен пленными по формуле 146 на 146 при посредничестве ОАЭ"),
    ("uk", "Новини", "Додому повернулися 146 українських захисників: обмін за посередництва ОАЕ"),
]


def feed_file(tmp_path, name, lang, outlet, items):
    body = "".join(
        f"<item><title>{title}</title><link>https://{outlet.lower().replace(' ', '')}.example/{i}</link>"
        f"<guid>{name}-{i}</guid><pubDate>{when:%a, %d %b %Y %H:%M:%S} GMT</pubDate></item>"
        for i, (title, when) in enumerate(items)
    )
    path = tmp_path / f"{name}.xml"
    path.write_text(
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{outlet}</title>'
        f"<language>{lang}</language>{body}</channel></rss>",
        encoding="utf-8",
    )
    return str(path)


def test_one_event_in_four_languages_is_one_story_and_one_card(learned, tmp_path, client, alice):
    for n, (lang, outlet, title) in enumerate(EXCHANGE):
        source = feed_file(tmp_path, f"f{n}", lang, outlet, [(title, NOW - timedelta(hours=6 - n))])
        line = import_source(source, NOW, language=lang)
        assert line["status"] == "ok", line
    story = Story.objects.get(entries__title=EXCHANGE[0][2])
    assert story.entries.count() == 4 and story.outlet_count == 4
    event = Event.objects.get(indicator__slug="prisoner-exchange")
    assert event.story_id == story.pk and event.sources.count() == 4
    client.force_login(alice)
    queue = client.get("/review/").content.decode()
    assert queue.count('class="queue-item"') == 1 and "4 sources" in queue


def test_two_exchanges_a_week_apart_stay_two_stories(learned, tmp_path):
    first = [("Russia and Ukraine swap 146 prisoners of war each in UAE-brokered deal", NOW)]
    second = [
        ("Russia and Ukraine swap 84 prisoners of war each in UAE-brokered deal", NOW + timedelta(days=7))
    ]
    import_source(feed_file(tmp_path, "a", "en", "Wire One", first), NOW)
    import_source(feed_file(tmp_path, "b", "en", "Wire Two", second), NOW + timedelta(days=7))
    assert Story.objects.count() == 2
    assert Event.objects.filter(indicator__slug="prisoner-exchange").count() == 2


def _report(title, when, vector, outlet="Wire Two", lang="en", summary=""):
    return ReportEvidence.of(vector, title, summary, lang, outlet, when)


def test_conflicting_figures_weigh_against_joining():
    index = StoryIndex()
    vector = np.ones(4, np.float32) / 2
    index.add_report("a", _report("Swap of 146 prisoners", NOW, vector, outlet="Wire One"))
    same, p_same = index.best(_report("Swap of 146 prisoners", NOW, vector))
    _, p_other = index.best(_report("Swap of 84 prisoners", NOW, vector))
    assert same.key == "a" and p_other < p_same
    # A figure in the summary counts too.
    _, p_summary = index.best(_report("Swap of prisoners", NOW, vector, summary="Each side freed 84 men."))
    assert p_summary < p_same
    too_late = index.best(_report("Swap of 146 prisoners", NOW + timedelta(days=3), vector))
    assert too_late == (None, 0.0)  # outside the window: not even a candidate


def test_the_join_model_reads_time_and_outlet_besides_meaning():
    """The same closeness in meaning is less likely one story when the reports are hours apart, or when
    the outlet already reported the story (an outlet seldom files one event twice)."""
    vector = np.ones(4, np.float32) / 2
    story = StoryState.of("a", _report("Kyiv hit by drones overnight", NOW, vector, outlet="Wire One"))
    soon = _report("Drones hit Kyiv", NOW + timedelta(hours=1), vector)
    late = _report("Drones hit Kyiv", NOW + timedelta(hours=20), vector)
    again = _report("Drones hit Kyiv", NOW + timedelta(hours=1), vector, outlet="Wire One")
    model = join_model()
    p_soon, p_late, p_again = (model.probability(join_features(r, story)) for r in (soon, late, again))
    assert p_late < p_soon and p_again < p_soon


def test_the_labelled_cluster_sets_are_big_and_varied_enough():
    from collections import Counter

    from tracker.pipeline.story_quality import DATA, load_reports

    for name, reports_min, stories_min in (
        ("dev.txt", 400, 100),
        ("holdout.txt", 300, 80),
        ("holdout-2.txt", 240, 60),
    ):
        reports = load_reports(DATA / name)
        stories = Counter(r.story for r in reports)
        assert len(reports) >= reports_min and len(stories) >= stories_min, name
        assert {r.lang for r in reports} == {"en", "fr", "ru", "uk"}, name
        for lang in ("en", "fr", "ru", "uk"):
            assert len({r.outlet for r in reports if r.lang == lang}) >= 5, (name, lang)
        multilingual = {s for s in stories if len({r.lang for r in reports if r.story == s}) > 1}
        assert len(multilingual) >= len(stories) // 3, name


def test_the_frozen_cluster_holdout_has_not_changed():
    import hashlib

    from tracker.pipeline.story_quality import DATA

    sums = [line.split() for line in (DATA / "SHA256SUMS").read_text().splitlines() if line.strip()]
    assert {name for _, name in sums} == {"holdout.txt", "holdout-2.txt"}
    for digest, name in sums:
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, f"{name} changed"


def _story_with_event(title, lang, state, *, alice=None):
    from indicators.services import record_event, review_event
    from tests.factories import EntryFactory
    from tracker.feeds.store import refresh_stories

    entry = EntryFactory(title=title, lang=lang, published_at=NOW - timedelta(hours=3))
    refresh_stories([entry.story_id])  # the story's time span is its entries'
    event = record_event(
        indicator_id=Indicator.objects.get(slug="prisoner-exchange").pk,
        direction="advance",
        occurred_on=NOW.date(),
        title=title,
        now=NOW,
        origin="feed",
        actor_label="matcher",
        story_id=entry.story_id,
        sources=[{"url": entry.link, "outlet": entry.outlet, "entry_id": entry.pk}],
    )
    if state != "proposed":
        review_event(
            event.pk, action={"confirmed": "confirm", "rejected": "reject"}[state], actor_id=alice.pk, now=NOW
        )
    return entry


def test_a_report_that_bridges_two_stories_merges_them_and_keeps_the_decision(learned, tmp_path, alice):
    from tracker.feeds.encoder import pack

    first = _story_with_event(EXCHANGE[0][2], "en", "proposed")
    second = _story_with_event(EXCHANGE[2][2], "ru", "confirmed", alice=alice)
    for entry in (first, second):  # stories formed before the encoder was on, then given their centroids
        Story.objects.filter(pk=entry.story_id).update(
            centroid=pack(learned.embed([entry.title])[0]), centroid_encoder=learned.name, centroid_count=1
        )
    lang, outlet, title = EXCHANGE[1]
    import_source(
        feed_file(tmp_path, "fr", lang, outlet, [(title, NOW - timedelta(hours=1))]), NOW, language=lang
    )
    story = Story.objects.get(entries__title=title)
    assert story.entries.count() == 3 and Story.objects.filter(entries__isnull=False).distinct().count() == 1
    event = Event.objects.get(indicator__slug="prisoner-exchange")
    assert event.state == "confirmed" and event.sources.count() == 3
    trail = " ".join(r.note for r in event.reviews.all())
    assert "merged with event" in trail and event.reviews.filter(action="confirmed", actor=alice).exists()
    # The surviving story is scored as the whole story from now on: its centroid and evidence hold all three.
    assert story.centroid_count == 3 and story.evidence["langs"] == ["en", "fr", "ru"]


def test_opposite_decisions_keep_two_stories_apart(db, alice):
    from indicators.stories import MergeConflict, merge_stories

    confirmed = _story_with_event(EXCHANGE[0][2], "en", "confirmed", alice=alice)
    rejected = _story_with_event(EXCHANGE[2][2], "ru", "rejected", alice=alice)
    with pytest.raises(MergeConflict):
        merge_stories(rejected.story_id, confirmed.story_id, NOW)
    assert Story.objects.filter(pk__in=[confirmed.story_id, rejected.story_id]).count() == 2
    assert Event.objects.count() == 2


def test_an_admin_splits_a_wrong_join_and_the_evidence_follows(admin_client, alice):
    from tests.factories import EntryFactory

    right = _story_with_event(EXCHANGE[0][2], "en", "confirmed", alice=alice)
    wrong = EntryFactory(title="Russia and Ukraine swap 84 prisoners of war", story_id=right.story_id)
    event = Event.objects.get()
    event.sources.create(url=wrong.link, outlet=wrong.outlet, entry=wrong)
    response = admin_client.post(
        "/admin/feeds/entry/", {"action": "split_story", "_selected_action": [wrong.pk]}, follow=True
    )
    assert "Split 1 entry into story" in response.content.decode()
    wrong.refresh_from_db()
    assert wrong.story_id != right.story_id
    assert [s.entry_id for s in Event.objects.get(pk=event.pk).sources.all()] == [right.pk]
    assert Event.objects.get(pk=event.pk).state == "confirmed"  # the analyst's decision stands
    split = Event.objects.get(story_id=wrong.story_id)
    assert split.state == "proposed" and [s.entry_id for s in split.sources.all()] == [wrong.pk]
    assert "moved to event" in " ".join(r.note for r in event.reviews.all())


def test_a_split_story_and_the_one_split_from_it_are_each_scored_by_their_own_reports(learned):
    from indicators.stories import split_story
    from tests.factories import EntryFactory
    from tracker.feeds.embeddings import embed_entries

    wire = EntryFactory(title=EXCHANGE[0][2], lang="en", outlet="Wire One", published_at=NOW)
    other = EntryFactory(
        title=EXCHANGE[2][2],
        lang="ru",
        outlet="Лента",
        story=wire.story,
        published_at=NOW + timedelta(hours=1),
    )
    embed_entries([wire.pk, other.pk], NOW)
    Story.objects.filter(pk=wire.story_id).update(evidence={"langs": ["en", "ru"]}, centroid_count=2)
    new = split_story([other.pk], NOW)
    kept, split = Story.objects.get(pk=wire.story_id), Story.objects.get(pk=new)
    assert (kept.centroid_count, kept.evidence["langs"], kept.evidence["outlets"]) == (
        1,
        ["en"],
        ["Wire One"],
    )
    assert (split.centroid_count, split.evidence["langs"], split.evidence["outlets"]) == (
        1,
        ["ru"],
        ["Лента"],
    )


def _story_with_centroid(title, when, vector, encoder, link):
    from tests.factories import EntryFactory, StoryFactory
    from tracker.feeds.encoder import pack

    story = StoryFactory(title=title, lang="en", first_seen_at=when, last_seen_at=when)
    Story.objects.filter(pk=story.pk).update(
        centroid=pack(np.asarray(vector, np.float32)), centroid_encoder=encoder.name, centroid_count=1
    )
    return EntryFactory(
        story=story, title=title, link=link, outlet=link.split("/")[2], lang="en", published_at=when
    )


def test_another_outlets_story_of_the_same_event_corroborates_it_rather_than_proposing_it_again(learned):
    """Two stories the story join kept apart (close in meaning, not close enough to join) that the matcher
    reads as the same indicator, on the same day with the same figure: one event with both sources. The
    same kind of event a week later, or the same day told otherwise, is an event of its own."""
    from indicators.proposals import propose_for_entries

    dim = learned.dim
    e0, e1 = np.eye(dim, dtype=np.float32)[0], np.eye(dim, dtype=np.float32)[1]
    near = _between_the_bars(e0, e1, NOW)
    wire = _story_with_centroid(
        "Russia and Ukraine swap 146 prisoners of war each", NOW, e0, learned, "https://wire.example/1"
    )
    other = _story_with_centroid(
        "Ukraine brings home 146 soldiers in a prisoner swap with Russia",
        NOW + timedelta(hours=3),
        near,
        learned,
        "https://broadcaster.example/2",
    )
    later = _story_with_centroid(
        "Russia and Ukraine swap 146 prisoners of war each",
        NOW + timedelta(days=7),
        e0,
        learned,
        "https://wire.example/3",
    )
    assert propose_for_entries([wire.pk, other.pk, later.pk], NOW + timedelta(days=7)) == 2
    first, second = Event.objects.filter(indicator__slug="prisoner-exchange").order_by("occurred_on")
    assert first.story_id == wire.story_id
    assert sorted(s.url for s in first.sources.all()) == [
        "https://broadcaster.example/2",
        "https://wire.example/1",
    ]
    assert second.story_id == later.story_id and second.sources.count() == 1


def _between_the_bars(e0, e1, when):
    """A vector whose story is one event with e0's by the join model (`event_threshold`) without being
    close enough for a report to join it (`join_threshold`): the cosine found by bisection."""
    model = join_model()
    target = (model.event_threshold + model.join_threshold) / 2
    wire = StoryState.of("wire", _report("Russia and Ukraine swap 146 prisoners of war each", when, e0))
    low, high = 0.0, 1.0
    for _ in range(40):
        cos = (low + high) / 2
        near = (cos * e0 + np.sqrt(1 - cos**2) * e1).astype(np.float32)
        other = StoryState.of(
            "other",
            _report("Ukraine brings home 146 soldiers in a prisoner swap with Russia", when, near, "b"),
        )
        other.first_seen = other.last_seen = when + timedelta(hours=3)
        low, high = (cos, high) if story_score(other, wire) < target else (low, cos)
    assert model.event_threshold < model.join_threshold, "the event bar must be below the join bar"
    return near


def test_the_join_model_is_trained_from_a_labelled_cluster_set_and_reads_back(learned, tmp_path):
    """story_training fits the join model on a labelled set (here the first 120 reports of dev), chooses
    its thresholds there, and writes what `join_model()` reads; the shipped file has the same form."""
    import json

    from tracker.feeds.semantic import FEATURES, MODEL_FILE, JoinModel
    from tracker.pipeline.story_quality import DATA
    from tracker.pipeline.story_training import train

    lines = [
        line for line in (DATA / "dev.txt").read_text().splitlines() if line and not line.startswith("#")
    ]
    small = tmp_path / "dev-small.txt"
    small.write_text("\n".join(lines[:120]) + "\n", encoding="utf-8")
    model = train(small)
    again = JoinModel.from_dict(model.as_dict())
    assert np.allclose(again.coef, model.coef) and again.join_threshold == model.join_threshold == 0.5
    assert model.join_threshold < model.merge_threshold < 1 and 0 < model.event_threshold < 1
    assert "dev-small.txt: 120 reports" in model.meta["trained_on"]
    # Closer in meaning is likelier one story, other things equal (the model learned the sign).
    cosine = FEATURES.index("cosine")
    assert model.coef[cosine] > 0
    shipped = JoinModel.from_dict(json.loads(MODEL_FILE.read_text()))
    assert shipped.coef[cosine] > 0 and shipped.meta["trained_on"].startswith("tests/data/stories/dev.txt")
