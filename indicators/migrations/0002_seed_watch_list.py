"""The watch list arrives by migration: the 16 indicators, their match rules and scope phrases, and the
"analysts" group (log and review events; admins, i.e. staff, manage feeds and rules)."""

from django.db import migrations

ANALYST_PERMISSIONS = [
    ("indicators", "view_indicator"),
    ("indicators", "view_event"),
    ("indicators", "add_event"),
    ("indicators", "change_event"),
    ("indicators", "view_eventsource"),
    ("indicators", "add_eventsource"),
    ("indicators", "view_eventreview"),
    ("feeds", "view_feed"),
    ("feeds", "view_story"),
    ("feeds", "view_entry"),
]


def create_permissions_now(apps, app_labels):
    """Permissions are normally created after all migrations; create them now so a group can get them."""
    from django.contrib.auth.management import create_permissions

    for app_label in app_labels:
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def grant(apps, group_name, permissions):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=group_name)
    for app_label, codename in permissions:
        perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm is not None:
            group.permissions.add(perm)


def seed(apps, schema_editor):
    from indicators.matching.seeding import seed_rules
    from indicators.seeding import seed_indicators

    seed_indicators(apps.get_model("indicators", "Indicator"))
    seed_rules(
        apps.get_model("indicators", "MatchRule"),
        apps.get_model("indicators", "ScopeTerm"),
        apps.get_model("indicators", "Indicator"),
    )
    create_permissions_now(apps, ("indicators", "feeds"))
    grant(apps, "analysts", ANALYST_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [
        ("indicators", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
