from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.module_loading import import_string


class Command(BaseCommand):
    help = "Load the watch list and the default data (idempotent: re-running never deletes anything)."

    def handle(self, *args, **options):
        for dotted in settings.WATCHPOST_SEEDERS:
            result = import_string(dotted)()
            self.stdout.write(f"{dotted}: {result}")
