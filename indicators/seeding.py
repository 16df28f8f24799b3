"""Seed the watch list from fixtures/indicators.json. Idempotent; never deletes anything."""

import json
from pathlib import Path

from django.conf import settings

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "indicators.json"
FIELDS = ("category", "stage", "title", "title_fr", "advance_criteria", "reverse_criteria")


def load_catalogue(path=FIXTURE):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def seed_indicators(indicator_model=None, path=FIXTURE):
    """Create or update the 16 indicators by slug. Returns (created, updated).

    `indicator_model` lets a data migration pass its historical model. Indicators missing from the
    fixture are left alone, and events are never touched.
    """
    if indicator_model is None:
        from indicators.models import Indicator as indicator_model
    created = updated = 0
    for position, row in enumerate(load_catalogue(path), start=1):
        defaults = {field: row.get(field) or ("" if field != "stage" else None) for field in FIELDS}
        defaults["position"] = position
        obj, was_created = indicator_model.objects.get_or_create(slug=row["slug"], defaults=defaults)
        if was_created:
            created += 1
            continue
        changed = [f for f, v in defaults.items() if getattr(obj, f) != v]
        if changed:
            for f in changed:
                setattr(obj, f, defaults[f])
            obj.save(update_fields=changed)
            updated += 1
    return created, updated
