"""The watch list (indicators) and what happened (events with their evidence and audit trail)."""

import datetime
import math

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from tracker.feeds.languages import LANGUAGE_NAMES, LANGUAGES


class Category(models.TextChoices):
    GROUND = "ground", "Ground"
    HUMANITARIAN = "humanitarian", "Humanitarian"
    POLITICAL = "political", "Political"
    COERCIVE = "coercive", "Coercive"


class Direction(models.TextChoices):
    ADVANCE = "advance", "Advance"
    REVERSE = "reverse", "Reverse"


class Origin(models.TextChoices):
    FEED = "feed", "Feed"
    MANUAL = "manual", "Manual"


class State(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    CONFIRMED = "confirmed", "Confirmed"
    REJECTED = "rejected", "Rejected"


# The codes come from the one language list (tracker.feeds.languages.LANGUAGES).
Language = models.TextChoices(
    "Language", [(code.upper(), (code, LANGUAGE_NAMES[code])) for code in LANGUAGES]
)


STAGE_CHOICES = [
    (1, "1 - low-visibility measures"),
    (2, "2 - local freeze and verification"),
    (3, "3 - political settlement"),
]


def _choices_check(field, choices_cls, name):
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices_cls.values}), name=name)


class Indicator(models.Model):
    """One item of the editorial's watch list. Slugs are stable: tools and tests rely on them."""

    slug = models.SlugField(max_length=64, unique=True)
    category = models.CharField(max_length=16, choices=Category.choices)
    stage = models.PositiveSmallIntegerField(
        choices=STAGE_CHOICES,
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3)],
        help_text="Step of the editorial's de-escalation sequence; blank where it does not place it.",
    )
    title = models.CharField(max_length=200)
    title_fr = models.CharField("editorial wording (French)", max_length=300, blank=True)
    advance_criteria = models.TextField("what counts as advance")
    reverse_criteria = models.TextField("what counts as reverse")
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the watch list.")

    class Meta:
        ordering = ["position", "slug"]
        constraints = [
            _choices_check("category", Category, "indicator_category_valid"),
            models.CheckConstraint(
                condition=Q(stage__isnull=True) | Q(stage__gte=1, stage__lte=3), name="indicator_stage_valid"
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("indicator", args=[self.slug])


class Event(models.Model):
    """One thing that happened and bears on one indicator, with the evidence for it."""

    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="events")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    occurred_on = models.DateField("happened on", db_index=True)
    title = models.CharField(max_length=500)
    summary = models.TextField(blank=True)
    origin = models.CharField(max_length=8, choices=Origin.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PROPOSED, db_index=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    # Why a matcher proposed it (empty for manual events).
    story = models.ForeignKey(
        "feeds.Story", null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    match_rule = models.CharField(max_length=200, blank=True)
    match_terms = models.JSONField(default=list, blank=True)
    match_score = models.FloatField(null=True, blank=True)
    match_explanation = models.JSONField(
        default=dict,
        blank=True,
        help_text="The learned model's part: version, probability, nearest examples.",
    )

    class Meta:
        ordering = ["-occurred_on", "-id"]
        indexes = [
            models.Index(fields=["indicator", "state", "occurred_on"]),
            # Covers the per-day aggregate behind every status and timeline (services.confirmed_daily):
            # the database reads the index alone, never the event rows.
            models.Index(
                fields=["state", "occurred_on", "indicator", "direction"], name="event_state_day_ind_dir_idx"
            ),
        ]
        constraints = [
            _choices_check("direction", Direction, "event_direction_valid"),
            _choices_check("origin", Origin, "event_origin_valid"),
            _choices_check("state", State, "event_state_valid"),
            models.UniqueConstraint(
                fields=["story", "indicator"],
                condition=Q(story__isnull=False),
                name="event_one_per_story_and_indicator",
            ),
        ]

    def __str__(self):
        return f"{self.occurred_on} {self.get_direction_display()} · {self.title}"

    # The day validation counts as "today": services set it from the `now` they are given; the admin's
    # forms, which have no `now`, leave it unset and the local date is used.
    validation_today: datetime.date | None = None

    def clean(self):
        super().clean()
        if self.occurred_on:
            today = self.validation_today or timezone.localdate()
            latest = today + datetime.timedelta(days=settings.WATCHPOST_MAX_FUTURE_DAYS)
            if self.occurred_on > latest:
                raise ValidationError(
                    {
                        "occurred_on": (
                            f"{self.occurred_on:%d %B %Y} is in the future. An event records what has "
                            f"happened: use a date no later than {latest:%d %B %Y}."
                        )
                    }
                )
        if self.origin == Origin.FEED and self.pk and not self.sources.exclude(url="").exists():
            raise ValidationError("An event proposed from a feed needs at least one source URL.")
        if self.pk and self.indicator_id:
            self._clean_details()

    def _clean_details(self):
        """A threat's details stay on consequences-threat events, a meeting's on second-summit ones."""
        slug = Indicator.objects.filter(pk=self.indicator_id).values_list("slug", flat=True).first()
        row = (Event.objects.filter(pk=self.pk).values_list("threat__id", "meeting__id").first()) or (
            None,
            None,
        )
        for detail_id, owner, what in (
            (row[0], THREAT_SLUG, "a threat's details (who, consequence, deadlines)"),
            (row[1], SUMMIT_SLUG, "a meeting's place, date and status"),
        ):
            if detail_id is not None and slug != owner:
                raise ValidationError(
                    {
                        "indicator": f"This event carries {what}, which belong to “{owner}” events "
                        "only: clear them first."
                    }
                )

    @property
    def corroboration(self):
        """How many independent outlets carried it."""
        return len({(s.outlet or s.url).lower() for s in self.sources.all()})

    @property
    def claim_status(self):
        """Who claims it, from its sources (the rule is in indicators.claims)."""
        from .claims import event_claim_status

        return event_claim_status(self)

    @property
    def claim_status_label(self):
        from .claims import label

        return label(self.claim_status)


http_url_validator = URLValidator(
    schemes=["http", "https"], message="Enter a full web address starting with http:// or https://."
)


class Claimant(models.TextChoices):
    """Who says it, where a source's text attributes the claim (indicators.matching.claimants)."""

    KYIV = "kyiv", "Kyiv"
    MOSCOW = "moscow", "Moscow"
    WASHINGTON = "washington", "Washington"
    EUROPE = "europe", "European capitals"
    OTHER = "other", "another party"
    UNKNOWN = "unknown", "unknown"


class Stance(models.TextChoices):
    CLAIM = "claim", "claim"
    DENIAL = "denial", "denial (counter-claim)"


class EventSource(models.Model):
    """A piece of evidence: where the event was reported, who the text says claims it (or denies it)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sources")
    url = models.URLField(max_length=2000, validators=[http_url_validator])
    outlet = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=8, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    entry = models.ForeignKey(
        "feeds.Entry", null=True, blank=True, on_delete=models.SET_NULL, related_name="event_sources"
    )
    claimant = models.CharField(max_length=12, choices=Claimant.choices, default=Claimant.UNKNOWN)
    stance = models.CharField(
        max_length=8, choices=Stance.choices, default=Stance.CLAIM, help_text="denial: a counter-claim."
    )

    class Meta:
        ordering = ["published_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "url"], name="eventsource_unique_url_per_event"),
            models.CheckConstraint(condition=~Q(url=""), name="eventsource_url_required"),
            _choices_check("claimant", Claimant, "eventsource_claimant_valid"),
            _choices_check("stance", Stance, "eventsource_stance_valid"),
        ]

    def __str__(self):
        return self.outlet or self.url


class EventReview(models.Model):
    """Audit trail: every change of review state (and every edit) of an event."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        CONFIRMED = "confirmed", "Confirmed"
        REJECTED = "rejected", "Rejected"
        REOPENED = "reopened", "Reopened"
        EDITED = "edited", "Edited"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="reviews")
    action = models.CharField(max_length=10, choices=Action.choices)
    from_state = models.CharField(max_length=10, choices=State.choices, blank=True)
    to_state = models.CharField(max_length=10, choices=State.choices)
    changes = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=100, blank=True, help_text="Who acted when not a user.")
    note = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        who = self.actor or self.actor_label or "system"
        return f"{self.at:%Y-%m-%d %H:%M} {who}: {self.get_action_display()}"


# --- Matching rules (data, editable in the admin; seeded from fixtures/rules/) -------------------------


def _phrase_lines(text):
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class MatchRule(models.Model):
    """How to recognise one indicator in one language. One phrase per line in each list.

    Phrases are stemmed like the headlines, so one form covers the inflected ones; `word*` matches any word
    starting with `word`, `=word` matches that exact word only, and `phrase | 0.4` gives a phrase its own
    weight (default 0.7; a match needs a score of MATCH_THRESHOLD, 0.5 by default).
    """

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="match_rules")
    language = models.CharField(max_length=8, choices=Language.choices)
    terms = models.TextField(
        blank=True,
        help_text="Evidence for the indicator, one phrase per line. Direction comes from the cues.",
    )
    reverse_terms = models.TextField(
        blank=True,
        help_text="Evidence that also says the indicator goes the other way (e.g. 'record drone attack').",
    )
    reverse_cues = models.TextField(
        blank=True, help_text="Words that flip a match to reverse (rejected, postponed, eased...)."
    )
    exclusions = models.TextField(
        blank=True, help_text="Phrases that veto this rule (e.g. 'exchange rate', 'flood')."
    )
    weight = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.05), MaxValueValidator(2.0)],
        help_text="Multiplies every phrase weight of this rule.",
    )
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["indicator__position", "language"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "language"], name="matchrule_one_per_language"),
            _choices_check("language", Language, "matchrule_language_valid"),
        ]

    def __str__(self):
        return f"{self.indicator.slug} ({self.language})"

    def spec(self, indicator_slug=None):
        from indicators.matching import RuleSpec

        return RuleSpec(
            indicator=indicator_slug or self.indicator.slug,
            lang=self.language,
            terms=tuple(_phrase_lines(self.terms)),
            reverse_terms=tuple(_phrase_lines(self.reverse_terms)),
            reverse_cues=tuple(_phrase_lines(self.reverse_cues)),
            exclusions=tuple(_phrase_lines(self.exclusions)),
            weight=self.weight,
        )

    def clean(self):
        super().clean()
        from indicators.matching import Matcher, RuleError

        if not _phrase_lines(self.terms) and not _phrase_lines(self.reverse_terms):
            raise ValidationError({"terms": "Give at least one term (or reverse term), one phrase per line."})
        slug = Indicator.objects.filter(pk=self.indicator_id).values_list("slug", flat=True).first()
        if slug is None or self.language not in Language.values:
            return  # the field errors say what to fix
        try:
            Matcher([self.spec(indicator_slug=slug)], [])
        except RuleError as exc:
            raise ValidationError(str(exc)) from None


