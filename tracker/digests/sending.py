"""Sending a weekly digest exactly once: claiming it, sending it, recording the outcome or the error.

One DigestDelivery row per (subscription, week) exists (unique constraint). A worker may send only after
it has moved that row from pending (or failed, for a retry) to sending with a conditional UPDATE that
returned 1, inside a transaction that also holds the subscription's row lock. Two workers, a task
delivered twice or run again after a retry all race for the same UPDATE: one wins, the others see 0 and
send nothing. A send that fails on the transport puts the row back to failed (retried by the task with
backoff); the subscription's schedule has already moved on, so the next week is never blocked.

A worker killed mid-send (SIGKILL, a lost machine) leaves its row in "sending". The claim is a lease
(WATCHPOST_DIGEST_SEND_LEASE): the digest beat task calls `release_expired_claims`, which puts a row
claimed longer ago than that back to "failed" (a conditional UPDATE, safe to run twice) and returns it to
be sent again. A digest that keeps killing its worker is released AUTO_RELEASE_MAX_ATTEMPTS times at most,
then left in "sending" for an admin (the admin's "Release" action, after checking the mail log).
"""

import datetime
import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F

from tracker.digests.models import DeliveryStatus, DigestDelivery, Subscription

from . import emails
from .content import build_digest_for
from .schedule import due_at
from .weeks import IsoWeek

log = logging.getLogger(__name__)

# Claims this many times or more (each kill is one) are no longer released automatically.
AUTO_RELEASE_MAX_ATTEMPTS = 3


class DigestTransportError(Exception):
    """The mail server could not be reached or asked us to try later: the task retries."""


@dataclass(frozen=True)
class Outcome:
    subscription_id: int
    week: str
    status: str  # a DeliveryStatus value, or "already-claimed", "inactive", "missing"
    recipient: str = ""
    detail: str = ""

    def as_dict(self):
        return {
            "subscription_id": self.subscription_id,
            "week": self.week,
            "status": self.status,
            "recipient": self.recipient,
            "detail": self.detail,
        }


def claim(subscription_id, week, now):
    """Claim the subscriber's digest for `week`. Returns (DigestDelivery in "sending" state, None) when
    this caller won and must send it, or (None, reason) when it must not send."""
    week = str(week)
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().filter(pk=subscription_id).first()
        if sub is None:
            return None, "missing"
        if not sub.active or (sub.user_id is not None and not sub.user.is_active):
            return None, "inactive"
        delivery, _ = DigestDelivery.objects.get_or_create(
            subscription_id=subscription_id, week=week, defaults={"created_at": now}
        )
        # The claim: only one UPDATE can move this row out of a claimable state. Its WHERE clause names
        # only this row's own columns, so PostgreSQL rechecks it against the committed row after waiting.
        won = DigestDelivery.objects.filter(pk=delivery.pk, status__in=DigestDelivery.CLAIMABLE).update(
            status=DeliveryStatus.SENDING, attempts=F("attempts") + 1, claimed_at=now
        )
        if not won:
            return None, "already-claimed"
        # Move the subscriber's schedule past this week (never backwards: --week may resend an old one).
        if not sub.last_sent_week or sub.last_sent_week < week:
            Subscription.objects.filter(pk=sub.pk).update(
                last_sent_week=week, next_due_at=due_at(sub, IsoWeek.parse(week).next())
            )
    delivery = DigestDelivery.objects.select_related("subscription__user").get(pk=delivery.pk)
    return delivery, ""


def claim_and_send(subscription_id, week, now):
    """Send the subscriber's digest for `week` unless it was already claimed. Returns an Outcome; raises
    DigestTransportError when the mail server failed in a way worth retrying (the row is then "failed")."""
    week = IsoWeek.parse(week) if isinstance(week, str) else week
    delivery, reason = claim(subscription_id, week, now)
    if delivery is None:
        return Outcome(subscription_id, str(week), reason)
    return _send_claimed(delivery, now)


def _finish(delivery, status, **fields):
    # Only this claim's row: if this worker outlived its lease and the row was released and claimed
    # again (attempts went up), the newer claim's outcome is not overwritten.
    DigestDelivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.SENDING, attempts=delivery.attempts
    ).update(status=status, **fields)
    return Outcome(
        delivery.subscription_id,
        delivery.week,
        status,
        recipient=fields.get("recipient", delivery.recipient),
        detail=fields.get("last_error", ""),
    )


def _record_error(sub, message, now):
    Subscription.objects.filter(pk=sub.pk).update(last_error=message, last_error_at=now)


