from django.contrib import admin
from django.urls import include, path

from config import health
from config.password_reset import reset_view

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Password reset is on only with a mail server (config/password_reset.py); the rest is Django's.
    path("accounts/password_reset/", reset_view("password_reset"), name="password_reset"),
    path("accounts/password_reset/done/", reset_view("password_reset_done"), name="password_reset_done"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        reset_view("password_reset_confirm"),
        name="password_reset_confirm",
    ),
    path("accounts/reset/done/", reset_view("password_reset_complete"), name="password_reset_complete"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("digests/", include("tracker.digests.urls")),
    path("", include("tracker.dashboards.urls")),
]