class ScopeKind(models.TextChoices):
    THEATRE = "theatre", "Russia-Ukraine theatre cue"
    OFF_THEATRE = "off_theatre", "Other theatre marker"


class ScopeTerm(models.Model):
    """A global phrase saying which theatre an entry is about, per language."""

    Kind = ScopeKind

    language = models.CharField(max_length=8, choices=Language.choices)
    kind = models.CharField(max_length=12, choices=ScopeKind.choices)
    phrase = models.CharField(max_length=200)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["language", "kind", "phrase"]
        constraints = [
            models.UniqueConstraint(fields=["language", "kind", "phrase"], name="scopeterm_unique"),
            _choices_check("language", Language, "scopeterm_language_valid"),
            _choices_check("kind", ScopeKind, "scopeterm_kind_valid"),
        ]

    def __str__(self):
        return f"{self.phrase} ({self.language}, {self.get_kind_display()})"

    def clean(self):
        super().clean()
        from indicators.matching import RuleError
        from indicators.matching.engine import parse_phrase

        self.phrase = (self.phrase or "").strip()
        try:
            parse_phrase(self.phrase, self.language or "en", drop_stopwords=False)
        except RuleError as exc:
            raise ValidationError({"phrase": str(exc)}) from None


# --- The learned matcher (indicators/matching/learned.py), versioned -----------------------------------


