"""Safety frameworks, their versions, and the threat categories they do or do not cover.

One global ThreatCategory taxonomy; each FrameworkVersion says, through Coverage, whether it
sets a formal threshold for a category, only monitors it, or leaves it out. That table is what
makes a coverage gap (cyber under RSP v3.0) visible.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from simple_history.models import HistoricalRecords

from riskreg.lib.dates import plausible
from riskreg.lib.text import single_line
from riskreg.sources import Sourced, choices_check


class ThreatCategory(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    order = models.PositiveSmallIntegerField(default=0, help_text="Position in matrices and lists.")

    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "name"]
        verbose_name_plural = "threat categories"

    def __str__(self) -> str:
        return self.name


class GovernanceTitle(models.Model):
    """A role whose sign-off a framework version can require, e.g. 'Responsible Scaling Officer'.

    Titles are data, not code: approvers hold zero or more of them.
    """

    name = models.CharField(max_length=100, unique=True, validators=[single_line])
    description = models.TextField(blank=True)
    holders = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="governance_titles")

    history = HistoricalRecords(m2m_fields=[holders])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        # Deleting the title would drop it from every version requiring it (the cascade sends no
        # m2m signal): a frozen version would then approve with fewer signatures.
        for version in self.framework_versions.all():
            version.refuse_if_frozen()
        return super().delete(*args, **kwargs)


class Framework(models.Model):
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    developer = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["developer", "name"]

    def __str__(self) -> str:
        return self.name


class FrameworkVersion(Sourced):
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="versions")
    version = models.CharField(max_length=20, help_text="As the developer numbers it, e.g. '3.0'.")
    effective_date = models.DateField(null=True, blank=True, validators=[plausible])
    summary = models.TextField(blank=True)
    required_titles = models.ManyToManyField(
        GovernanceTitle,
        blank=True,
        related_name="framework_versions",
        help_text="Titles whose sign-off a release decision under this version needs.",
    )

    history = HistoricalRecords(m2m_fields=[required_titles])

    class Meta:
        ordering = ["framework", "effective_date", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "version"],
                name="frameworkversion_unique_per_framework",
                violation_error_message="This framework already has a version with that number.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.framework.name} v{self.version}"

    @property
    def is_frozen(self) -> bool:
        """In force for a decision beyond a draft: its thresholds, coverage and titles keep their meaning."""
        return self.pk is not None and self.decisions.exclude(status="draft").exists()

    def refuse_if_frozen(self) -> None:
        if self.is_frozen:
            raise ValidationError(FROZEN_VERSION_MESSAGE.format(version=self))

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            type(self).objects.get(pk=self.pk).refuse_if_frozen()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        self.refuse_if_frozen()
        return super().delete(*args, **kwargs)


FROZEN_VERSION_MESSAGE = (
    "{version} is in force for a submitted or approved decision, so it no longer changes: "
    "record a changed policy as a new version."
)


class VersionPart(models.Model):
    """A row of a framework version that freezes with it."""

    framework_version: "FrameworkVersion"  # each subclass's foreign key
    framework_version_id: int

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            stored = type(self).objects.get(pk=self.pk)  # type: ignore[attr-defined]  # each concrete subclass's manager
            FrameworkVersion.objects.get(pk=stored.framework_version_id).refuse_if_frozen()
        self.framework_version.refuse_if_frozen()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        self.framework_version.refuse_if_frozen()
        return super().delete(*args, **kwargs)


@receiver(m2m_changed, sender=FrameworkVersion.required_titles.through)
def _refuse_title_change_on_frozen_version(
    sender: type[models.Model], instance: Any, action: str, reverse: bool,
    pk_set: set[int] | None = None, **kwargs: Any,
) -> None:
    if action not in {"pre_add", "pre_remove", "pre_clear"}:
        return
    if not reverse:  # `instance` is the version; from the title's side (reverse) it is the title
        instance.refuse_if_frozen()
        return
    # From the title's side (title.required_by.add/remove/clear): every version touched must be unfrozen.
    versions = FrameworkVersion.objects.all()
    versions = versions.filter(pk__in=pk_set) if pk_set is not None else versions.filter(required_titles=instance)
    for version in versions:
        version.refuse_if_frozen()


class DeploymentWhenCrossed(models.TextChoices):
    """The widest deployment a framework allows once the threshold is crossed (with its safeguards)."""

    ANY = "any", "Any deployment, once the required safeguards are in place"
    INTERNAL_ONLY = "internal_only", "No external deployment"
    NONE = "none", "No deployment; halt further development"


class Threshold(Sourced, VersionPart):
    """A capability or risk level the framework version defines for one category.

    What crossing it requires is data taken from the framework (the `response_*` fields), not a rule in
    the gate: the gate holds a decision's scope and safeguards against them.
    """

    framework_version = models.ForeignKey(FrameworkVersion, on_delete=models.PROTECT, related_name="thresholds")
    category = models.ForeignKey(ThreatCategory, on_delete=models.PROTECT, related_name="thresholds")
    code = models.CharField(max_length=40, help_text="Short label, e.g. 'CB-1'.")
    name = models.CharField(max_length=200)
    definition = models.TextField()
    operationalisation = models.TextField(blank=True, help_text="How evaluations test for it.")
    response = models.TextField(
        "response when crossed", blank=True, help_text="What the framework requires once it is crossed, in words."
    )
    response_deployment = models.CharField(
        "deployment allowed when crossed",
        max_length=16,
        choices=DeploymentWhenCrossed.choices,
        default=DeploymentWhenCrossed.ANY,
    )
    response_safeguards = models.BooleanField(
        "safeguards required when crossed",
        default=True,
        help_text="A decision must name the safeguards it relies on before it deploys.",
    )
    response_report = models.BooleanField(
        "report required when crossed",
        default=False,
        help_text="A risk report, affirmative case or safety case is required: the decision states the residual risk.",
    )
    crossed_term = models.CharField(
        max_length=40, blank=True, help_text="The framework's own word for a yes, e.g. 'Applicable'. Blank: 'Crossed'."
    )
    not_crossed_term = models.CharField(
        max_length=40, blank=True, help_text="The framework's own word for a no, e.g. 'Not applicable'."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["framework_version", "category", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework_version", "code"],
                name="threshold_code_unique_per_version",
                violation_error_message="This framework version already has a threshold with that code.",
            ),
            choices_check("response_deployment", DeploymentWhenCrossed, "threshold_response_deployment_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"

    def verdict_term(self, verdict: str) -> str:
        """The framework's word for a verdict on this threshold, where it has its own ('' if not)."""
        return {"crossed": self.crossed_term, "not_crossed": self.not_crossed_term}.get(verdict, "")


