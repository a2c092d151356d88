"""Incidents, the reports sent about them, and the crosswalk to the GPAI Code's systemic risks.

All three are tracked like every other record (history and audit events). A report once recorded as
sent never changes: a correction is an amended report, a new row.
"""

import hashlib
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from riskreg.decisions.models import PROSE, ReleaseDecision
from riskreg.evaluations.models import AIModel, Evaluation, Snapshot
from riskreg.frameworks.models import FrameworkVersion, ThreatCategory
from riskreg.lib.dates import plausible_moment
from riskreg.lib.text import single_line
from riskreg.risks.models import Risk
from riskreg.sources import Sourced

from .rules import REPORT_KINDS, rules

if TYPE_CHECKING:
    from django.contrib.auth.models import User

NOTE = [MaxLengthValidator(2000)]


def _known(values, choices: dict, what: str) -> None:
    unknown = [value for value in values or [] if value not in choices]
    if unknown:
        raise ValidationError(f"Unknown {what}: {', '.join(map(str, unknown))}.")


def validate_kinds(values) -> None:
    if not isinstance(values, list):
        raise ValidationError("A list of incident kinds.")
    _known(values, rules().kinds, "incident kind")


def validate_regime(value) -> None:
    _known([value], rules().regimes, "regime")


def validate_regimes(values) -> None:
    if not isinstance(values, list):
        raise ValidationError("A list of regimes.")
    _known(values, rules().regimes, "regime")


class Incident(Sourced):
    """A serious or critical safety incident, or a near miss, with what each regime asks to be told."""

    title = models.CharField(max_length=300, validators=[single_line])
    statement = models.TextField(
        "short plain statement", validators=PROSE, help_text="What happened, in a few plain sentences."
    )
    kinds = models.JSONField(default=list, validators=[validate_kinds], help_text="What kind of incident it is.")
    jurisdictions = models.JSONField(
        default=list, blank=True, validators=[validate_regimes], help_text="The regimes it falls under."
    )
    model = models.ForeignKey(AIModel, on_delete=models.PROTECT, related_name="incidents")
    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, null=True, blank=True, related_name="incidents")
    started_at = models.DateTimeField("started", null=True, blank=True, validators=[plausible_moment])
    ended_at = models.DateTimeField("ended", null=True, blank=True, validators=[plausible_moment])
    aware_at = models.DateTimeField(
        "became aware", null=True, blank=True, validators=[plausible_moment],
        help_text="When the developer became aware (discovered it): most clocks start here.",
    )  # fmt: skip
    resolved_at = models.DateTimeField("resolved", null=True, blank=True, validators=[plausible_moment])
    why_reportable = models.TextField("why it qualifies", blank=True, validators=PROSE)
    harm = models.TextField("harm, and who was affected", blank=True, validators=PROSE)
    chain_of_events = models.TextField(blank=True, validators=PROSE)
    model_involvement = models.TextField("material on the model's involvement", blank=True, validators=PROSE)
    internal_use = models.BooleanField(
        "associated with internal use", null=True, blank=True, help_text="Leave unknown where it is not yet known."
    )
    actions_taken = models.TextField("what the provider has done", blank=True, validators=PROSE)
    actions_intended = models.TextField("what the provider intends to do", blank=True, validators=PROSE)
    recommendations = models.TextField("recommendations to the authorities", blank=True, validators=PROSE)
    root_cause = models.TextField("root cause", blank=True, validators=PROSE)
    related_near_misses = models.TextField(blank=True, validators=PROSE)
    evaluations = models.ManyToManyField(Evaluation, blank=True, related_name="incidents")
    risks = models.ManyToManyField(Risk, blank=True, related_name="incidents")
    decisions = models.ManyToManyField(ReleaseDecision, blank=True, related_name="incidents")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(m2m_fields=[evaluations, risks, decisions])

    class Meta:
        ordering = ["-id"]
        permissions = [("report_incident", "Can record reports sent about an incident")]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"INC-{self.pk}" if self.pk else "INC-new"

    def get_absolute_url(self) -> str:
        return reverse("filings:incident", args=[self.pk])

    @property
    def is_near_miss(self) -> bool:
        return self.kinds == ["near_miss"]

    def kind_names(self) -> list[str]:
        known = rules().kinds
        return [known[k].name if k in known else k for k in self.kinds]

    def regime_names(self) -> list[str]:
        known = rules().regimes
        return [known[r].short if r in known else r for r in self.jurisdictions]

    # Once a report was sent, the facts its clocks ran on stand: a correction is an amended report.
    FIXED_ONCE_REPORTED = ("kinds", "jurisdictions", "aware_at")

    def clean(self):
        errors = {}
        if self.pk is not None and self.reports.exists():
            stored = type(self).objects.get(pk=self.pk)
            for name in self.FIXED_ONCE_REPORTED:
                if getattr(stored, name) != getattr(self, name):
                    label = self._meta.get_field(name).verbose_name
                    errors[name] = (f"Reports were sent on this incident, so its {label} no longer change here: "
                                    "record an amended report that says what was wrong.")  # fmt: skip
        if self.is_near_miss and self.jurisdictions:
            errors["jurisdictions"] = "A near miss is reportable under no regime: leave the regimes empty."
        if "near_miss" in self.kinds and len(self.kinds) > 1:
            errors["kinds"] = "A near miss is no harm: it is not also one of the reportable kinds."
        reportable = {r for k in self.kinds if k in rules().kinds for r in rules().kinds[k].regimes}
        outside = [r for r in self.jurisdictions if r not in reportable]
        if outside and not self.is_near_miss:
            names = ", ".join(rules().regimes[r].short for r in outside if r in rules().regimes)
            errors["jurisdictions"] = f"None of its kinds is reportable under {names}: check the kinds or the regimes."
        if self.snapshot_id and self.model_id and self.snapshot.model_id != self.model_id:
            errors["snapshot"] = "That snapshot is of another model."
        order = [("started_at", "ended_at"), ("aware_at", "resolved_at"), ("started_at", "aware_at")]
        for earlier, later in order:
            a, b = getattr(self, earlier), getattr(self, later)
            if a and b and b < a:
                errors[later] = f"It cannot be before “{self._meta.get_field(earlier).verbose_name}”."
        if self.jurisdictions and not self.aware_at and not self.is_near_miss:
            errors["aware_at"] = "Say when you became aware: the legal clocks start from it."
        if errors:
            raise ValidationError(errors)


