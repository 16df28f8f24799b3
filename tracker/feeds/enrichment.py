"""Which stored entries still wait for enrichment (matching, proposing), and who is working on them.

An entry is stored with `enriched_at` empty. A worker claims a batch with a conditional UPDATE that sets
a lease (`enrich_lease_until`) and a claim token; only the rows it won carry its token. Done: `enriched_at`
is set. Failed: the lease is dropped, the attempt and the error are recorded, and the entry is pending
again. A worker that died leaves a lease that simply expires. So no entry is lost or silently skipped,
and none is enriched twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, Q

from .models import Entry

LEASE = timedelta(minutes=10)


def _claimable(now: datetime):
    return Entry.objects.filter(enriched_at__isnull=True).filter(
        Q(enrich_lease_until__isnull=True) | Q(enrich_lease_until__lt=now)
    )


def claim(entry_ids: list[int], now: datetime) -> list[int]:
    """Claim the given entries that are pending and not leased; returns the ids this caller won."""
    ids = sorted(set(entry_ids or []))
    if not ids:
        return []
    token = uuid.uuid4().hex
    won: list[int] = []
    for i in range(0, len(ids), 500):
        part = ids[i : i + 500]
        _claimable(now).filter(pk__in=part).update(enrich_lease_until=now + LEASE, enrich_claim=token)
        won.extend(Entry.objects.filter(pk__in=part, enrich_claim=token).values_list("pk", flat=True))
    return sorted(won)


def mark_done(entry_ids: list[int], now: datetime) -> int:
    return Entry.objects.filter(pk__in=entry_ids, enriched_at__isnull=True).update(
        enriched_at=now, enrich_lease_until=None, enrich_claim="", enrich_error=""
    )


def release_failed(entry_ids: list[int], now: datetime, error: str) -> int:
    return Entry.objects.filter(pk__in=entry_ids, enriched_at__isnull=True).update(
        enrich_lease_until=None,
        enrich_claim="",
        enrich_error=error[:500],
        enrich_attempts=F("enrich_attempts") + 1,
    )


def pending(now: datetime, limit: int = 500) -> list[int]:
    """Entries to try (again): pending, not leased, with attempts left; oldest first."""
    rows = _claimable(now).filter(enrich_attempts__lt=settings.ENRICH_MAX_ATTEMPTS).order_by("pk")
    return list(rows.values_list("pk", flat=True)[:limit])


def backlog() -> dict:
    """For feed health: how many entries wait, and how many gave up after every attempt."""
    waiting = Entry.objects.filter(enriched_at__isnull=True)
    return {
        "pending": waiting.filter(enrich_attempts__lt=settings.ENRICH_MAX_ATTEMPTS).count(),
        "failed": waiting.filter(enrich_attempts__gte=settings.ENRICH_MAX_ATTEMPTS).count(),
    }
