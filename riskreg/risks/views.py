from django.contrib import messages
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.generic import CreateView, DetailView, UpdateView, View
from django_filters.views import FilterView

from riskreg.accounts.access import RoleRequiredMixin
from riskreg.audit.models import AuditEvent
from riskreg.lib.concurrency import VersionedUpdateMixin
from riskreg.lib.dates import day
from riskreg.lib.exports import CsvExportMixin
from riskreg.lib.lists import ListPageMixin

from .exports import RiskCsv
from .filters import RiskFilter
from .forms import RiskForm, RiskReviewForm
from .heatmap import heatmap_counts, heatmap_svg
from .models import Risk, RiskStatus, Treatment, is_overdue, may_review, owner_label, review
from .tables import RiskTable


class RiskListView(RoleRequiredMixin, CsvExportMixin, ListPageMixin, FilterView):
    permission_required = "risks.view_risk"
    model = Risk
    table_class = RiskTable
    filterset_class = RiskFilter
    template_name = "risks/risk_list.html"
    row_template = "risks/_rows.html"
    row_fields = ("pk", "code", "title", "category__name", "inherent_likelihood", "inherent_impact",
                  "residual_likelihood", "residual_impact", "treatment", "status", "owner", "owner_user_id",
                  "owner_user__first_name", "owner_user__last_name", "owner_user__username", "next_review")  # fmt: skip
    detail_url = "risks:detail"
    csv_export = RiskCsv
    keyset_order = "code"  # the register's own order, on the unique index of code
    treatments = dict(Treatment.choices)
    statuses = dict(RiskStatus.choices)

    def get_queryset(self):
        return Risk.objects.all()

    def decorate_rows(self, rows):
        super().decorate_rows(rows)
        today = timezone.localdate()
        for row in rows:
            row["treatment_label"] = self.treatments.get(row["treatment"], row["treatment"])
            row["status_label"] = self.statuses.get(row["status"], row["status"])
            row["owner"] = owner_label(row["owner"], row["owner_user_id"], row["owner_user__first_name"],
                                       row["owner_user__last_name"], row["owner_user__username"])  # fmt: skip
            row["overdue"] = is_overdue(row["next_review"], row["status"], today)
            row["inherent_score"] = row["inherent_likelihood"] * row["inherent_impact"]
            row["residual_score"] = row["residual_likelihood"] * row["residual_impact"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        counts = heatmap_counts(self.object_list)
        # Drawn by a template from numbers and URLs (it escapes them); see heatmap.py.
        context["heatmaps"] = [
            ("Inherent", mark_safe(heatmap_svg(counts["inherent"], "inherent", self.request.GET))),
            ("Residual", mark_safe(heatmap_svg(counts["residual"], "residual", self.request.GET))),
        ]
        return context


class RiskDetailView(RoleRequiredMixin, DetailView):
    permission_required = "risks.view_risk"
    template_name = "risks/risk_detail.html"

    def get_queryset(self):
        return Risk.objects.select_related("category", "owner_user", "last_reviewed_by").prefetch_related(
            "evaluations__snapshot__model"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("review_form", RiskReviewForm())
        context["events"] = AuditEvent.objects.for_record(self.object)
        context["overdue"] = self.object.is_overdue
        context["offer_review"] = self.object.status != RiskStatus.CLOSED and may_review(self.object, self.request.user)
        return context


class RiskCreateView(RoleRequiredMixin, SuccessMessageMixin, CreateView):
    permission_required = "risks.add_risk"
    form_class = RiskForm
    template_name = "risks/risk_form.html"
    success_message = "Risk added to the register."


class RiskUpdateView(RoleRequiredMixin, VersionedUpdateMixin, SuccessMessageMixin, UpdateView):
    permission_required = "risks.change_risk"
    model = Risk
    form_class = RiskForm
    template_name = "risks/risk_form.html"
    success_message = "Risk saved."


class RiskReviewView(RoleRequiredMixin, View):
    """POST: the risk was reviewed now, by this user; the next review moves on by its interval.

    Its owner may record it without the permission to change risks; anyone else needs that permission.
    """

    # Who may review which risk is may_review(), asked by review() on the locked row (PermissionDenied: a 403).
    permission_required = "risks.view_risk"

    def post(self, request, pk):
        risk = get_object_or_404(Risk, pk=pk)
        form = RiskReviewForm(request.POST)
        if not form.is_valid():  # e.g. a NUL byte (PostgreSQL text cannot hold it): said beside the field
            page = RiskDetailView()
            page.setup(request, pk=pk)
            page.object = page.get_object()
            response = page.render_to_response(page.get_context_data(object=page.object, review_form=form))
            response.status_code = 400
            return response
        try:
            review(risk, by=request.user, note=form.cleaned_data["note"])
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
            return redirect(risk)
        if risk.next_review:
            when = f" The next review is due on {day(risk.next_review)}."
        else:
            when = " No next review is scheduled: set an interval or a date."
        messages.success(request, f"Review of {risk.code} recorded.{when}")
        return redirect(risk)
