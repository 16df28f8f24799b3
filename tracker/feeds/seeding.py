"""Seed the default feed list from fixtures/feeds.json. Idempotent; never deletes or overwrites.

A feed already present (same URL) is left exactly as the user left it in the admin: edits, a disabled
flag, a changed language all survive re-seeding. Run by `manage.py seed` (WATCHPOST_SEEDERS).
"""

import json
from pathlib import Path

from django.conf import settings

from .models import Camp, Feed

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "feeds.json"


def seed_feeds(path=FIXTURE) -> dict:
    with open(path, encoding="utf-8") as fh:
        rows = json.load(fh)
    created = 0
    for row in rows:
        _, was_created = Feed.objects.get_or_create(
            url=row["url"],
            defaults={
                "title": row.get("title", ""),
                "language": row.get("language", ""),
                "theatre": bool(row.get("theatre", False)),
                "active": bool(row.get("active", True)),
                "camp": row.get("camp", Camp.OTHER),
            },
        )
        created += was_created
    return {"created": created, "already_present": len(rows) - created}