class CoverageLevel(models.TextChoices):
    FORMAL = "formal", "Formal threshold"
    PARTIAL = "partial", "Monitored only"
    NONE = "none", "Not covered"


def is_coverage_gap(level: str | None, concerning: bool) -> bool:
    """The coverage-gap rule, in one place: a category where the evaluations reached signal met, crossed or
    saturated (`concerning`) while the framework version sets no formal threshold for it (`level`: a
    CoverageLevel value, or None where the version says nothing). The gate, the overview and the model
    page all ask this."""
    return concerning and level != CoverageLevel.FORMAL


class Coverage(Sourced, VersionPart):
    """Whether one framework version covers one threat category, and how."""

    framework_version = models.ForeignKey(FrameworkVersion, on_delete=models.PROTECT, related_name="coverage")
    category = models.ForeignKey(ThreatCategory, on_delete=models.PROTECT, related_name="coverage")
    level = models.CharField(max_length=10, choices=CoverageLevel.choices)
    note = models.TextField(  # printed in every decision record under this version: bounded like a decision's texts
        blank=True, validators=[MaxLengthValidator(2000)], help_text="What the version says, or why it is silent."
    )

    history = HistoricalRecords()

    class Meta:
        ordering = ["framework_version", "category"]
        verbose_name_plural = "coverage"
        constraints = [
            models.UniqueConstraint(
                fields=["framework_version", "category"],
                name="coverage_unique_per_version_category",
                violation_error_message="This framework version already states its coverage of that category.",
            ),
            choices_check("level", CoverageLevel, "coverage_level_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.framework_version} × {self.category}: {self.get_level_display()}"
