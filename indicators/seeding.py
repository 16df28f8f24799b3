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


SERIES_FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "series.json"
SERIES_FIELDS = ("title", "unit", "source", "drop_is_advance")


def seed_series(series_model=None, indicator_model=None, path=SERIES_FIXTURE):
    """Create the measured series of fixtures/series.json that are missing (by slug). Returns the number
    created. Series already there (edited in the admin, say) and their points are left alone; the fixture
    holds no figures, only what each series is."""
    if series_model is None:
        from indicators.models import Series as series_model
    if indicator_model is None:
        from indicators.models import Indicator as indicator_model
    created = 0
    for position, row in enumerate(load_catalogue(path), start=1):
        indicator = indicator_model.objects.get(slug=row["indicator"])
        defaults = {field: row[field] for field in SERIES_FIELDS if field in row}
        _, was_created = series_model.objects.get_or_create(
            slug=row["slug"], defaults={**defaults, "indicator": indicator, "position": position}
        )
        created += was_created
    return created
