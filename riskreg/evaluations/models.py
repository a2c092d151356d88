"""Models, their snapshots, what each evaluation of a snapshot found, and the evidence behind it."""

import hashlib
import uuid
from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.db.models.signals import pre_delete
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_valid_filename
from simple_history.models import HistoricalRecords

from riskreg.frameworks.models import ThreatCategory, Threshold
from riskreg.lib.dates import plausible
from riskreg.lib.text import single_line
from riskreg.sources import Sourced, choices_check

from .validators import validate_comparisons, validate_finite

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class AIModel(models.Model):
    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    developer = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["developer", "name"]
        verbose_name = "AI model"

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self):
        return reverse("evaluations:model-detail", args=[self.slug])


class SnapshotKind(models.TextChoices):
    EARLY = "early", "Earlier training snapshot"
    FINAL = "final", "Final snapshot"
    VARIANT = "variant", "Variant (e.g. helpful-only)"


class Snapshot(Sourced):
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="snapshots")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=SnapshotKind.choices)
    description = models.TextField(blank=True)
    available_from = models.DateField(null=True, blank=True, validators=[plausible])
    model_identifiers = models.TextField(
        "known as",
        blank=True,
        help_text="The identifiers evaluation harnesses use for this snapshot, one per line, e.g. "
        "anthropic/claude-mythos-preview. An imported log naming another model is refused unless the "
        "importer confirms the mismatch.",
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["model", "available_from", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "name"],
                name="snapshot_name_unique_per_model",
                violation_error_message="This model already has a snapshot with that name.",
            ),
            choices_check("kind", SnapshotKind, "snapshot_kind_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.model.name} — {self.name}"

    @property
    def identifiers(self) -> list[str]:
        return [line.strip() for line in self.model_identifiers.splitlines() if line.strip()]


class EvaluationKind(models.TextChoices):
    AUTOMATED_BENCHMARK = "automated_benchmark", "Automated benchmark"
    EXPERT_RED_TEAMING = "expert_red_teaming", "Expert red-teaming"
    UPLIFT_TRIAL = "uplift_trial", "Uplift trial"
    MODEL_ORGANISM = "model_organism", "Model-organism test"
    PILOT_USE = "pilot_use", "Pilot-use reports"
    WHITE_BOX = "white_box", "White-box analysis"
    EXTERNAL_TESTING = "external_testing", "External testing"
    SURVEY = "survey", "Survey"
    TREND_ANALYSIS = "trend_analysis", "Trend analysis"
    BEHAVIOURAL_AUDIT = "behavioural_audit", "Behavioural audit"


class Outcome(models.TextChoices):
    BELOW_THRESHOLD = "below_threshold", "Below threshold"
    SIGNAL_MET = "signal_met", "Alert / signal met"
    CROSSED = "crossed", "Threshold crossed"
    SATURATED = "saturated", "Saturated"
    INCONCLUSIVE = "inconclusive", "Inconclusive"
    NOT_ASSESSED = "not_assessed", "Not assessed"

    @classmethod
    def concerning(cls) -> list[str]:
        """Outcomes that show a capability a framework ought to cover (DESIGN §3, check 4)."""
        return [cls.SIGNAL_MET, cls.CROSSED, cls.SATURATED]


OUTCOME_LABELS = {value: str(label) for value, label in Outcome.choices}


def outcome_words(outcome: str, crossed_term: str | None = "", not_crossed_term: str | None = "") -> str:
    """An outcome in its threshold's own words where the framework has them (RSP v3.0's TM1: "Applicable" for
    crossed, "Not applicable" for below), else riskreg's label: a verdict is never shown in other words."""
    if outcome == Outcome.CROSSED and crossed_term:
        return crossed_term
    if outcome == Outcome.BELOW_THRESHOLD and not_crossed_term:
        return not_crossed_term
    return OUTCOME_LABELS.get(outcome, outcome)


OUTCOME_TERM_FIELDS = ("threshold__crossed_term", "threshold__not_crossed_term")  # for outcome_words from values()


class Confidence(models.TextChoices):
    LOW = "low", "Low"
    MODERATE = "moderate", "Moderate"
    HIGH = "high", "High"
    NOT_STATED = "not_stated", "Not stated"


class Evaluation(Sourced):
    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="evaluations")
    category = models.ForeignKey(ThreatCategory, on_delete=models.PROTECT, related_name="evaluations")
    threshold = models.ForeignKey(
        Threshold,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="evaluations",
        help_text="The threshold this evaluation informs; it must belong to the same category.",
    )
    title = models.CharField(max_length=300, validators=[single_line])
    kind = models.CharField(max_length=30, choices=EvaluationKind.choices)
    run_by = models.CharField(max_length=300, validators=[single_line], help_text="Team or organisation that ran it.")
    is_external = models.BooleanField("external", default=False)
    started_on = models.DateField(null=True, blank=True, validators=[plausible])
    finished_on = models.DateField(null=True, blank=True, validators=[plausible])
    finding = models.TextField()
    score = models.FloatField(null=True, blank=True, validators=[validate_finite])
    score_unit = models.CharField(max_length=60, blank=True, validators=[single_line],
                                  help_text="e.g. 'pass@1', '%', 'speed-up ×'.")
    score_note = models.CharField(max_length=300, blank=True, validators=[single_line])
    comparisons = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_comparisons],
        help_text='Other models and human baselines: [{"subject": "…", "value": 0.67, "unit": "…"}].',
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.NOT_ASSESSED)
    confidence = models.CharField(max_length=12, choices=Confidence.choices, default=Confidence.NOT_STATED)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="recorded_evaluations"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    # Who made the next save and why: simple_history reads them for its row (set by the steps that save)
    _history_user: "User | None"
    _change_reason: str

    class Meta:
        ordering = ["snapshot", "category", "source_section", "title"]
        permissions = [("import_evaluation_logs", "Can import evaluation-harness logs")]
        indexes = [
            # overview.model_overview: SELECT DISTINCT snapshot_id, category_id WHERE outcome IN (concerning),
            # answered from this index alone instead of a scan of every evaluation.
            models.Index(fields=["outcome", "snapshot", "category"], name="evaluation_outcome_snap_cat"),
            # The list's column sorts (riskreg/lib/lists.py orders by the column, then id the same way): each page
            # of a sort by one of the evaluation's own columns is an index range, not a sort of the whole list.
            *(models.Index(fields=[column, "id"], name=f"evaluation_sort_{column}")
              for column in ("title", "kind", "outcome", "score", "is_external", "source_section")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(source_section=""),
                name="evaluation_has_section",
                violation_error_message="Give the section of the system card (or report) the evaluation comes from.",
            ),
            models.CheckConstraint(
                condition=models.Q(started_on__isnull=True)
                | models.Q(finished_on__isnull=True)
                | models.Q(finished_on__gte=models.F("started_on")),
                name="evaluation_dates_ordered",
                violation_error_message="An evaluation cannot finish before it starts.",
            ),
            choices_check("kind", EvaluationKind, "evaluation_kind_valid"),
            choices_check("outcome", Outcome, "evaluation_outcome_valid"),
            choices_check("confidence", Confidence, "evaluation_confidence_valid"),
            # "The threshold belongs to the evaluation's category" spans two tables, which a
            # CHECK cannot express: a trigger enforces it (migration 0002), clean() explains it.
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self):
        return reverse("evaluations:detail", args=[self.pk])

    @property
    def outcome_label(self) -> str:
        """The outcome in its threshold's own words (outcome_words); select_related("threshold") where listed."""
        threshold = self.threshold if self.threshold_id else None
        if threshold is None:
            return outcome_words(self.outcome)
        return outcome_words(self.outcome, threshold.crossed_term, threshold.not_crossed_term)

    def clean(self):
        super().clean()
        if self.threshold_id and self.category_id and self.threshold.category_id != self.category_id:
            raise ValidationError(
                {"threshold": THRESHOLD_CATEGORY_MESSAGE},
                code="threshold_category",
            )

    def citing_decisions(self):
        """Decisions beyond a draft whose determinations cite this evaluation: a change to it (or new
        evidence) changes what they rest on, so it is made with a reason and shown on them."""
        if self.pk is None:
            return apps.get_model("decisions", "ReleaseDecision").objects.none()
        return (
            apps.get_model("decisions", "ReleaseDecision")
            .objects.filter(determinations__cited_evaluations=self)
            .exclude(status="draft")
            .distinct()
            .order_by("id")
        )

    def save(self, *args, **kwargs):
        if not self._state.adding:
            refuse_unreasoned_change_to_cited(self, self)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        refuse_deleting_cited(self)
        return super().delete(*args, **kwargs)


