"""Each feed's camp (the outlet's side: Ukrainian, Russian, Western, other). The starter feeds already
present get the camp written for them in fixtures/feeds.json (the field is new: no admin edit to keep);
feeds added by hand start as "not set" (their reports confirm nothing) until an admin says otherwise."""

import json
from pathlib import Path

from django.conf import settings
from django.db import migrations, models


def seed_camps(apps, schema_editor):
    Feed = apps.get_model("feeds", "Feed")
    path = Path(settings.BASE_DIR) / "fixtures" / "feeds.json"
    if not path.exists():
        return
    for row in json.loads(path.read_text(encoding="utf-8")):
        if row.get("camp"):
            Feed.objects.filter(url=row["url"]).update(camp=row["camp"])


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0003_story_centroid"),
    ]

    operations = [
        migrations.AddField(
            model_name="feed",
            name="camp",
            field=models.CharField(
                choices=[
                    ("ukrainian", "Ukrainian"),
                    ("russian", "Russian"),
                    ("western", "Western"),
                    ("other", "other"),
                    ("unknown", "not set"),
                ],
                default="unknown",
                help_text="The outlet's side (Ukrainian, Russian, Western, other), read by an event's claim "
                "status; until it is set, the outlet's reports count as no one's confirmation.",
                max_length=10,
            ),
        ),
        migrations.RunPython(seed_camps, migrations.RunPython.noop),
    ]
