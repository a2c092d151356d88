from django.urls import include, path

from riskreg.audit.views import history_view

from . import views

app_name = "evaluations"

evaluation_patterns = [
    path("", views.EvaluationListView.as_view(), name="list"),
    path("new/", views.EvaluationCreateView.as_view(), name="create"),
    path("<int:pk>/", views.EvaluationDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.EvaluationUpdateView.as_view(), name="edit"),
    path("<int:pk>/history/", history_view(
        "evaluations.Evaluation", "evaluations.view_evaluation",
        {"evaluations.Evidence": "evaluation", "evaluations.ImportedRun": "evaluation"}, "evidence and imported run"),
        name="history"),
    path("<int:pk>/evidence/", views.EvidenceCreateView.as_view(), name="evidence-add"),
    path("evidence/<int:pk>/download/", views.EvidenceDownloadView.as_view(), name="evidence-download"),
]

urlpatterns = [
    path("evaluations/", include(evaluation_patterns)),
    path("models/<slug:slug>/", views.ModelDetailView.as_view(), name="model-detail"),
]
