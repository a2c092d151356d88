import logging

from django.contrib import messages
from django.contrib.messages.views import SuccessMessageMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views import View
from django.views.generic import CreateView, DetailView, UpdateView

from riskreg.accounts.access import RoleRequiredMixin
from riskreg.audit.models import AuditEvent
from riskreg.decisions.models import ReleaseDecision
from riskreg.lib.concurrency import VersionedUpdateMixin

from . import clocks, model_report
from . import issue as issuing
from .forms import FilingIssueForm, IncidentForm, ReportForm
from .models import Filing, FilingKind, Incident, IncidentReport
from .rules import rules

logger = logging.getLogger(__name__)
PER_PAGE = 50


def _incidents():
    return Incident.objects.select_related("model", "snapshot").prefetch_related(
        Prefetch("reports", queryset=IncidentReport.objects.order_by("sent_at", "id"))
    )


class IncidentListView(RoleRequiredMixin, View):
    """The incident register: near misses included, each with its next legal clock."""

    permission_required = "filings.view_incident"

    def get(self, request):
        show = request.GET.get("show", "open")
        incidents = _incidents().order_by("-aware_at", "-id")
        if show == "open":
            incidents = incidents.filter(resolved_at__isnull=True)
        page = Paginator(incidents, PER_PAGE).get_page(request.GET.get("page"))
        now = timezone.now()
        rows = []
        for incident in page:
            open_ = [clock for clock in clocks.clocks(incident, incident.reports.all()) if clock.open]
            rows.append({"incident": incident, "next": open_[0] if open_ else None, "count": len(open_)})
        return render(request, "filings/incident_list.html", {
            "rows": rows, "page_obj": page, "show": show, "now": now, "rules": rules(),
        })  # fmt: skip


class IncidentDetailView(RoleRequiredMixin, DetailView):
    permission_required = "filings.view_incident"
    template_name = "filings/incident_detail.html"
    context_object_name = "incident"

    def get_queryset(self):
        return _incidents().prefetch_related("evaluations__snapshot", "risks", "decisions__snapshot")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        incident = self.object
        context["clocks"] = [(clock, clock.state(now), clock.words(now)) for clock in clocks.clocks(incident)]
        context["reports"] = incident.reports.select_related("sent_by")
        context["events"] = AuditEvent.objects.for_record(incident)
        context["may_report"] = bool(incident.jurisdictions) and self.request.user.has_perms(
            ["filings.report_incident", "filings.add_incidentreport"]
        )
        return context


class IncidentCreateView(RoleRequiredMixin, SuccessMessageMixin, CreateView):
    permission_required = "filings.add_incident"
    form_class = IncidentForm
    template_name = "filings/incident_form.html"
    success_message = "Incident recorded: its clocks are on its page."

    def form_valid(self, form):
        form.instance.recorded_by = self.request.user
        return super().form_valid(form)


class IncidentUpdateView(RoleRequiredMixin, VersionedUpdateMixin, SuccessMessageMixin, UpdateView):
    permission_required = "filings.change_incident"
    model = Incident
    form_class = IncidentForm
    template_name = "filings/incident_form.html"
    success_message = "Incident saved."


class ReportCreateView(RoleRequiredMixin, View):
    """Record a report as sent: what, to whom, when. It never changes afterwards."""

    permission_required = ("filings.report_incident", "filings.add_incidentreport")

    def _form(self, incident, data=None):
        return ReportForm(data, incident=incident, initial={"sent_at": timezone.now().replace(second=0, microsecond=0)})

    def get(self, request, pk):
        incident = get_object_or_404(Incident, pk=pk)
        return render(request, "filings/report_form.html", {"incident": incident, "form": self._form(incident)})

    def post(self, request, pk):
        incident = get_object_or_404(Incident.objects.select_for_update(), pk=pk)
        form = self._form(incident, request.POST)
        if not form.is_valid():
            return render(request, "filings/report_form.html", {"incident": incident, "form": form}, status=400)
        report = form.save(commit=False)
        report.incident, report.sent_by = incident, request.user
        report.save()
        messages.success(request, f"{report} recorded as sent, with the SHA-256 of what was sent.")
        return redirect(incident)


