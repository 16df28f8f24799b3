"""Subscribe and manage (logged-in users), preview the next digest, one-click unsubscribe (signed link)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tracker.digests.models import Subscription

from . import content, emails, schedule, tokens
from .forms import SubscriptionForm


@login_required
@require_http_methods(["GET", "POST"])
def manage(request):
    sub = Subscription.objects.filter(user=request.user).first()
    if request.method == "POST" and request.POST.get("action") == "unsubscribe":
        if sub is not None and sub.active:
            schedule.unsubscribe(sub.pk, now=timezone.now())
            messages.success(request, "You are unsubscribed: no more digests will be sent to you.")
        return redirect("digests:manage")
    form = SubscriptionForm(request.POST or None, instance=sub or Subscription(user=request.user))
    if request.method == "POST" and form.is_valid():
        sub = form.save(commit=False)
        sub.user, sub.email, sub.active = request.user, "", True  # saving (re)subscribes
        with transaction.atomic():
            schedule.save_subscription(sub, now=timezone.now())
        messages.success(request, "Saved: your weekly digest is scheduled.")
        return redirect("digests:manage")
    next_due = None
    if sub is not None and sub.active and sub.next_due_at:
        next_due = timezone.localtime(sub.next_due_at, sub.tz)
    return render(
        request,
        "tracker/digests/manage.html",
        {"form": form, "subscription": sub, "next_due": next_due, "has_email": bool(request.user.email)},
        status=400 if form.errors else 200,
    )


@login_required
def preview(request, subscription_id=None):
    """The digest the subscriber would get next, as it stands now (staff may preview anyone's)."""
    if subscription_id is None:
        sub = Subscription.objects.filter(user=request.user).first()
        if sub is None:
            messages.info(request, "Subscribe first: the preview shows the digest you would get next.")
            return redirect("digests:manage")
    else:
        sub = get_object_or_404(Subscription, pk=subscription_id)
        if sub.user_id != request.user.pk and not request.user.is_staff:
            raise PermissionDenied("You can only preview your own digest.")
    now = timezone.now()
    digest = content.next_digest(sub.pk, now)
    subject, text, html = emails.render("digest", {"digest": digest})
    due = schedule.due_at(sub, digest.week)
    return render(
        request,
        "tracker/digests/preview.html",
        {
            "subscription": sub,
            "digest": digest,
            "subject": subject,
            "text": text,
            "html": html,
            "due": timezone.localtime(due, sub.tz),
            "to": sub.address,
        },
    )


@csrf_exempt  # The signed token is the credential; mail clients POST here without a form (RFC 8058).
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """GET asks to confirm (link checkers and scanners follow GET links); POST unsubscribes at once."""
    sub = tokens.subscription_from_token(token)
    if sub is None:
        return render(request, "tracker/digests/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        schedule.unsubscribe(sub.pk, now=timezone.now())
        return render(request, "tracker/digests/unsubscribed.html", {"subscription": sub})
    return render(request, "tracker/digests/unsubscribe.html", {"subscription": sub, "token": token})
