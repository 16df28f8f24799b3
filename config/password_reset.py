"""Password reset only where it can work: with a mail server (EMAIL_HOST) configured. Without one, the
reset pages answer 404 with a page saying what to do instead (ask an admin), rather than pretending to
send a link that is only written to a file; an unused form is also one less thing to abuse. With a mail
server the reset is Django's own, not throttled here (README, "Accounts")."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import render

RESET_VIEWS = {
    "password_reset": auth_views.PasswordResetView,
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
