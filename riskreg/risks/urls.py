from django.urls import path

from riskreg.audit.views import history_view

from . import views

app_name = "risks"

urlpatterns = [
    path("", views.RiskListView.as_view(), name="list"),
    path("new/", views.RiskCreateView.as_view(), name="create"),
    path("<int:pk>/", views.RiskDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.RiskUpdateView.as_view(), name="edit"),
    path("<int:pk>/history/", history_view("risks.Risk", "risks.view_risk", {}, ""), name="history"),
    path("<int:pk>/review/", views.RiskReviewView.as_view(), name="review"),
]