CITED_CHANGE_MESSAGE = (
    "Decisions beyond a draft cite this evaluation ({decisions}); a change to it needs a reason, "
    "recorded in its history and shown on those decisions."
)
CITED_DELETE_MESSAGE = (
    "Decisions beyond a draft cite this evaluation ({decisions}), so {what} is never deleted: "
    "what a submitted or approved decision rests on stays on record."
)


def refuse_deleting_cited(evaluation, what: str = "it") -> None:
    """An evaluation (or a piece of its evidence) that a submitted or approved decision cites stays.
    Without this, deleting it would silently drop the citation from the decision on SQLite."""
    citing = list(evaluation.citing_decisions()[:5])
    if citing:
        raise ValidationError(CITED_DELETE_MESSAGE.format(decisions=", ".join(str(d) for d in citing), what=what))


@receiver(pre_delete, sender=Evaluation)
def _refuse_bulk_deleting_cited_evaluation(sender, instance, **kwargs):
    # A queryset delete() skips the model's delete(), but not this signal (SQLite has no trigger).
    refuse_deleting_cited(instance)


def refuse_unreasoned_change_to_cited(evaluation, written) -> None:
    """A write (`written`: the evaluation or a new piece of its evidence) that changes what a
    submitted or approved decision rests on needs a change reason, whatever path it comes by."""
    if (getattr(written, "_change_reason", "") or "").strip():
        return
    citing = list(evaluation.citing_decisions()[:5])
    if citing:
        raise ValidationError(CITED_CHANGE_MESSAGE.format(decisions=", ".join(str(d) for d in citing)))


