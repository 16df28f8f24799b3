"""Who may see and who may write.

- Viewers: anyone with an account (or everyone, when WATCHPOST_PUBLIC_DASHBOARDS is True).
- Analysts (indicators.roles): the "analysts" group, users with the event permissions, and staff.
  They log and review events.
- Admins (staff) manage feeds, rules and milestones in the Django admin.
Anonymous visitors never write.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from indicators.roles import is_analyst

__all__ = ["analyst_required", "can_view", "is_analyst", "public_dashboards", "viewer_required"]


def public_dashboards():
    return bool(settings.WATCHPOST_PUBLIC_DASHBOARDS)


def can_view(user):
    return public_dashboards() or (user.is_authenticated and user.is_active)


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