class ModelReportView(RoleRequiredMixin, View):
    """The Safety and Security Model Report for a decision: HTML, ?format=json or ?format=pdf."""

    permission_required = "decisions.view_releasedecision"

    def get(self, request, pk):
        decision = get_object_or_404(ReleaseDecision.objects.select_related("snapshot__model"), pk=pk)
        try:
            report = model_report.build(decision)
        except ValueError as refused:
            return render(request, "filings/model_report_unavailable.html",
                          {"object": decision, "reason": str(refused)}, status=409)  # fmt: skip
        fmt = request.GET.get("format", "html")
        if fmt not in ("html", "json", "pdf"):
            return HttpResponse("format is html, json or pdf.", status=400, content_type="text/plain; charset=utf-8")
        name = slugify(f"decision-{decision.reference or decision.pk}-model-report")
        if fmt == "json":
            response = JsonResponse(report, json_dumps_params={"indent": 1, "ensure_ascii": False})
            response["Content-Disposition"] = f'inline; filename="{name}.json"'
            return response
        context = {"report": report, "object": decision}
        if fmt == "pdf":
            try:
                document = model_report.pdf(context)
            except OSError as error:  # WeasyPrint's system libraries missing on this machine
                logger.error("The model report PDF could not be made: %s", error)
                return render(request, "decisions/record_unavailable.html", {"object": decision}, status=503)
            response = HttpResponse(document, content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
            return response
        return render(request, "filings/model_report.html", context)


# -- filings: issued versions of the reports ---------------------------------------------------------


class TransparencyReportView(RoleRequiredMixin, View):
    """The transparency report as it would be issued now: HTML, or ?format=json."""

    permission_required = "decisions.view_releasedecision"

    def get(self, request, pk):
        decision = get_object_or_404(ReleaseDecision.objects.select_related("snapshot__model"), pk=pk)
        try:
            report = issuing.preview(decision, FilingKind.TRANSPARENCY_REPORT, by=request.user)
        except issuing.IssueError as refused:
            return render(request, "filings/model_report_unavailable.html",
                          {"object": decision, "reason": str(refused)}, status=409)  # fmt: skip
        if request.GET.get("format") == "json":
            return JsonResponse(report, json_dumps_params={"indent": 1, "ensure_ascii": False})
        return render(request, "filings/transparency_report.html", {"report": report, "object": decision})


class FilingIssueView(RoleRequiredMixin, View):
    """Issue the next version of a report: changelog, facts the record lacks, and what to withhold."""

    permission_required = "filings.add_filing"

    def _context(self, request, decision, kind, form=None, error=""):
        form = form or FilingIssueForm(kind=kind)
        try:
            report = issuing.preview(decision, kind, form.given() if form.is_bound and form.is_valid() else None,
                                     request.user)  # fmt: skip
        except issuing.IssueError as refused:
            report, error = None, error or str(refused)
        previous = Filing.objects.filter(decision=decision, kind=kind).order_by("-version").first()
        return {"object": decision, "kind": kind, "kind_label": FilingKind(kind).label, "form": form,
                "report": report, "previous": previous, "error": error}  # fmt: skip

    def get(self, request, pk, kind):
        decision = get_object_or_404(ReleaseDecision, pk=pk)
        if kind not in FilingKind.values:
            raise Http404("No such report.")
        return render(request, "filings/filing_form.html", self._context(request, decision, kind))

    def post(self, request, pk, kind):
        decision = get_object_or_404(ReleaseDecision, pk=pk)
        if kind not in FilingKind.values:
            raise Http404("No such report.")
        form = FilingIssueForm(request.POST, kind=kind)
        if form.is_valid():
            try:
                filing = issuing.issue(decision, kind, request.user, changelog=form.cleaned_data["changelog"],
                                       interim=form.cleaned_data["interim"], inputs=form.given(),
                                       withheld=form.withheld())  # fmt: skip
            except issuing.IssueError as refused:  # issue() wrote nothing: its own atomic block rolled back
                return render(request, "filings/filing_form.html",
                              self._context(request, decision, kind, form, str(refused)), status=400)  # fmt: skip
            messages.success(request, f"{filing} issued; its SHA-256 is on its page.")
            return redirect(filing)
        return render(request, "filings/filing_form.html", self._context(request, decision, kind, form), status=400)


class FilingDetailView(RoleRequiredMixin, View):
    """An issued version as published (and, for those allowed, unredacted): HTML or ?format=json."""

    permission_required = "filings.view_filing"

    def get(self, request, pk):
        filing = get_object_or_404(Filing.objects.select_related("decision", "issued_by"), pk=pk)
        if request.GET.get("copy", "published") not in ("published", "unredacted") or request.GET.get(
            "format", "html") not in ("html", "json"):
            return HttpResponse("copy is published or unredacted; format is html or json.", status=400,
                                content_type="text/plain; charset=utf-8")  # fmt: skip
        unredacted = request.GET.get("copy") == "unredacted"
        if unredacted and not request.user.has_perm("filings.view_unredacted_filing"):
            raise PermissionDenied("Reading the unredacted copy needs the permission to read unredacted filings.")
        document = filing.content if unredacted else filing.published
        if request.GET.get("format") == "json":
            response = JsonResponse(document, json_dumps_params={"indent": 1, "ensure_ascii": False})
            copy = "unredacted" if unredacted else "published"
            name = slugify(f"{filing.get_kind_display()}-v{filing.version}-{copy}")
            response["Content-Disposition"] = f'attachment; filename="{name}.json"'
            return response
        versions = Filing.objects.filter(decision=filing.decision, kind=filing.kind).order_by("version")
        return render(request, "filings/filing_detail.html", {
            "filing": filing, "report": document, "unredacted": unredacted, "versions": versions,
            "may_unredact": request.user.has_perm("filings.view_unredacted_filing"),
        })  # fmt: skip
