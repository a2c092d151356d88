"""The home page's overview: each model, its latest decision, and the coverage of the framework
version that decision was taken under, with the gaps its evaluations expose.

A fixed number of queries whatever the number of models, decisions or evaluations.
"""

from dataclasses import dataclass, field
from html import escape

from django.db.models import F, OrderBy, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.safestring import SafeString, mark_safe

from riskreg import provenance
from riskreg.decisions.gate import annotate_review_states
from riskreg.decisions.models import DecisionStatus, ReleaseDecision
from riskreg.evaluations.models import AIModel, Evaluation, Outcome, Snapshot
from riskreg.frameworks.models import Coverage, CoverageLevel, ThreatCategory, is_coverage_gap

GAP_TITLE = "Coverage gap: concerning evaluation results, no formal threshold"


@dataclass
class CoverageCell:
    category: ThreatCategory
    level: str  # a CoverageLevel value, or "" where the version says nothing
    concerning: bool  # the model's evaluations reached signal met, crossed or saturated here
    mark: str = ""  # the coverage row's mark, where a reader must not miss it (secondary, inference): its word

    @property
    def is_gap(self) -> bool:
        return is_coverage_gap(self.level or None, self.concerning)

    @property
    def label(self) -> str:
        return CoverageLevel(self.level).label if self.level else "Not stated"

    def __html__(self) -> str:
        """The cell as the overview's table draws it. Drawn here: a model's row has a cell per category,
        and drawing them with template tags was most of the page's time (issue 20)."""
        gap = self.is_gap
        css = f"level level-{self.level or 'unstated'}{' gap' if gap else ''}"
        title = f' title="{GAP_TITLE}"' if gap else ""
        flag = '<span class="gap-flag"> — gap</span>' if gap else ""
        mark = f' <span class="prov">{escape(self.mark)}</span>' if self.mark else ""
        return f'<td class="{escape(css)}"{title}>{escape(self.label)}{mark}{flag}</td>'


@dataclass
class ModelRow:
    model: AIModel
    latest_decision: ReleaseDecision | None
    cells: list[CoverageCell] = field(default_factory=list)

    @property
    def gaps(self) -> list[CoverageCell]:
        return [cell for cell in self.cells if cell.is_gap]

    @property
    def cells_html(self) -> SafeString:
        return mark_safe("".join(cell.__html__() for cell in self.cells))


def model_overview() -> tuple[list[ThreatCategory], list[ModelRow]]:
    categories = list(ThreatCategory.objects.all())
    models = list(AIModel.objects.all())

    # The latest decision that is not a draft (by effective date, undated first, then id); a model with
    # only drafts shows its latest draft. Picked in SQL, one per model: the page reads as many decisions
    # as there are models, however many decisions each has.
    newest_first: list[str | OrderBy] = [F("effective_date").desc(nulls_last=True), "-id"]
    of_model = ReleaseDecision.objects.filter(snapshot__model=OuterRef("pk")).order_by(*newest_first).values("pk")
    # (Models without a decision are dropped here, not in SQL: a WHERE on the annotation ran both
    # subqueries a second time.)
    picked = {
        model_id: latest
        for model_id, latest in AIModel.objects.order_by().annotate(
            latest=Coalesce(Subquery(of_model.exclude(status=DecisionStatus.DRAFT)[:1]), Subquery(of_model[:1]))
        ).values_list("pk", "latest")
        if latest is not None
    }
    found = ReleaseDecision.objects.select_related("snapshot", "framework_version__framework").in_bulk(
        list(picked.values())
    )
    latest: dict[int, ReleaseDecision] = {model_id: found[pk] for model_id, pk in picked.items()}

    annotate_review_states(latest.values())  # "approved — changed since signing" where it applies
    version_ids = {decision.framework_version_id for decision in latest.values()}
    levels: dict[tuple[int, int] | None, str] = {}
    marks: dict[tuple[int, int] | None, str] = {}
    for row in Coverage.objects.filter(framework_version_id__in=version_ids).values(
        "framework_version_id", "category_id", "level", *provenance.fields_for(Coverage)
    ):
        key = (row["framework_version_id"], row["category_id"])
        levels[key] = row["level"]
        marked = provenance.of_row(Coverage, row)
        marks[key] = marked.mark_word if marked.flagged else ""  # e.g. RSP v3.0's radiological cell: secondary
    model_of = dict(Snapshot.objects.values_list("id", "model_id"))
    concerning = {
        (model_of[snapshot_id], category_id)
        for snapshot_id, category_id in Evaluation.objects.filter(outcome__in=Outcome.concerning())
        .order_by()  # the default ordering would join models and widen the DISTINCT
        .values_list("snapshot_id", "category_id")
        .distinct()
    }

    rows = []
    for model in models:
        decision = latest.get(model.pk)
        cells = []
        for category in categories:
            at = (decision.framework_version_id, category.pk) if decision else None
            cells.append(CoverageCell(category, levels.get(at, ""), (model.pk, category.pk) in concerning,
                                      marks.get(at, "")))  # fmt: skip
        rows.append(ModelRow(model, decision, cells))
    return categories, rows
