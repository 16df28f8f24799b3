from django.urls import include, path

urlpatterns = [
    path("", include("tracker.dashboards.urls")),
]
