from django.urls import path

from riskreg.audit.views import history_view

app_name = "frameworks"

urlpatterns = [
    path("<int:pk>/history/", history_view(
        "frameworks.FrameworkVersion", "frameworks.view_frameworkversion",
        {"frameworks.Threshold": "framework_version", "frameworks.Coverage": "framework_version"},
        "thresholds and coverage"), name="version-history"),
]
