"""Analysts (the group made with the watch list) may see the milestones marked on the timelines."""

import importlib

from django.db import migrations


def grant(apps, schema_editor):
    watch_list = importlib.import_module("indicators.migrations.0002_seed_watch_list")
    watch_list.create_permissions_now(apps, ("dashboards",))
    watch_list.grant(apps, "analysts", [("dashboards", "view_milestone")])


class Migration(migrations.Migration):
    dependencies = [("dashboards", "0001_initial"), ("indicators", "0002_seed_watch_list")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