class MatcherModel(models.Model):
    """A trained version of the learned matcher. At most one is active; `manage.py train_matcher` makes a
    candidate active only when it is no worse on the frozen holdout, and an admin can roll back."""

    version = models.CharField(max_length=40, unique=True)
    encoder = models.CharField(max_length=100, help_text="The sentence encoder its vectors come from.")
    created_at = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=False)
    activated_at = models.DateTimeField(null=True, blank=True)
    trained_on = models.JSONField(default=dict, blank=True, help_text="Labelled items and reviews used.")
    validation = models.JSONField(default=dict, blank=True, help_text="Figures on the `test` split.")
    holdout = models.JSONField(default=dict, blank=True, help_text="Figures on the frozen holdout.")
    note = models.TextField(blank=True)
    data = models.BinaryField(help_text="The model's arrays (numpy npz, no pickle).")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="matchermodel_one_active"
            )
        ]

    def __str__(self):
        return f"matcher {self.version}{' (active)' if self.active else ''}"


# --- Measured series (indicators/series.py): daily quantities read against a pre-summit baseline ------

BASELINE_SINCE = datetime.date(2025, 7, 1)
BASELINE_UNTIL = datetime.date(2025, 8, 14)


class SignalSide(models.TextChoices):
    INSIDE = "", "inside the band"
    BELOW = "below", "below the band"
    ABOVE = "above", "above the band"


