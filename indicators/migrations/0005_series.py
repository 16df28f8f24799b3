"""Measured series (indicators/series.py): the tables, then the seeded series (fixtures/series.json: what
each series is, no figures) and the analysts' permissions to add and correct points."""

import datetime

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

ANALYST_PERMISSIONS = [
    ("indicators", "view_series"),
    ("indicators", "view_seriespoint"),
    ("indicators", "add_seriespoint"),
    ("indicators", "change_seriespoint"),
    ("indicators", "view_seriespointrevision"),
]


def seed(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    from indicators.seeding import seed_series

    seed_series(apps.get_model("indicators", "Series"), apps.get_model("indicators", "Indicator"))
    app_config = apps.get_app_config("indicators")
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
        ("indicators", "0004_ship_matcher_model"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Series",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("slug", models.SlugField(max_length=64, unique=True)),
                ("title", models.CharField(max_length=200)),
                (
                    "unit",
                    models.CharField(
                        default="per day", help_text='e.g. "per day", "km² per week".', max_length=40
                    ),
                ),
                (
                    "source",
                    models.TextField(
                        blank=True, help_text="Where the figures come from.", verbose_name="source"
                    ),
                ),
                ("baseline_since", models.DateField(default=datetime.date(2025, 7, 1))),
                ("baseline_until", models.DateField(default=datetime.date(2025, 8, 14))),
                (
                    "drop_is_advance",
                    models.BooleanField(
                        default=True,
                        help_text="Ticked: a fall of the 28-day mean advances the indicator (fewer drones: fewer strikes).",
                        verbose_name="a drop is an advance",
                    ),
                ),
                (
                    "advance_threshold",
                    models.FloatField(
                        default=-0.25,
                        help_text="Change from the baseline mean, as a fraction (-0.25: 25% below), at which an advance is proposed. Negative when a drop is an advance, positive otherwise.",
                    ),
                ),
                (
                    "reverse_threshold",
                    models.FloatField(
                        default=0.25,
                        help_text="Change from the baseline mean, as a fraction (0.25: 25% above), at which a reverse is proposed. Of the opposite sign to the advance threshold.",
                    ),
                ),
                (
                    "last_signal",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("", "inside the band"),
                            ("below", "below the band"),
                            ("above", "above the band"),
                        ],
                        default="",
                        help_text="Where the 28-day mean was at the last check: one proposal per crossing.",
                        max_length=8,
                    ),
                ),
                (
                    "last_signal_on",
                    models.DateField(
                        blank=True, help_text="The latest point's day at that check.", null=True
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(default=0)),
                (
                    "indicator",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="series",
                        to="indicators.indicator",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "series",
                "ordering": ["position", "slug"],
            },
        ),
        migrations.CreateModel(
            name="SeriesPoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("date", models.DateField()),
                (
                    "value",
                    models.FloatField(
                        validators=[
                            django.core.validators.MinValueValidator(0, message="A value is 0 or more.")
                        ]
                    ),
                ),
                (
                    "source_url",
                    models.URLField(
                        blank=True,
                        max_length=2000,
                        validators=[
                            django.core.validators.URLValidator(
                                message="Enter a full web address starting with http:// or https://.",
                                schemes=["http", "https"],
                            )
                        ],
                    ),
                ),
                ("note", models.CharField(blank=True, max_length=500)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "series",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="points",
                        to="indicators.series",
                    ),
                ),
            ],
            options={
                "ordering": ["series", "date"],
            },
        ),
        migrations.CreateModel(
            name="SeriesPointRevision",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("old_value", models.FloatField(blank=True, null=True)),
                ("new_value", models.FloatField()),
                ("source_url", models.URLField(blank=True, max_length=2000)),
                ("note", models.CharField(blank=True, max_length=500)),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "actor_label",
                    models.CharField(
                        blank=True,
                        help_text="Who changed it when not a user: the imported file's name.",
                        max_length=300,
                    ),
                ),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "point",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="revisions",
                        to="indicators.seriespoint",
                    ),
                ),
            ],
            options={
                "ordering": ["at", "id"],
            },
        ),
        migrations.AddConstraint(
            model_name="series",
            constraint=models.CheckConstraint(
                condition=models.Q(("baseline_since__lte", models.F("baseline_until"))),
                name="series_baseline_ordered",
            ),
        ),
        migrations.AddConstraint(
            model_name="series",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("advance_threshold__gt", -1),
                        ("advance_threshold__lt", 0),
                        ("drop_is_advance", True),
                        ("reverse_threshold__gt", 0),
                    ),
                    models.Q(
                        ("advance_threshold__gt", 0),
                        ("drop_is_advance", False),
                        ("reverse_threshold__gt", -1),
                        ("reverse_threshold__lt", 0),
                    ),
                    _connector="OR",
                ),
                name="series_thresholds_match_direction",
            ),
        ),
        migrations.AddConstraint(
            model_name="series",
            constraint=models.CheckConstraint(
                condition=models.Q(("last_signal__in", ["", "below", "above"])),
                name="series_last_signal_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="seriespoint",
            constraint=models.UniqueConstraint(fields=("series", "date"), name="seriespoint_one_per_day"),
        ),
        migrations.AddConstraint(
            model_name="seriespoint",
            constraint=models.CheckConstraint(
                condition=models.Q(("value__gte", 0)), name="seriespoint_value_not_negative"
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
