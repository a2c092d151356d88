from django.urls import path

from . import views

app_name = "importers"

urlpatterns = [
    path("inspect/", views.ImportView.as_view(), name="upload"),
    path("inspect/confirm/", views.ImportConfirmView.as_view(), name="confirm"),
]
