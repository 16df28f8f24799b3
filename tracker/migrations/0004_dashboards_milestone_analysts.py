from django.db import migrations, models

ANALYST_PERMISSIONS = [
    ("indicators", "view_indicator"),
    ("indicators", "view_event"),
    ("indicators", "add_event"),
    ("indicators", "change_event"),
    ("indicators", "view_eventsource"),
    ("indicators", "add_eventsource"),
    ("indicators", "view_eventreview"),
    ("tracker", "view_feed"),
    ("tracker", "view_story"),
    ("tracker", "view_entry"),
    ("tracker", "view_milestone"),
]


def create_analysts_group(apps, schema_editor):
    """The "analysts" group: log and review events (admins, i.e. staff, manage feeds and rules)."""
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; create them now so the group gets them.
    for app_label in ("indicators", "tracker"):
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="analysts")
    for app_label, codename in ANALYST_PERMISSIONS:
        perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
        if perm is not None:
            group.permissions.add(perm)


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0003_digests"),
        ("indicators", "0002_seed_indicators"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name="Milestone",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("date", models.DateField(db_index=True)),
                ("label", models.CharField(max_length=120)),
                ("note", models.TextField(blank=True)),
            ],
            options={"ordering": ["date", "id"]},
        ),
        migrations.AddConstraint(
            model_name="milestone",
            constraint=models.UniqueConstraint(fields=("date", "label"), name="milestone_unique_date_label"),
        ),
        migrations.RunPython(create_analysts_group, migrations.RunPython.noop),
    ]
