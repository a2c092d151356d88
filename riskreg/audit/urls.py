from django.urls import path, re_path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.AuditEventListView.as_view(), name="list"),
    re_path(r"^export\.(?P<fmt>csv|jsonl)$", views.AuditExportView.as_view(), name="export"),
    path("checkpoint", views.CheckpointView.as_view(), name="checkpoint"),
    path("checkpoint/<int:pk>", views.CheckpointView.as_view(), name="checkpoint-n"),
    path("checkpoint/sign", views.SignCheckpointView.as_view(), name="sign-checkpoint"),
    path("key", views.VerifierKeyView.as_view(), name="key"),
    path("prove/<int:seq>/", views.ProveView.as_view(), name="prove"),
    path("consistency", views.ConsistencyView.as_view(), name="consistency"),
]
