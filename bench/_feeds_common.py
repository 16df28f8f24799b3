"""Shared set-up for the feed benches: a throw-away SQLite database and a synthetic realistic feed."""

import os
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SUBJECTS = {
    "en": [
        "Russia and Ukraine swap {n} prisoners of war",
        "Russia launches {n} drones at Ukraine overnight, air force says",
        "EU discusses new sanctions package against Russia ({n} entities listed)",
        "Evacuation of {n} civilians from front-line towns in Donetsk region",
        "Trump and Putin discuss a second summit, Kremlin says ({n})",
        "Zelensky says Ukraine received {n} air defence systems from partners",
        "Energy infrastructure hit in {n} regions after massive strike",
        "Coalition of the willing pledges {n} troops for reassurance force",
        "Talks in Istanbul: delegations agree on {n} humanitarian measures",
        "Oil price falls as {n} tankers of the shadow fleet are sanctioned",
    ],
    "other": [
        "Stock markets close higher as tech shares rally ({n} points)",
        "Heatwave: temperatures expected to reach {n} degrees this weekend",
        "Football: City beat United in derby watched by {n} fans",
        "Central bank holds interest rates, inflation at {n} basis points above target",
        "New museum wing opens with {n} works on display",
        "Airline cancels {n} flights as strike continues",
        "Election polls tighten with {n} days to go",
        "Scientists discover {n} new species in deep-sea survey",
        "Housing prices rise for the {n}th consecutive month",
        "Tech company announces {n} job cuts worldwide",
        "City council approves budget of {n} million for new tram line",
        "Storm leaves {n} homes without power along the coast",
    ],
    "ru": [
        "Россия и Украина обменялись {n} военнопленными",
        "Минобороны: сбиты {n} беспилотников над регионами России",
        "Песков: Кремль готов к второму саммиту, обсуждаются {n} вопросов",
        "ЕС обсуждает новый пакет санкций против России ({n} позиций)",
    ],
}


def setup_django():
    db = Path(tempfile.mkdtemp(prefix="watchpost-bench-")) / "bench.sqlite3"
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{db}"
    os.environ["WATCHPOST_READ_DOTENV"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def empty_tables() -> None:
    """Remove what a run stored (events, vectors, entries, stories), so each run starts from empty."""
    from indicators.models import Event
    from tracker.feeds.models import Entry, EntryVector, Story

    Event.objects.all().delete()
    EntryVector.objects.all().delete()
    Entry.objects.all().delete()
    Story.objects.all().delete()


def make_feed(n_entries: int, seed: int = 1, outlet: str = "bench.example", lang: str = "en") -> bytes:
    """A realistic single-language feed: varied headlines (in English, one in ten about the watch list),
    HTML summaries with a tracking script."""
    rng = random.Random(seed)
    subjects = SUBJECTS[lang]
    base = datetime(2025, 10, 1, tzinfo=UTC)
    items = []
    for i in range(n_entries):
        # About one headline in ten bears on the watch list, as in a general news feed.
        pool = subjects if (lang != "en" or rng.random() < 0.1) else SUBJECTS["other"]
        title = rng.choice(pool).format(n=rng.randint(10, 5000))
        when = base - timedelta(minutes=17 * i)
        para = " ".join(rng.choice(pool).format(n=rng.randint(1, 999)) + "." for _ in range(6))
        items.append(
            f"<item><title>{title} #{i}</title><link>https://{outlet}/news/{i}?utm_source=rss</link>"
            f'<guid isPermaLink="false">{outlet}-{i}</guid><pubDate>{format_datetime(when)}</pubDate>'
            f'<description><![CDATA[<p>{para}</p><p><a href="https://{outlet}/news/{i}">Read more</a>'
            f"<script>track({i})</script></p>]]></description></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Bench {outlet}</title><link>https://{outlet}/</link><language>{lang}</language>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()