class IncidentReport(models.Model):
    """A report sent to an authority about an incident: what was sent, to whom and when. Never changed."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="reports")
    regime = models.CharField(max_length=20, validators=[validate_regime])
    kind = models.CharField(max_length=20, choices=list(REPORT_KINDS.items()))
    sent_at = models.DateTimeField("sent", validators=[plausible_moment])
    sent_to = models.CharField(max_length=300, help_text="The authority, and how it was sent.")
    content = models.TextField("what was sent", validators=PROSE)
    content_sha256 = models.CharField("SHA-256 of what was sent", max_length=64, editable=False)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["sent_at", "id"]

    def __str__(self) -> str:
        regime = rules().regimes.get(self.regime)
        return f"{self.get_kind_display()} to {regime.short if regime else self.regime} on {self.incident.reference}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError("A report once sent is not changed: record an amended report instead.")
        self.content_sha256 = hashlib.sha256(self.content.encode("utf-8")).hexdigest()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("A report once sent is kept: record an amended report instead.")


class CodeRiskMapping(models.Model):
    """The crosswalk: which category of a framework version stands for one of the Code's systemic risks.

    Kept apart from the framework version (which freezes once a decision rests on it): the crosswalk is
    the compliance team's reading, and may be refined after a decision without changing what was signed.
    """

    framework_version = models.ForeignKey(FrameworkVersion, on_delete=models.PROTECT, related_name="crosswalk")
    systemic_risk = models.CharField(max_length=40, help_text="One of the Code's systemic risks (obligations.json).")
    category = models.ForeignKey(
        ThreatCategory, on_delete=models.PROTECT, null=True, blank=True, related_name="crosswalk",
        help_text="Empty: the framework version has no category for this risk.",
    )  # fmt: skip
    note = models.TextField(blank=True, validators=NOTE)
    source_section = models.CharField(max_length=100, blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["framework_version", "systemic_risk", "category"]
        verbose_name = "crosswalk entry"
        verbose_name_plural = "crosswalk"
        constraints = [
            models.UniqueConstraint(fields=["framework_version", "systemic_risk", "category"],
                                    name="crosswalk_unique_entry",
                                    violation_error_message="This crosswalk entry exists already."),  # fmt: skip
        ]

    def __str__(self) -> str:
        risk = rules().systemic_risks.get(self.systemic_risk, {}).get("name", self.systemic_risk)
        return f"{self.framework_version}: {risk} → {self.category or 'no category'}"

    def clean(self):
        if self.systemic_risk not in rules().systemic_risks:
            raise ValidationError({"systemic_risk": "Not one of the Code's systemic risks."})


class FilingKind(models.TextChoices):
    MODEL_REPORT = "model_report", "Safety and Security Model Report"
    TRANSPARENCY_REPORT = "transparency_report", "Transparency report"


class Filing(models.Model):
    """One issued version of a report about a decision: what it said, in full and as published.

    Never changed once issued: a later version says what changed (its changelog). A transparency
    report's published copy withholds what its redactions name, each with its reason and a salted
    SHA-256 of the withheld value; the unredacted copy's SHA-256 is printed on the published one, so
    the two can later be shown to correspond without publishing the withheld text.
    """

    decision = models.ForeignKey(ReleaseDecision, on_delete=models.PROTECT, related_name="filings")
    kind = models.CharField(max_length=24, choices=FilingKind.choices)
    version = models.PositiveIntegerField()
    interim = models.BooleanField(default=False, help_text="Issued while inputs are still missing (its gaps).")
    changelog = models.TextField(validators=PROSE, help_text="What changed since the last version, and why.")
    inputs = models.JSONField(default=dict, blank=True, help_text="Facts the record lacks, given at issue time.")
    content = models.JSONField(help_text="The report as issued, unredacted.")
    content_sha256 = models.CharField("SHA-256 of the unredacted report", max_length=64, editable=False)
    published = models.JSONField(help_text="The report as published: withheld items replaced by their reasons.")
    published_sha256 = models.CharField("SHA-256 of the published report", max_length=64, editable=False)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    # Who made the next save and why: simple_history reads them for its row (set by the steps that save)
    _history_user: "User | None"
    _change_reason: str

    class Meta:
        ordering = ["decision", "kind", "version"]
        permissions = [("view_unredacted_filing", "Can read a filing's unredacted copy")]
        constraints = [
            models.UniqueConstraint(fields=["decision", "kind", "version"], name="filing_one_version_number",
                                    violation_error_message="That version was issued already."),  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}{' (interim)' if self.interim else ''} for {self.decision}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ValidationError("An issued report never changes: issue a new version with a changelog.")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("filings:filing", args=[self.pk])

    def delete(self, *args, **kwargs):
        raise ValidationError("An issued report is kept: issue a new version with a changelog.")
