from django.db import migrations


def seed(apps, schema_editor):
    from indicators.matching.seeding import seed_rules

    seed_rules(
        apps.get_model("indicators", "MatchRule"),
        apps.get_model("indicators", "ScopeTerm"),
        apps.get_model("indicators", "Indicator"),
    )


class Migration(migrations.Migration):
    dependencies = [("indicators", "0003_match_rules")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
