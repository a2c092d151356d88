from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from riskreg.accounts.views import RevokeTokenView, SettingsView, ThrottledLoginView
from riskreg.api import OpenApiView
from riskreg.audit.views import history_view
from riskreg.decisions.api import GateApiView
from riskreg.evaluations.views import ModelDetailView
from riskreg.filings.views import ModelReportView
from riskreg.importers.api import ImportApiView

from . import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("my-work/", views.MyWorkView.as_view(), name="my-work"),
    path("accounts/after-login/", views.after_login, name="after-login"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/settings/", SettingsView.as_view(), name="settings"),
    path("accounts/tokens/<int:pk>/revoke/", RevokeTokenView.as_view(), name="token-revoke"),
    path("api/decisions/<int:pk>/gate/", GateApiView.as_view(), name="api-gate"),
    path("api/imports/", ImportApiView.as_view(), name="api-imports"),
    path("api/openapi.json", OpenApiView.as_view(), name="api-openapi"),
    path("models/<slug:slug>/", ModelDetailView.as_view(), name="model-detail"),
    path("framework-versions/<int:pk>/history/", history_view(
        "frameworks.FrameworkVersion", "frameworks.view_frameworkversion",
        {"frameworks.Threshold": "framework_version", "frameworks.Coverage": "framework_version"},
        "thresholds and coverage"), name="framework-version-history"),
    path("evaluations/", include("riskreg.evaluations.urls")),
    path("risks/", include("riskreg.risks.urls")),
    path("decisions/<int:pk>/model-report/", ModelReportView.as_view(), name="model-report"),
    path("decisions/", include("riskreg.decisions.urls")),
    path("", include("riskreg.filings.urls")),
    path("audit/", include("riskreg.audit.urls")),
    path("import/", include("riskreg.importers.urls")),
    path("admin/login/", ThrottledLoginView.as_view()),  # the admin's log-in is throttled too
    path("admin/", admin.site.urls),
]
