"""Dated milestones marked on every timeline (the Anchorage summit is built in; admins add others)."""

import datetime

from django.db import models

__all__ = ["Milestone", "ANCHORAGE_SUMMIT"]

# The reference point of the whole watch list: always marked, even with an empty Milestone table.
ANCHORAGE_SUMMIT = (datetime.date(2025, 8, 15), "Anchorage summit")


class Milestone(models.Model):
    date = models.DateField(db_index=True)
    label = models.CharField(max_length=120)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["date", "id"]
        constraints = [models.UniqueConstraint(fields=["date", "label"], name="milestone_unique_date_label")]

    def __str__(self):
        return f"{self.date:%d %b %Y} · {self.label}"