def _send_claimed(delivery, now):
    sub = delivery.subscription
    try:
        digest = build_digest_for(sub, delivery.week, now)
        if sub.skip_empty and digest.is_empty:
            return _finish(delivery, DeliveryStatus.SKIPPED, sent_at=now)
        address = sub.address
        if not address:
            message = f"{sub.user} has no email address: add one to the account, or remove the subscription."
            _record_error(sub, message, now)
            return _finish(delivery, DeliveryStatus.REFUSED, last_error=message)
        message = emails.digest(address, digest)
        message.send()
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        return _transport_failed(delivery, sub, exc, now)
    except Exception as exc:
        # Not a transport problem (a bug, a lost database): record it so the admin sees it, then let it
        # surface. The row becomes "failed": a later run (or `send_digests --week`) may try it again.
        _finish(delivery, DeliveryStatus.FAILED, last_error=describe_error(exc))
        raise
    Subscription.objects.filter(pk=sub.pk).update(last_error="", last_error_at=None)
    return _finish(
        delivery,
        DeliveryStatus.SENT,
        sent_at=now,
        recipient=address,
        subject=message.subject[:300],
        message_id=message.extra_headers.get("Message-ID", "")[:300],
        last_error="",
    )


def _transport_failed(delivery, sub, exc, now):
    """Record a mail error: a permanent one refuses the digest (an Outcome), any other one marks the row
    failed and raises DigestTransportError so that the task retries."""
    error = describe_error(exc)
    _record_error(sub, error, now)
    if is_permanent(exc):
        log.warning("Digest %s for subscription %s refused: %s", delivery.week, sub.pk, error)
        return _finish(delivery, DeliveryStatus.REFUSED, last_error=error, recipient=sub.address)
    log.warning("Digest %s for subscription %s failed, will retry: %s", delivery.week, sub.pk, error)
    _finish(delivery, DeliveryStatus.FAILED, last_error=error, recipient=sub.address)
    raise DigestTransportError(error) from exc


def release(delivery_id, *, now):
    """An admin's decision after checking the mail server's logs: a digest stuck in "sending" (its worker
    died mid-send) did not go out, so it may be claimed and sent again. Returns True if released."""
    return bool(
        DigestDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.FAILED,
            last_error=f"Released for a resend by an admin at {now:%Y-%m-%d %H:%M} UTC.",
        )
    )


def send_lease():
    """How long a claim may stay in "sending" before its worker is taken for dead."""
    return datetime.timedelta(seconds=settings.WATCHPOST_DIGEST_SEND_LEASE)


def lease_ends_at(delivery):
    """When the claim of a delivery in "sending" runs out; None for a delivery in any other state."""
    if delivery.status != DeliveryStatus.SENDING or delivery.claimed_at is None:
        return None
    return delivery.claimed_at + send_lease()


def expired_claims(now):
    """Deliveries still in "sending" whose lease ran out at `now`: their worker stopped mid-send."""
    return DigestDelivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=now - send_lease())


def release_expired_claims(now):
    """Put the deliveries whose worker stopped mid-send (lease run out) back to "failed", with the reason
    in last_error, so that they are claimed and sent again. Returns [(subscription_id, week)] released,
    for the caller to send. Each release is a conditional UPDATE on the row's claim (status and claimed_at):
    two callers, or a run twice, release a claim once, and never a newer claim of the same row."""
    lease = send_lease()
    stale = expired_claims(now).filter(attempts__lt=AUTO_RELEASE_MAX_ATTEMPTS)
    released = []
    for pk, subscription_id, week, claimed_at in stale.values_list(
        "pk", "subscription_id", "week", "claimed_at"
    ):
        message = (
            f"worker stopped while sending (claimed at {_utc(claimed_at)}); released for retry after "
            f"its lease of {_duration(lease)} ran out, at {_utc(now)}"
        )
        won = DigestDelivery.objects.filter(
            pk=pk, status=DeliveryStatus.SENDING, claimed_at=claimed_at
        ).update(status=DeliveryStatus.FAILED, last_error=message)
        if won:
            log.warning("Digest %s for subscription %s: %s", week, subscription_id, message)
            released.append((subscription_id, week))
    return released


def _utc(moment):
    return f"{moment.astimezone(datetime.UTC):%Y-%m-%d %H:%M:%S} UTC"


def _duration(delta):
    seconds = int(delta.total_seconds())
    if seconds % 60:
        return f"{seconds} s"
    return f"{seconds // 60} min"


def is_permanent(exc):
    """Errors that a retry cannot fix: an address the server refuses for good (5xx), or a malformed one."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return False  # our configuration: fixed by the operator, then the retry succeeds
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, ValueError)


def describe_error(exc):
    """One line saying what went wrong (newlines from a hostile address are shown as \\n)."""
    return _describe_error(exc).replace("\r", "\\r").replace("\n", "\\n")[:2000]


def _describe_error(exc):
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = []
        for addr, (code, msg) in exc.recipients.items():
            text = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
            parts.append(f"{addr}: {code} {text}")
        return "Recipient refused: " + "; ".join(parts)
    if isinstance(exc, smtplib.SMTPResponseException):
        text = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return f"{type(exc).__name__}: {exc.smtp_code} {text}"
    return f"{type(exc).__name__}: {exc}"
