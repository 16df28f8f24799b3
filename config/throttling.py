"""Login throttling against password guessing (django-axes).

After AXES_FAILURE_LIMIT failed logins for one username from one address, further attempts from that
address for that username are refused for AXES_COOLOFF_TIME, on the site login (/accounts/login/) and the
admin login alike, with the page templates/registration/locked_out.html (HTTP 429, see
`lockout_response`).
"""

import math

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username
from django.conf import settings
from django.shortcuts import render


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' lockout check for logins over HTTP.

    Only a request can carry a guessed password; a login without one (the test client's `login()`, a
    script in `manage.py shell`) is not throttled, where Axes itself would raise an error.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out login gets (HTTP 429), saying for how long and what to do."""
    cooloff = settings.AXES_COOLOFF_TIME
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": max(1, math.ceil(cooloff.total_seconds() / 60)) if cooloff else 0,
        "username": get_client_username(request, credentials) or "",
    }
    return render(request, "registration/locked_out.html", context, status=429)


def client_ip(request):
    """The address a login attempt comes from, for the lockout.

    Directly exposed, REMOTE_ADDR. Behind TRUSTED_PROXY_COUNT reverse proxies, each appending the address
    it saw to X-Forwarded-For, the entry that many places from the right: the address the outermost
    trusted proxy saw. Entries further left come from the client and may be forged, so they are ignored.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if len(forwarded) < count:
        return remote  # not through the proxies: the address connecting is the client
    return forwarded[-count]
