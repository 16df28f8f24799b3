from django.urls import path

from . import exports, figure_views, series_views, threat_views, views
from .atom import ConfirmedEventsFeed

urlpatterns = [
    path("", views.overview, name="overview"),
    path("categories/<str:category>/", views.category, name="category"),
    path("indicators/<slug:slug>/", views.indicator, name="indicator"),
    path("heatmap/", views.heatmap, name="heatmap"),
    path("feeds/", views.feed_health, name="feed-health"),
    path("events/new/", views.log_event, name="log-event"),
    path("events/<int:pk>/", views.event_detail, name="event"),
    path("events/<int:pk>/threat/", threat_views.threat_edit, name="threat-edit"),
    path("events/<int:pk>/threat/outcome/", threat_views.threat_outcome, name="threat-outcome"),
    path("events/<int:pk>/meeting/", threat_views.meeting_edit, name="meeting-edit"),
    path("review/", views.review_queue, name="review-queue"),
    path("review/<int:pk>/", views.review_decision, name="review-decision"),
    path("review/figures/<int:pk>/", figure_views.figure_decision, name="figure-decision"),
    path("export/", views.export, name="export"),
    path("export/events.csv", exports.events_csv, name="export-csv"),
    path("export/events.json", exports.events_json, name="export-json"),
    path("series/<slug:slug>/", series_views.series_page, name="series"),
    path("series/<slug:slug>/points/", series_views.series_point, name="series-point"),
    path("export/series.json", series_views.series_json, name="export-series-json"),
    path("export/series.csv", series_views.series_csv, name="export-series-csv"),
    path("codebook/", views.codebook, name="codebook"),
    path("atom/events/", ConfirmedEventsFeed(), name="atom-events"),
    path("atom/categories/<str:category>/", ConfirmedEventsFeed(), name="atom-category"),
]
