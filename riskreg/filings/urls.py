from django.urls import path

from . import views

app_name = "filings"

urlpatterns = [
    path("incidents/", views.IncidentListView.as_view(), name="incidents"),
    path("incidents/new/", views.IncidentCreateView.as_view(), name="incident-new"),
    path("incidents/<int:pk>/", views.IncidentDetailView.as_view(), name="incident"),
    path("incidents/<int:pk>/edit/", views.IncidentUpdateView.as_view(), name="incident-edit"),
    path("incidents/<int:pk>/reports/new/", views.ReportCreateView.as_view(), name="report-new"),
    path("decisions/<int:pk>/model-report/", views.ModelReportView.as_view(), name="model-report"),
    path("decisions/<int:pk>/transparency-report/", views.TransparencyReportView.as_view(), name="transparency"),
    path("decisions/<int:pk>/filings/<slug:kind>/issue/", views.FilingIssueView.as_view(), name="filing-issue"),
    path("filings/<int:pk>/", views.FilingDetailView.as_view(), name="filing"),
]
