from django.urls import include, path

from riskreg.audit.views import history_view

from . import views
from .api import GateApiView

app_name = "decisions"

decision_patterns = [
    path("", views.ReleaseDecisionListView.as_view(), name="list"),
    path("new/", views.ReleaseDecisionCreateView.as_view(), name="create"),
    path("<int:pk>/", views.ReleaseDecisionDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.ReleaseDecisionUpdateView.as_view(), name="edit"),
    path("<int:pk>/record/", views.DecisionRecordView.as_view(), name="record"),
    path("<int:pk>/history/", history_view(
        "decisions.ReleaseDecision", "decisions.view_releasedecision",
        {"decisions.Determination": "decision", "decisions.GapAcknowledgement": "decision",
         "decisions.SignOff": "decision", "decisions.Affirmation": "decision",
         "decisions.ReviewCondition": "decision"},
        "determinations (with their citations), gap acknowledgements, conditions for re-review, sign-offs and "
        "affirmations"), name="history"),
    path("<int:pk>/record.pdf", views.DecisionRecordPdfView.as_view(), name="record-pdf"),
    path("<int:pk>/submit/", views.SubmitView.as_view(), name="submit"),
    path("<int:pk>/sign/", views.SignView.as_view(), name="sign"),
    path("<int:pk>/withdraw/", views.WithdrawView.as_view(), name="withdraw"),
    path("<int:pk>/supersede/", views.SupersedeView.as_view(), name="supersede"),
    path("<int:pk>/revise/", views.ReviseView.as_view(), name="revise"),
    path("<int:pk>/reaffirm/", views.ReaffirmView.as_view(), name="reaffirm"),
    path("<int:decision_pk>/determinations/new/", views.DeterminationCreateView.as_view(), name="determination-add"),
    path(
        "<int:decision_pk>/determinations/<int:pk>/", views.DeterminationUpdateView.as_view(), name="determination-edit"
    ),
    path("<int:decision_pk>/gaps/new/", views.GapAcknowledgementCreateView.as_view(), name="gap-add"),
    path("<int:decision_pk>/conditions/new/", views.ReviewConditionCreateView.as_view(), name="condition-add"),
    path("<int:decision_pk>/conditions/<int:pk>/", views.ReviewConditionUpdateView.as_view(), name="condition-edit"),
]

urlpatterns = [
    path("decisions/", include(decision_patterns)),
    path("api/decisions/<int:pk>/gate/", GateApiView.as_view(), name="api-gate"),
]
