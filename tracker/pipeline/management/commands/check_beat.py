"""manage.py check_beat [--max-age SECONDS]: is Celery beat alive? The health check of compose's beat.

Beat records each run of its entries in django-celery-beat's tables (synced every few minutes): the
every-minute `feeds-enqueue-due` entry must have run within --max-age seconds (default 300). Exit 0 with
one line saying when it last ran; exit 1 with the reason otherwise.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

ENTRY = "feeds-enqueue-due"


class Command(BaseCommand):
    help = "Exit 0 when Celery beat ran its every-minute entry recently, 1 otherwise (a health check)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--max-age", type=int, default=300, help="seconds since the last run (default 300)"
        )

    def handle(self, *args, max_age, **options):
        if max_age <= 0:
            raise CommandError("--max-age must be a positive number of seconds")
        task = PeriodicTask.objects.filter(name=ENTRY).only("last_run_at").first()
        if task is None:
            raise CommandError(f"beat has not started yet: no '{ENTRY}' entry in the schedule tables")
        if task.last_run_at is None:
            raise CommandError(f"beat has never run '{ENTRY}'")
        age = (timezone.now() - task.last_run_at).total_seconds()
        if age > max_age:
            raise CommandError(
                f"beat last ran '{ENTRY}' {age:.0f} s ago (more than {max_age} s): is it running?"
            )
        self.stdout.write(f"beat ok: '{ENTRY}' ran {age:.0f} s ago")
