"""Signed one-click unsubscribe tokens: making one for a subscription, and finding the subscription again."""

from django.core import signing

from tracker.digests.models import Subscription

UNSUBSCRIBE_SALT = "tracker.digests.unsubscribe"


def unsubscribe_token(subscription):
    """A signed, non-expiring token naming the subscription (an old email's link keeps working)."""
    return signing.dumps([subscription.pk, int(subscription.created_at.timestamp())], salt=UNSUBSCRIBE_SALT)


def subscription_from_token(token):
    """The Subscription a token names, or None for a forged, mangled or outdated token."""
    try:
        pk, created = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    sub = Subscription.objects.select_related("user").filter(pk=pk).first()
    if sub is None or int(sub.created_at.timestamp()) != created:
        return None
    return sub
