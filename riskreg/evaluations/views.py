from django.contrib import messages
from django.contrib.messages.views import SuccessMessageMixin
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import CreateView, DetailView, UpdateView, View
from django_filters.views import FilterView

from riskreg import provenance
from riskreg.accounts.access import RoleRequiredMixin
from riskreg.audit.models import AuditEvent
from riskreg.decisions.gate import annotate_review_states
from riskreg.decisions.models import ReleaseDecision
from riskreg.frameworks.models import Coverage, FrameworkVersion, ThreatCategory, is_coverage_gap
from riskreg.lib.concurrency import VersionedUpdateMixin
from riskreg.lib.exports import CsvExportMixin
from riskreg.lib.lists import ListPageMixin

from .exports import EvaluationCsv
from .filters import EvaluationFilter
from .forms import EvaluationForm, EvidenceForm
from .models import OUTCOME_TERM_FIELDS, AIModel, Evaluation, EvaluationKind, Evidence, Outcome, Snapshot, outcome_words
from .tables import EvaluationTable
from .timeline import timeline_svg

LIST_QUERYSET = Evaluation.objects.select_related("snapshot__model", "category", "threshold")


class EvaluationListView(RoleRequiredMixin, CsvExportMixin, ListPageMixin, FilterView):
    permission_required = "evaluations.view_evaluation"
    model = Evaluation
    table_class = EvaluationTable
    filterset_class = EvaluationFilter
    template_name = "evaluations/evaluation_list.html"
    row_template = "evaluations/_rows.html"
    row_fields = ("pk", "title", "snapshot__model__name", "snapshot__name", "category__name", "kind", "outcome",
                  "score", "score_unit", "is_external", "source_section", *OUTCOME_TERM_FIELDS)  # fmt: skip
    detail_url = "evaluations:detail"
    csv_export = EvaluationCsv
    kinds = dict(EvaluationKind.choices)

    def decorate_rows(self, rows):
        super().decorate_rows(rows)
        # The page's evidence in one query, in the order the pieces were added.
        evidence: dict[int, list] = {}
        pieces = Evidence.objects.filter(evaluation_id__in=[row["pk"] for row in rows]).order_by("id")
        for piece in pieces.values("evaluation_id", "sha256", "original_name"):
            evidence.setdefault(piece["evaluation_id"], []).append(piece)
        for row in rows:
            row["kind_label"] = self.kinds.get(row["kind"], row["kind"])
            row["outcome_label"] = outcome_words(row["outcome"], *(row[field] for field in OUTCOME_TERM_FIELDS))
            pieces = evidence.get(row["pk"], [])
            row["files"] = [piece for piece in pieces if piece["sha256"]]
            row["evidence_count"] = len(pieces)


class EvaluationDetailView(RoleRequiredMixin, DetailView):
    permission_required = "evaluations.view_evaluation"
    template_name = "evaluations/evaluation_detail.html"

    def get_queryset(self):
        evidence = Prefetch("evidence", queryset=Evidence.objects.select_related("added_by", "replaces", "replaced_by"))
        return LIST_QUERYSET.select_related("recorded_by", "imported_run").prefetch_related(evidence)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["events"] = AuditEvent.objects.for_record(self.object)
        context["evidence_form"] = EvidenceForm(evaluation=self.object)
        return context


class EvaluationCreateView(RoleRequiredMixin, SuccessMessageMixin, CreateView):
    permission_required = "evaluations.add_evaluation"
    form_class = EvaluationForm
    template_name = "evaluations/evaluation_form.html"
    success_message = "Evaluation recorded."

    def get_initial(self):
        return {"snapshot": self.request.GET.get("snapshot"), "category": self.request.GET.get("category")}

    def form_valid(self, form):
        form.instance.recorded_by = self.request.user
        return super().form_valid(form)


class EvaluationUpdateView(RoleRequiredMixin, VersionedUpdateMixin, SuccessMessageMixin, UpdateView):
    permission_required = "evaluations.change_evaluation"
    model = Evaluation
    form_class = EvaluationForm
    template_name = "evaluations/evaluation_form.html"
    success_message = "Evaluation saved."

    def form_valid(self, form):
        form.instance._change_reason = form.reason()
        return super().form_valid(form)


