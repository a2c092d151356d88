from django.urls import path, re_path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.AuditEventListView.as_view(), name="list"),
    re_path(r"^export\.(?P<fmt>csv|jsonl)$", views.AuditExportView.as_view(), name="export"),
]
