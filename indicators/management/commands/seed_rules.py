from django.core.management.base import BaseCommand

from indicators.matching.seeding import seed_rules


class Command(BaseCommand):
    help = "Create the matching rules and theatre phrases missing from the database (fixtures/rules/)."

    def handle(self, *args, **options):
        result = seed_rules()
        self.stdout.write(
            f"{result['rules_created']} rule(s) and {result['scope_terms_created']} scope phrase(s) created; "
            "existing rows left as they are."
        )
