"""ISO weeks ("2025-W36"): the unit a digest covers, and the key of "sent once per week"."""

import datetime
import re
from dataclasses import dataclass

_WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


@dataclass(frozen=True, order=True)
class IsoWeek:
    year: int
    week: int

    def __post_init__(self):
        # Raises ValueError for a week the year does not have (W53 of most years, W00, W54...).
        datetime.date.fromisocalendar(self.year, self.week, 1)

    @classmethod
    def parse(cls, text):
        """Parse "2025-W36" (also "2025W36", "2025-w36"). Raises ValueError saying what to fix."""
        m = _WEEK_RE.match(str(text))
        if not m:
            raise ValueError(f"{text!r} is not an ISO week: write it as YYYY-Www, for example 2025-W36.")
        year, week = int(m.group(1)), int(m.group(2))
        try:
            return cls(year, week)
        except ValueError:
            last = datetime.date(year, 12, 28).isocalendar().week
            raise ValueError(
                f"{year} has ISO weeks W01 to W{last:02d}; {text!r} is not one of them."
            ) from None

    @classmethod
    def containing(cls, day):
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def monday(self):
        return datetime.date.fromisocalendar(self.year, self.week, 1)

    @property
    def sunday(self):
        return self.monday + datetime.timedelta(days=6)

    def next(self):
        return IsoWeek.containing(self.monday + datetime.timedelta(days=7))

    def prev(self):
        return IsoWeek.containing(self.monday - datetime.timedelta(days=7))

    def __str__(self):
        return f"{self.year:04d}-W{self.week:02d}"
