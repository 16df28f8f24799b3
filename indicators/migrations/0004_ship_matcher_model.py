"""The learned matcher shipped in fixtures/matcher/ arrives by migration, active, so that a fresh install
matches with it from the first poll (when the encoder is available; rules alone otherwise)."""

from django.db import migrations


def load(apps, schema_editor):
    from indicators.matching.versions import load_shipped

    load_shipped(apps.get_model("indicators", "MatcherModel"))


class Migration(migrations.Migration):
    dependencies = [("indicators", "0003_learned_matcher")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
