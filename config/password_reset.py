"""Password reset only where it can work, and not as a mail cannon.

Without a mail server (EMAIL_HOST) the reset pages answer 404 with a page saying what to do instead (ask
an admin), rather than pretending to send a link that is only written to a file.

With one, Django's reset runs behind two limits (django-ratelimit, counted in the default cache, which is
Redis whenever REDIS_URL is set, so every web worker shares the counts):
- per address (PASSWORD_RESET_RATE_ADDRESS, default 5 requests an hour from one client address, as
  config.throttling.client_ip sees it behind trusted proxies): beyond it the form answers 429 and says
  when to try again;
- per account (PASSWORD_RESET_RATE_ACCOUNT, default 3 an hour for one email address, from any number of
  addresses): beyond it no further mail is sent, but the page is the usual "check your inbox", so the
  limit neither tells whether an account exists nor lets anybody flood a mailbox.
"""

import logging
import math

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django_ratelimit.core import get_usage

from config.throttling import client_ip

log = logging.getLogger(__name__)


def _address(group, request):
    return client_ip(request) or "unknown"


def _account(group, request):
    return request.POST.get("email", "").strip().lower()


def _over(request, group, key, rate):
    usage = get_usage(request, group=group, key=key, rate=rate, method="POST", increment=True)
    return usage is not None and usage["should_limit"], usage


class ThrottledPasswordResetView(auth_views.PasswordResetView):
    def post(self, request, *args, **kwargs):
        over, usage = _over(request, "password-reset:address", _address, settings.PASSWORD_RESET_RATE_ADDRESS)
        if over:
            log.warning("password reset refused: too many requests from %s", _address(None, request))
            minutes = max(1, math.ceil(usage["time_left"] / 60))
            return render(
                request, "registration/password_reset_throttled.html", {"minutes": minutes}, status=429
            )
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        over, _ = _over(
            self.request, "password-reset:account", _account, settings.PASSWORD_RESET_RATE_ACCOUNT
        )
        if over:
            log.warning("password reset: no mail sent, too many requests for one account this hour")
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


RESET_VIEWS = {
    "password_reset": ThrottledPasswordResetView,
    "password_reset_done": auth_views.PasswordResetDoneView,
    "password_reset_confirm": auth_views.PasswordResetConfirmView,
    "password_reset_complete": auth_views.PasswordResetCompleteView,
}


def _guarded(view):
    def wrapper(request, *args, **kwargs):
        if not settings.EMAIL_HOST:
            return render(request, "registration/password_reset_off.html", status=404)
        return view(request, *args, **kwargs)

    return wrapper


def reset_view(name: str):
    return _guarded(RESET_VIEWS[name].as_view())
