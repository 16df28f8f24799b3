from django.urls import include, path

urlpatterns = [
    path("digests/", include("tracker.digests.urls")),
    path("", include("tracker.dashboards.urls")),
]
