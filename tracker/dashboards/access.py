"""Who may see and who may write.

- Viewers: anyone with an account (or everyone, when WATCHPOST_PUBLIC_DASHBOARDS is True).
- Analysts: members of the "analysts" group (created by a data migration with the permissions to add and
  change events), users given those permissions directly, and staff. They log and review events.
- Admins (staff) manage feeds, rules and milestones in the Django admin.
Anonymous visitors never write.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

ANALYSTS_GROUP = "analysts"
ANALYST_PERMS = ("indicators.add_event", "indicators.change_event")


def public_dashboards():
    return bool(getattr(settings, "WATCHPOST_PUBLIC_DASHBOARDS", False))


def can_view(user):
    return public_dashboards() or (user.is_authenticated and user.is_active)


def is_analyst(user):
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_staff or user.is_superuser:
        return True
    cached = getattr(user, "_watchpost_is_analyst", None)
    if cached is None:
        cached = user.has_perms(ANALYST_PERMS) or user.groups.filter(name=ANALYSTS_GROUP).exists()
        user._watchpost_is_analyst = cached
    return cached


def viewer_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not can_view(request.user):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def analyst_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_analyst(request.user):
            raise PermissionDenied("Only analysts can log and review events. Ask an admin to add you.")
        return view(request, *args, **kwargs)

    return wrapper
