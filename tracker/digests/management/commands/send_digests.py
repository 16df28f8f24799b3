"""Send the weekly digests that are due now, or those of one week (`--week 2025-W36`), in this process.

Each digest is claimed before it is sent, exactly as the Celery tasks do: running this while the worker
runs, or twice, never sends a digest twice.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from tracker.digests import content, schedule, sending
from tracker.digests.models import Subscription
from tracker.digests.weeks import IsoWeek


class Command(BaseCommand):
    help = "Send the weekly digests due now (or those of --week YYYY-Www) to their subscribers."

    def add_arguments(self, parser):
        parser.add_argument(
            "--week",
            help="Send the digest of this ISO week (e.g. 2025-W36) to every active subscriber who has "
            "not had it yet, whatever their schedule. The week must have ended.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Show who would get what; claim and send nothing."
        )

    def handle(self, *args, week=None, dry_run=False, **options):
        now = timezone.now()
        if week:
            try:
                week = IsoWeek.parse(week)
            except ValueError as exc:
                raise CommandError(f"--week: {exc}") from None
            if week.sunday >= now.date():
                raise CommandError(
                    f"--week: {week} ({week.monday:%d %b} - {week.sunday:%d %b %Y}) has not ended yet; "
                    f"the latest complete week is {IsoWeek.containing(now.date()).prev()}."
                )
            ids = Subscription.objects.filter(active=True).order_by("id").values_list("id", flat=True)
            jobs = [(pk, week) for pk in ids]
        else:
            jobs = schedule.due_subscriptions(now)
        if not jobs:
            self.stdout.write("No digest to send.")
            return

        counts = {}
        for subscription_id, job_week in jobs:
            if dry_run:
                outcome = self._dry_run(subscription_id, job_week, now)
            else:
                try:
                    outcome = sending.claim_and_send(subscription_id, job_week, now)
                except sending.DigestTransportError as exc:
                    outcome = sending.Outcome(subscription_id, str(job_week), "failed", detail=str(exc))
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
            line = f"{outcome.week} subscription {outcome.subscription_id}"
            if outcome.recipient:
                line += f" <{outcome.recipient}>"
            line += f": {outcome.status}"
            if outcome.detail:
                line += f" ({outcome.detail})"
            self.stdout.write(line)

        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        self.stdout.write(("Dry run, nothing sent: " if dry_run else "Done: ") + summary + ".")
        failed = counts.get("failed", 0)
        if failed:
            raise CommandError(
                f"{failed} digest{'s' if failed > 1 else ''} failed on the mail transport: check the mail "
                "settings (EMAIL_HOST, EMAIL_PORT...) and run the command again with the same --week."
            )

    def _dry_run(self, subscription_id, week, now):
        sub = Subscription.objects.select_related("user").get(pk=subscription_id)
        done = sub.deliveries.filter(week=str(week)).exclude(status__in=["pending", "failed"]).first()
        if done is not None:
            return sending.Outcome(sub.pk, str(week), f"already {done.status}", recipient=sub.address)
        digest = content.build_digest_for(sub, week, now)
        if sub.skip_empty and digest.is_empty:
            return sending.Outcome(sub.pk, str(week), "would skip", sub.address, "nothing new")
        detail = f"{digest.change_count} status changes, {digest.event_count} new events"
        return sending.Outcome(sub.pk, str(week), "would send", sub.address, detail)