THRESHOLD_CATEGORY_MESSAGE = "The threshold belongs to another threat category than the evaluation."


def evidence_path(instance, filename: str) -> str:
    """A stored name nobody can steer: a random prefix and a sanitised, shortened original name."""
    try:
        safe = get_valid_filename(filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])[-100:]
    except SuspiciousFileOperation:  # nothing usable left of the name, e.g. ".."
        safe = "file"
    return f"evidence/{timezone.now():%Y/%m}/{uuid.uuid4().hex}-{safe}"


class RunStatus(models.TextChoices):
    SUCCESS = "success", "Success"
    ERROR = "error", "Error"
    CANCELLED = "cancelled", "Cancelled"
    STARTED = "started", "Started (crashed or still running)"


class ImportedRun(models.Model):
    """Where an imported evaluation came from: the harness run, as Inspect reads its log, and the file."""

    evaluation = models.OneToOneField(Evaluation, on_delete=models.PROTECT, related_name="imported_run")
    eval_id = models.CharField(
        max_length=100,
        unique=True,
        help_text="Inspect's id of the run. Importing it again changes nothing, unless the run was unfinished "
        "and the new file is a later state of it.",
    )
    run_id = models.CharField(max_length=100, blank=True)
    eval_set_id = models.CharField("eval-set id", max_length=100, blank=True, db_index=True)
    task = models.CharField(max_length=200)
    task_id = models.CharField("task id", max_length=100, blank=True, db_index=True)
    task_version = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=200, blank=True)
    other_model_confirmed = models.BooleanField(
        "model mismatch confirmed",
        default=False,
        help_text="The log's model is not among the snapshot's known identifiers; the importer confirmed it.",
    )
    model_roles = models.JSONField(default=dict, blank=True)
    generate_config = models.JSONField("generation config", default=dict, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices)
    log_version = models.PositiveSmallIntegerField()
    producer_version = models.CharField(max_length=50, blank=True)
    created = models.DateTimeField("log created", null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    dataset_name = models.CharField(max_length=200, blank=True)
    dataset_samples = models.PositiveIntegerField(null=True, blank=True)
    epochs = models.PositiveIntegerField(default=1)
    epochs_reducer = models.JSONField("epoch reducers", default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    task_metadata = models.JSONField(default=dict, blank=True)
    model_usage = models.JSONField("token usage", default=dict, blank=True)
    file_name = models.CharField(max_length=255)
    file_sha256 = models.CharField("file SHA-256", max_length=64)
    log_evidence = models.ForeignKey(
        "Evidence", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        help_text="The piece of evidence holding the log this record was last read from.",
    )  # fmt: skip
    metrics = models.JSONField(
        default=list, blank=True, help_text="Every metric in the log with its scorer, score, reducer and group."
    )
    headline = models.CharField(max_length=300, blank=True, help_text="The headline metric's full name.")
    rule = models.CharField("outcome rule", max_length=300, blank=True)
    total_samples = models.PositiveIntegerField(null=True, blank=True)
    completed_samples = models.PositiveIntegerField(null=True, blank=True)
    sample_errors = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)
    samples = models.JSONField(
        default=list, blank=True,
        help_text="A few random input/output samples of the run, as excerpts (chosen with a fixed seed).",
    )  # fmt: skip
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    # Who made the next save and why: simple_history reads them for its row (set by the steps that save)
    _history_user: "User | None"
    _change_reason: str

    class Meta:
        ordering = ["-imported_at"]
        constraints = [choices_check("status", RunStatus, "importedrun_status_valid")]

    def __str__(self) -> str:
        return f"{self.task} · {self.model} · {self.eval_id}"

    @property
    def finished(self) -> bool:
        return self.status != RunStatus.STARTED

    def metric_rows(self) -> list[dict]:
        """Every metric as a row of the page's table. Runs imported before metrics were fully named
        stored [{"scorer", "metrics": {name: value}}]; they read as rows too."""
        rows = []
        for entry in self.metrics or []:
            if "metrics" in entry:
                for metric, value in (entry.get("metrics") or {}).items():
                    name = f"{entry.get('scorer')}/{metric}"
                    rows.append({"name": name, "scorer": entry.get("scorer"), "score": entry.get("scorer"),
                                 "reducer": None, "metric": metric, "group": None, "value": value})  # fmt: skip
            else:
                rows.append(entry)
        for row in rows:
            row["headline"] = row["name"] == self.headline
        return rows


class HttpsURLField(models.URLField):
    """A URL field whose form assumes https:// for an address typed without a scheme."""

    def formfield(self, **kwargs):
        return super().formfield(**{"assume_scheme": "https", **kwargs})


class EvidenceKind(models.TextChoices):
    FILE = "file", "File"
    LINK = "link", "Link"
    NOTE = "note", "Note"


class Evidence(models.Model):
    """A file, link or note behind an evaluation. Never edited: a correction replaces it."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="evidence")
    kind = models.CharField(max_length=4, choices=EvidenceKind.choices)
    title = models.CharField(max_length=300)
    file = models.FileField(upload_to=evidence_path, blank=True, max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    url = HttpsURLField(max_length=2000, blank=True)
    note = models.TextField(blank=True)
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        help_text="The piece of evidence this one corrects; both stay visible.",
    )
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    # Who made the next save and why: simple_history reads them for its row (set by the steps that save)
    _history_user: "User | None"
    _change_reason: str

    class Meta:
        ordering = ["evaluation", "added_at", "id"]
        verbose_name_plural = "evidence"
        constraints = [
            choices_check("kind", EvidenceKind, "evidence_kind_valid"),
            models.CheckConstraint(
                condition=~models.Q(kind="file")
                | (~models.Q(file="") & models.Q(size__isnull=False) & models.Q(Exact(Length("sha256"), 64))),
                name="evidence_file_has_hash",
                violation_error_message="A file piece needs its file, its size and its SHA-256.",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="link") | ~models.Q(url=""),
                name="evidence_link_has_url",
                violation_error_message="A link piece needs its URL.",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="note") | ~models.Q(note=""),
                name="evidence_note_has_text",
                violation_error_message="A note piece needs its text.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("Evidence is never edited; add a new piece that replaces this one.")
        refuse_unreasoned_change_to_cited(self.evaluation, self)
        if self.kind == EvidenceKind.FILE and self.file and not self.sha256:
            self.size, self.sha256 = file_size_and_sha256(self.file)
            self.original_name = self.original_name or self.file.name.rsplit("/", 1)[-1]
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        refuse_deleting_cited(self.evaluation, "its evidence")
        return super().delete(*args, **kwargs)


@receiver(pre_delete, sender=Evidence)
def _refuse_bulk_deleting_cited_evidence(sender, instance, **kwargs):
    refuse_deleting_cited(instance.evaluation, "its evidence")


def file_size_and_sha256(file) -> tuple[int, str]:
    """Hash a file in chunks, so a large upload is never read into memory whole."""
    digest = hashlib.sha256()
    size = 0
    file.seek(0)
    for chunk in file.chunks():
        digest.update(chunk)
        size += len(chunk)
    file.seek(0)
    return size, digest.hexdigest()
