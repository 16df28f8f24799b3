from django.urls import path

from . import views

app_name = "digests"

urlpatterns = [
    path("", views.manage, name="manage"),
    path("preview/", views.preview, name="preview"),
    path("preview/<int:subscription_id>/", views.preview, name="preview-subscription"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