class Series(models.Model):
    """A named daily quantity with a unit and a source, read against a pre-summit baseline; when its
    28-day mean leaves the band between the two thresholds, an event is proposed for its indicator."""

    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    unit = models.CharField(max_length=40, default="per day", help_text='e.g. "per day", "km² per week".')
    source = models.TextField("source", blank=True, help_text="Where the figures come from.")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="series")
    baseline_since = models.DateField(default=BASELINE_SINCE)
    baseline_until = models.DateField(default=BASELINE_UNTIL)
    drop_is_advance = models.BooleanField(
        "a drop is an advance",
        default=True,
        help_text="Ticked: a fall of the 28-day mean advances the indicator (fewer drones: fewer strikes).",
    )
    advance_threshold = models.FloatField(
        default=-0.25,
        help_text="Change from the baseline mean, as a fraction (-0.25: 25% below), at which an advance is "
        "proposed. Negative when a drop is an advance, positive otherwise.",
    )
    reverse_threshold = models.FloatField(
        default=0.25,
        help_text="Change from the baseline mean, as a fraction (0.25: 25% above), at which a reverse is "
        "proposed. Of the opposite sign to the advance threshold.",
    )
    last_signal = models.CharField(
        max_length=8,
        choices=SignalSide.choices,
        default=SignalSide.INSIDE,
        blank=True,
        help_text="Where the 28-day mean was at the last check: one proposal per crossing.",
    )
    last_signal_on = models.DateField(
        null=True, blank=True, help_text="The latest point's day at that check."
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name_plural = "series"
        constraints = [
            models.CheckConstraint(
                condition=Q(baseline_since__lte=models.F("baseline_until")), name="series_baseline_ordered"
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        drop_is_advance=True,
                        advance_threshold__lt=0,
                        advance_threshold__gt=-1,
                        reverse_threshold__gt=0,
                    )
                    | Q(
                        drop_is_advance=False,
                        advance_threshold__gt=0,
                        reverse_threshold__lt=0,
                        reverse_threshold__gt=-1,
                    )
                ),
                name="series_thresholds_match_direction",
            ),
            _choices_check("last_signal", SignalSide, "series_last_signal_valid"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("series", args=[self.slug])

    def clean(self):
        super().clean()
        errors = {}
        if self.baseline_since and self.baseline_until and self.baseline_since > self.baseline_until:
            errors["baseline_until"] = (
                "The baseline ends before it starts: give an end on or after its start."
            )
        low, high = (
            (self.advance_threshold, self.reverse_threshold)
            if self.drop_is_advance
            else (self.reverse_threshold, self.advance_threshold)
        )
        if low is not None and high is not None:
            which = "advance" if self.drop_is_advance else "reverse"
            other = "reverse" if self.drop_is_advance else "advance"
            if not -1 < low < 0:
                errors[f"{which}_threshold"] = (
                    f"The {which} threshold is a drop: give a fraction between -1 and 0 "
                    "(e.g. -0.25 for 25% below)."
                )
            if not high > 0:
                errors[f"{other}_threshold"] = (
                    f"The {other} threshold is a rise: give a fraction above 0 (e.g. 0.25 for 25% above)."
                )
        if errors:
            raise ValidationError(errors)


class SeriesPoint(models.Model):
    """One day's figure of a series, with where it comes from. Every change is kept (SeriesPointRevision)."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="points")
    date = models.DateField()
    value = models.FloatField(validators=[MinValueValidator(0, message="A value is 0 or more.")])
    source_url = models.URLField(max_length=2000, blank=True, validators=[http_url_validator])
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["series", "date"]
        constraints = [
            models.UniqueConstraint(fields=["series", "date"], name="seriespoint_one_per_day"),
            models.CheckConstraint(condition=Q(value__gte=0), name="seriespoint_value_not_negative"),
        ]

    # The day validation counts as "today" (as Event.validation_today): set by the services from `now`.
    validation_today: datetime.date | None = None

    def __str__(self):
        return f"{self.series_id} {self.date}: {self.value:g}"

    def clean(self):
        super().clean()
        if self.value is not None and not math.isfinite(self.value):
            raise ValidationError({"value": "Give a number, such as 412 or 12.5."})
        if self.date:
            today = self.validation_today or timezone.localdate()
            latest = today + datetime.timedelta(days=settings.WATCHPOST_MAX_FUTURE_DAYS)
            if self.date > latest:
                raise ValidationError(
                    {
                        "date": f"{self.date:%d %B %Y} is in the future: a point records a day that has "
                        f"happened, no later than {latest:%d %B %Y}."
                    }
                )


class SeriesPointRevision(models.Model):
    """A point's history: one row when it was added (old_value empty) and one per change of its value."""

    point = models.ForeignKey(SeriesPoint, on_delete=models.CASCADE, related_name="revisions")
    old_value = models.FloatField(null=True, blank=True)
    new_value = models.FloatField()
    source_url = models.URLField(max_length=2000, blank=True)
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=300, blank=True, help_text="Who changed it when not a user: the imported file's name."
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        who = self.actor or self.actor_label or "system"
        old = "new" if self.old_value is None else f"{self.old_value:g}"
        return f"{self.at:%Y-%m-%d %H:%M} {who}: {old} → {self.new_value:g}"


class ProposedPoint(models.Model):
    """A figure read from a news entry ("Russia launched 810 drones overnight"), awaiting an analyst: once
    confirmed, the point is written through indicators.series (with its revision); rejected, nothing is.
    One proposal per series and day per entry (indicators/figures.py)."""

    series = models.ForeignKey(Series, on_delete=models.CASCADE, related_name="proposed_points")
    date = models.DateField()
    value = models.FloatField(validators=[MinValueValidator(0, message="A value is 0 or more.")])
    entry = models.ForeignKey(
        "feeds.Entry", null=True, blank=True, on_delete=models.SET_NULL, related_name="proposed_points"
    )
    source_url = models.URLField(max_length=2000, blank=True, validators=[http_url_validator])
    state = models.CharField(max_length=10, choices=State.choices, default=State.PROPOSED, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entry", "series", "date"],
                condition=Q(entry__isnull=False),
                name="proposedpoint_one_per_entry_series_day",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="proposedpoint_value_not_negative"),
            _choices_check("state", State, "proposedpoint_state_valid"),
        ]

    def __str__(self):
        return f"{self.series_id} {self.date}: {self.value:g} ({self.state})"


