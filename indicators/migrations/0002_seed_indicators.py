from django.db import migrations


def seed(apps, schema_editor):
    from indicators.seeding import seed_indicators

    seed_indicators(apps.get_model("indicators", "Indicator"))


class Migration(migrations.Migration):
    dependencies = [("indicators", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
