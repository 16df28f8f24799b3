"""Threats and their deadlines, the second meeting (indicators/threats.py): the tables, and the analysts'
permissions to edit them in the admin."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

ANALYST_PERMISSIONS = [
    f"{action}_{model}"
    for model in ("threat", "threatdeadline", "meeting")
    for action in ("view", "add", "change")
]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("indicators")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="analysts")
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="indicators", codename__in=ANALYST_PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("indicators", "0005_series"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Threat",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "threatened_by",
                    models.CharField(
                        blank=True, help_text='Who threatened: "Trump", "EU"...', max_length=100
                    ),
                ),
                (
                    "consequence",
                    models.CharField(
                        blank=True,
                        help_text='The consequence named: "secondary tariffs", "new sanctions"...',
                        max_length=300,
                    ),
                ),
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="threat",
                        to="indicators.event",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Meeting",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("proposed", "proposed"),
                            ("set", "set"),
                            ("cancelled", "cancelled"),
                            ("held", "held"),
                        ],
                        default="proposed",
                        max_length=10,
                    ),
                ),
                ("place", models.CharField(blank=True, help_text='e.g. "Budapest".', max_length=100)),
                ("date", models.DateField(blank=True, null=True, verbose_name="meeting date")),
                (
                    "event",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="meeting",
                        to="indicators.event",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["proposed", "set", "cancelled", "held"])),
                        name="meeting_status_valid",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ThreatDeadline",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("due_on", models.DateField(verbose_name="deadline")),
                (
                    "outcome",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("", "awaiting its outcome"),
                            ("carried_out", "carried out"),
                            ("extended", "extended"),
                            ("lapsed", "lapsed or dropped"),
                        ],
                        default="",
                        max_length=12,
                    ),
                ),
                ("set_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "set_by_label",
                    models.CharField(blank=True, help_text='"matcher", or empty for a user.', max_length=100),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("note", models.TextField(blank=True)),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "follow_up",
                    models.ForeignKey(
                        blank=True,
                        help_text="Carried out: the event that followed (new sanctions...). Lapsed: the reverse event recorded.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="indicators.event",
                    ),
                ),
                (
                    "threat",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deadlines",
                        to="indicators.threat",
                    ),
                ),
            ],
            options={
                "ordering": ["threat", "set_at", "id"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("outcome__in", ["", "carried_out", "extended", "lapsed"])),
                        name="threatdeadline_outcome_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("decided_at__isnull", True), ("outcome", "")),
                            models.Q(models.Q(("outcome", ""), _negated=True), ("decided_at__isnull", False)),
                            _connector="OR",
                        ),
                        name="threatdeadline_decided_with_outcome",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("outcome__in", ["carried_out", "lapsed"]), _negated=True),
                            ("follow_up__isnull", False),
                            _connector="OR",
                        ),
                        name="threatdeadline_outcome_has_event",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("outcome", "")),
                        fields=("threat",),
                        name="threatdeadline_one_open_per_threat",
                    ),
                ],
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
