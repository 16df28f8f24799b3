"""manage.py import_series FILE [FILE ...]

Each FILE is a CSV of measured points (header `series,date,value`, optionally `source_url,note`; lines
starting with # are comments), imported by indicators.series.import_csv. One JSON line per file:

    {"source", "status": "ok"|"error", "rows", "new", "updated", "errors": [{"line", "error"}]}

Idempotent on (series, date); a bad row is listed with its line and what to fix while the good rows go in;
a file that cannot be read or has a wrong header is "status": "error". The exit code is 0 unless the
command itself is misused (no FILE).
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from indicators.series import import_csv

USAGE = (
    "usage: manage.py import_series FILE [FILE ...] (CSV with the header series,date,value[,source_url,note])"
)


class Command(BaseCommand):
    help = "Import measured series points from CSV files; prints one JSON line per file."

    def add_arguments(self, parser):
        parser.add_argument(
            "files", nargs="*", metavar="FILE", help="a CSV file: series,date,value[,source_url,note]"
        )

    def handle(self, *args, files, **options):
        if not files:
            raise CommandError(f"Give at least one CSV file. {USAGE}")
        for path in files:
            line = import_csv(path, now=timezone.now())
            self.stdout.write(json.dumps(line, ensure_ascii=False))
