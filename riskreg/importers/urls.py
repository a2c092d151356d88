from django.urls import include, path

from . import views
from .api import ImportApiView

app_name = "importers"

upload_patterns = [
    path("inspect/", views.ImportView.as_view(), name="upload"),
    path("inspect/confirm/", views.ImportConfirmView.as_view(), name="confirm"),
]

urlpatterns = [
    path("import/", include(upload_patterns)),
    path("api/imports/", ImportApiView.as_view(), name="api-imports"),
]