class EvidenceCreateView(RoleRequiredMixin, View):
    """Attach a piece of evidence to an evaluation (POST only; the form is on the evaluation page)."""

    permission_required = "evaluations.add_evidence"

    def post(self, request, pk):
        evaluation = get_object_or_404(LIST_QUERYSET, pk=pk)
        form = EvidenceForm(request.POST, request.FILES, evaluation=evaluation)
        if not form.is_valid():
            view = EvaluationDetailView(request=request, kwargs={"pk": pk}, object=evaluation)
            context = view.get_context_data(object=evaluation)
            context["evidence_form"] = form
            response = view.render_to_response(context)
            response.status_code = 400
            return response
        form.instance.evaluation = evaluation
        form.instance.added_by = request.user
        form.instance._change_reason = form.reason()
        piece = form.save()
        messages.success(request, f"Evidence “{piece.title}” attached.")
        return redirect(reverse("evaluations:detail", args=[pk]) + "#evidence")


class EvidenceDownloadView(RoleRequiredMixin, View):
    """Evidence files are served to logged-in users only, always as a download."""

    permission_required = "evaluations.view_evidence"

    def get(self, request, pk):
        piece = get_object_or_404(Evidence, pk=pk, kind="file")
        try:
            handle = piece.file.open("rb")
        except FileNotFoundError:
            raise Http404("The stored file is missing.") from None
        response = FileResponse(
            handle, as_attachment=True, filename=piece.original_name or "evidence",
            content_type=piece.content_type or "application/octet-stream",
        )  # fmt: skip
        return response  # X-Content-Type-Options: nosniff comes from Django's SecurityMiddleware


class ModelDetailView(RoleRequiredMixin, DetailView):
    """A model's timeline of decisions and evaluations, and its coverage matrix."""

    permission_required = "evaluations.view_aimodel"
    model = AIModel
    template_name = "evaluations/aimodel_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        model = self.object
        snapshots = list(
            Snapshot.objects.filter(model=model)
            .annotate(
                evaluation_count=Count("evaluations"),
                concerning_count=Count("evaluations", filter=Q(evaluations__outcome__in=Outcome.concerning())),
            )
            .order_by("available_from", "id")
        )
        decisions = list(
            ReleaseDecision.objects.filter(snapshot__model=model)
            .select_related("snapshot", "framework_version__framework", "supersedes")
            .order_by("effective_date", "id")
        )
        annotate_review_states(decisions)
        categories = list(ThreatCategory.objects.all())
        versions = list(FrameworkVersion.objects.select_related("framework"))
        levels = {(c.framework_version_id, c.category_id): c for c in Coverage.objects.all()}
        concerning = set(
            Evaluation.objects.filter(snapshot__model=model, outcome__in=Outcome.concerning())
            .values_list("category_id", flat=True)
            .distinct()
        )
        notes = []  # the cells' notes as numbered footnotes, shown without hovering (and in print)
        matrix = []
        for version in versions:
            cells = []
            for category in categories:
                coverage = levels.get((version.pk, category.pk))
                number = None
                marked = coverage is not None and provenance.of(coverage).flagged
                if coverage is not None and (coverage.note or marked):
                    # A cell from a secondary source or an inference says so in its footnote (issue 28).
                    mark = f"{provenance.of(coverage).mark_label}. " if marked else ""
                    notes.append((version, category, mark + coverage.note))
                    number = len(notes)
                found = category.pk in concerning
                level = coverage.level if coverage is not None else None
                cells.append((category, coverage, found, number, is_coverage_gap(level, found)))
            matrix.append((version, cells))
        context.update(snapshots=snapshots, decisions=decisions, categories=categories, matrix=matrix,
                       concerning=concerning, notes=notes)  # fmt: skip
        context["timeline"] = timeline_svg(model, snapshots, decisions)
        return context