# --- Threats and their deadlines; the second meeting (indicators/threats.py) --------------------------

THREAT_SLUG = "consequences-threat"
SUMMIT_SLUG = "second-summit"
SUMMIT_DATE = datetime.date(2025, 8, 15)  # the Anchorage summit: the ledger counts deadlines from it


def _event_on(event_id, slug, what):
    """ValidationError unless the event bears on indicator `slug`."""
    found = Event.objects.filter(pk=event_id).values_list("indicator__slug", flat=True).first()
    if event_id is not None and found != slug:
        raise ValidationError(
            {
                "event": f"{what} belong to events of the “{slug}” indicator only; this event bears "
                f"on “{found}”."
            }
        )


class Threat(models.Model):
    """What a consequences-threat event says: who threatened, the consequence named. Its deadlines (none,
    one, or several when extended) are ThreatDeadline rows, the latest one being the one in force."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="threat")
    threatened_by = models.CharField(max_length=100, blank=True, help_text='Who threatened: "Trump", "EU"...')
    consequence = models.CharField(
        max_length=300, blank=True, help_text='The consequence named: "secondary tariffs", "new sanctions"...'
    )

    def __str__(self):
        return f"{self.threatened_by or 'Someone'}: {self.consequence or 'consequences'}"

    def clean(self):
        super().clean()
        _event_on(self.event_id, THREAT_SLUG, "Who threatened, the consequence and a deadline")


class DeadlineOutcome(models.TextChoices):
    PENDING = "", "awaiting its outcome"
    CARRIED_OUT = "carried_out", "carried out"
    EXTENDED = "extended", "extended"
    LAPSED = "lapsed", "lapsed or dropped"


class ThreatDeadline(models.Model):
    """One deadline of a threat and what became of it. An extension decides the current deadline
    (`extended`) and adds the new one: the rows of a threat are its history of deadlines."""

    Outcome = DeadlineOutcome

    threat = models.ForeignKey(Threat, on_delete=models.CASCADE, related_name="deadlines")
    due_on = models.DateField("deadline")
    outcome = models.CharField(max_length=12, choices=DeadlineOutcome.choices, default="", blank=True)
    follow_up = models.ForeignKey(
        Event,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Carried out: the event that followed (new sanctions...). Lapsed: the reverse event "
        "recorded.",
    )
    set_at = models.DateTimeField(default=timezone.now)
    set_by_label = models.CharField(max_length=100, blank=True, help_text='"matcher", or empty for a user.')
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["threat", "set_at", "id"]
        constraints = [
            _choices_check("outcome", DeadlineOutcome, "threatdeadline_outcome_valid"),
            # Decided exactly when an outcome is recorded; carried out and lapsed name their event.
            models.CheckConstraint(
                condition=(
                    Q(outcome="", decided_at__isnull=True) | (~Q(outcome="") & Q(decided_at__isnull=False))
                ),
                name="threatdeadline_decided_with_outcome",
            ),
            models.CheckConstraint(
                condition=~Q(outcome__in=["carried_out", "lapsed"]) | Q(follow_up__isnull=False),
                name="threatdeadline_outcome_has_event",
            ),
            models.UniqueConstraint(
                fields=["threat"], condition=Q(outcome=""), name="threatdeadline_one_open_per_threat"
            ),
        ]

    def __str__(self):
        return f"{self.due_on}: {self.get_outcome_display()}"

    def clean(self):
        super().clean()
        if (
            self.outcome in (DeadlineOutcome.CARRIED_OUT, DeadlineOutcome.LAPSED)
            and self.follow_up_id is None
        ):
            raise ValidationError(
                {"follow_up": "A threat carried out (or lapsed) names its event: pick the follow-up event."}
            )
        if self.follow_up_id is not None and self.threat_id is not None:
            if Threat.objects.filter(pk=self.threat_id, event_id=self.follow_up_id).exists():
                raise ValidationError({"follow_up": "The follow-up is another event than the threat itself."})


class MeetingStatus(models.TextChoices):
    PROPOSED = "proposed", "proposed"
    SET = "set", "set"
    CANCELLED = "cancelled", "cancelled"
    HELD = "held", "held"


class Meeting(models.Model):
    """What a second-summit event says of the meeting: proposed, set (a date and place agreed), cancelled
    (shelved, postponed, refused) or held; where, and on which day."""

    Status = MeetingStatus

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="meeting")
    status = models.CharField(max_length=10, choices=MeetingStatus.choices, default=MeetingStatus.PROPOSED)
    place = models.CharField(max_length=100, blank=True, help_text='e.g. "Budapest".')
    date = models.DateField("meeting date", null=True, blank=True)

    class Meta:
        constraints = [_choices_check("status", MeetingStatus, "meeting_status_valid")]

    def __str__(self):
        return f"{self.place or 'a meeting'} {self.get_status_display()}"

    def clean(self):
        super().clean()
        _event_on(self.event_id, SUMMIT_SLUG, "A meeting's place, date and status")
