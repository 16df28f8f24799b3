from django.urls import path

from . import views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("indicators/<slug:slug>/", views.indicator_detail, name="indicator"),
]
