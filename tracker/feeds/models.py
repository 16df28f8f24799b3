"""News feeds, the entries read from them, and stories (clusters of reports of one event)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .languages import LANGUAGES
from .parsing import sanitised_to_text

__all__ = ["Feed", "Story", "Entry", "EntryVector"]


class Camp(models.TextChoices):
    """The outlet's side (not who a report attributes a claim to: that is a source's claimant)."""

    UKRAINIAN = "ukrainian", "Ukrainian"
    RUSSIAN = "russian", "Russian"
    WESTERN = "western", "Western"
    OTHER = "other", "other"
    UNKNOWN = "unknown", "not set"


class Feed(models.Model):
    url = models.URLField(max_length=1000, unique=True)
    title = models.CharField(max_length=200, blank=True)
    language = models.CharField(
        max_length=8, blank=True, help_text="en, fr, ru or uk; blank to detect per entry."
    )
    theatre = models.BooleanField(
        default=False, help_text="Every item is about the Russia-Ukraine war (a Ukraine-focused outlet)."
    )
    active = models.BooleanField(default=True)
    camp = models.CharField(
        max_length=10,
        choices=Camp.choices,
        default=Camp.UNKNOWN,
        help_text="The outlet's side (Ukrainian, Russian, Western, other), read by an event's claim status; "
        "until it is set, the outlet's reports count as no one's confirmation.",
    )

    # Health
    last_fetched_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error_kind = models.CharField(max_length=40, blank=True)
    last_error_message = models.TextField(blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_http_status = models.PositiveIntegerField(null=True, blank=True)
    last_new_entries = models.PositiveIntegerField(default=0, help_text="New entries at the last success.")
    poll_interval = models.PositiveIntegerField(
        default=1800,
        help_text="Seconds between polls when healthy; shorter for busy feeds, longer for quiet ones.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["title", "url"]

    def __str__(self):
        return self.title or self.url

    def clean(self):
        super().clean()
        errors = {}
        scheme = (self.url or "").split(":", 1)[0].lower()
        if self.url and scheme not in ("http", "https"):
            errors["url"] = "Feeds are fetched over http:// or https:// only; enter a web address."
        if self.language and self.language not in LANGUAGES:
            errors["language"] = (
                f"'{self.language}' is not a supported language: use en, fr, ru or uk, or leave it blank "
                "to detect the language of each entry."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def health(self) -> str:
        if not self.active:
            return "inactive"
        if self.consecutive_failures:
            return "failing"
        if self.last_success_at is None:
            return "never polled"
        return "ok"


class Story(models.Model):
    """Near-identical reports of one event from different outlets: counted once."""

    title = models.CharField(max_length=500)
    lang = models.CharField(max_length=8, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    outlet_count = models.PositiveIntegerField(default=1, help_text="Independent outlets that carried it.")
    # The mean of its reports' sentence vectors (tracker.feeds.semantic), float16 bytes, with the encoder.
    centroid = models.BinaryField(null=True, blank=True, editable=False)
    centroid_encoder = models.CharField(max_length=100, blank=True, editable=False)
    centroid_count = models.PositiveIntegerField(default=0, editable=False)
    # What the join model reads of its reports besides the centroid: figures, names, languages, outlets.
    evidence = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["-first_seen_at"]
        verbose_name_plural = "stories"

    def __str__(self):
        return self.title


class Entry(models.Model):
    """One item read from a feed (or an imported file), stored once."""

    feed = models.ForeignKey(Feed, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries")
    story = models.ForeignKey(Story, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries")
    guid = models.CharField(max_length=1000, blank=True, db_index=True)
    link = models.URLField(max_length=2000, blank=True)
    canonical_link = models.URLField(max_length=2000, blank=True, db_index=True)
    title = models.CharField(max_length=1000)
    summary = models.TextField(blank=True, help_text="Sanitised HTML.")
    lang = models.CharField(max_length=8, blank=True)
    outlet = models.CharField(max_length=200, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    fetched_at = models.DateTimeField(default=timezone.now)
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)

    # Enrichment (tracker.feeds.enrichment): matching runs after storing, in its own step.
    enriched_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was matched; empty: pending."
    )
    enrich_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    enrich_claim = models.CharField(max_length=32, blank=True, editable=False)
    enrich_attempts = models.PositiveSmallIntegerField(default=0)
    enrich_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name_plural = "entries"
        indexes = [
            models.Index(
                fields=["id"], name="entry_pending_enrich_idx", condition=models.Q(enriched_at__isnull=True)
            )
        ]

    def __str__(self):
        return self.title

    @property
    def plain_summary(self) -> str:
        """The summary as plain text (it is stored as sanitised HTML), what the matcher reads."""
        return sanitised_to_text(self.summary or "")


class EntryVector(models.Model):
    """An entry's sentence embedding (tracker.feeds.encoder), stored once, as float16 bytes."""

    entry = models.OneToOneField(Entry, primary_key=True, on_delete=models.CASCADE, related_name="vector")
    encoder = models.CharField(max_length=100, help_text="Model and version that computed it.")
    dim = models.PositiveSmallIntegerField()
    data = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.encoder} vector of entry {self.entry_id}"
