"""Dry-run a change to one matching rule against the stored entries; nothing is saved.

python manage.py dryrun_rule prisoner-exchange en --add-term "captives returned" --remove-term "swap | 0.4"
"""

import json

from django.core.management.base import BaseCommand, CommandError

from indicators.matching.dryrun import dry_run_rule
from indicators.models import Indicator, MatchRule
from tracker.feeds.languages import LANGUAGES

FIELDS = ("terms", "reverse_terms", "reverse_cues", "exclusions")


class Command(BaseCommand):
    help = "Show which stored entries a rule change would gain and lose, without saving it."

    def add_arguments(self, parser):
        parser.add_argument("indicator", help="indicator slug, e.g. prisoner-exchange")
        parser.add_argument("language", choices=LANGUAGES)
        for field in FIELDS:
            flag = field.replace("_", "-").rstrip("s")
            parser.add_argument(f"--add-{flag}", action="append", default=[], dest=f"add_{field}")
            parser.add_argument(f"--remove-{flag}", action="append", default=[], dest=f"remove_{field}")
        parser.add_argument("--weight", type=float)
        parser.add_argument("--disable", action="store_true", help="what would be lost without this rule")
        parser.add_argument("--limit", type=int, default=20000, help="newest stored entries to check")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        try:
            indicator = Indicator.objects.get(slug=opts["indicator"])
        except Indicator.DoesNotExist:
            slugs = ", ".join(Indicator.objects.values_list("slug", flat=True))
            raise CommandError(f"Unknown indicator {opts['indicator']!r}; choose one of: {slugs}") from None
        rule = MatchRule.objects.filter(indicator=indicator, language=opts["language"]).first()
        if rule is None:
            rule = MatchRule(indicator=indicator, language=opts["language"])
        for field in FIELDS:
            lines = [x.strip() for x in (getattr(rule, field) or "").splitlines() if x.strip()]
            for phrase in opts[f"remove_{field}"]:
                if phrase.strip() not in lines:
                    raise CommandError(f"{field} has no line {phrase!r}: nothing to remove")
                lines.remove(phrase.strip())
            lines += [p.strip() for p in opts[f"add_{field}"] if p.strip() and p.strip() not in lines]
            setattr(rule, field, "\n".join(lines))
        if opts["weight"] is not None:
            rule.weight = opts["weight"]
        if opts["disable"]:
            rule.enabled = False
        from django.core.exceptions import ValidationError

        try:
            rule.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        result = dry_run_rule(rule, limit=opts["limit"])
        if opts["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, default=str))
            return
        self.stdout.write(
            f"{result.indicator} ({result.language}): {result.entries_checked} entries checked; "
            f"matched before {result.matched_before}, after {result.matched_after}; "
            f"gained {len(result.gained)}, lost {len(result.lost)}, direction changed {len(result.flipped)}"
        )
        for label, rows in (("+", result.gained), ("-", result.lost), ("~", result.flipped)):
            for c in rows:
                self.stdout.write(
                    f"  {label} [{c.entry_id}] {c.direction} {c.score:.2f} {c.title}  ({', '.join(c.terms)})"
                )
