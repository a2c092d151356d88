"""Release decisions: what scope was decided for a snapshot, under which framework version, on what.

An approved decision and its determinations never change; the only step left to an approved
decision is to be superseded by a later one.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.urls import reverse
from simple_history.models import HistoricalRecords

from riskreg.evaluations.models import Confidence, Evaluation, Snapshot
from riskreg.frameworks.models import FrameworkVersion, GovernanceTitle, ThreatCategory, Threshold
from riskreg.sources import Sourced, choices_check


class Scope(models.TextChoices):
    NO_DEPLOYMENT = "no_deployment", "No deployment"
    INTERNAL_REVIEW = "internal_review", "Internal review period"
    INTERNAL_USE = "internal_use", "Internal use"
    LIMITED_PILOT = "limited_pilot", "Limited external pilot"
    LIMITED_ACCESS = "limited_access", "Limited-access programme"
    GENERAL_AVAILABILITY = "general_availability", "General availability"


class DecisionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SUPERSEDED = "superseded", "Superseded"


FROZEN_STATUSES = (DecisionStatus.APPROVED, DecisionStatus.SUPERSEDED)


class DecisionError(ValidationError):
    """A lifecycle step that is not allowed; the message says why, for the person who tried."""


# The checks that sign-offs settle: everything else must pass before a decision goes to review.
SIGN_OFF_CHECKS = {"sign_offs", "stale_sign_offs"}


def _refuse_if_gate_blocks(decision, doing: str) -> None:
    from .gate import gate

    blocking = [check for check in gate(decision).blocking if check.code not in SIGN_OFF_CHECKS]
    if blocking:
        reasons = " ".join(check.reason for check in blocking)
        raise DecisionError(f"The release gate blocks this decision, so you cannot {doing}: {reasons}")


FROZEN_MESSAGE = "An approved decision never changes: supersede it with a new decision instead."


class ReleaseDecision(Sourced):
    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="decisions")
    framework_version = models.ForeignKey(FrameworkVersion, on_delete=models.PROTECT, related_name="decisions")
    reference = models.CharField(max_length=40, blank=True, help_text="The developer's own label, e.g. 'D7'.")
    title = models.CharField(max_length=300)
    scope = models.CharField(max_length=24, choices=Scope.choices)
    scope_details = models.TextField(blank=True, help_text="Who may use it, where, for what.")
    conditions = models.TextField(blank=True, help_text="Conditions and safeguards the scope depends on.")
    rationale = models.TextField()
    basis = models.CharField(
        max_length=300,
        blank=True,
        help_text="What required it, e.g. 'framework threshold' or 'discretionary; not required by the framework'.",
    )
    decided_by = models.CharField(max_length=300, blank=True, help_text="The body or role that decided.")
    effective_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=DecisionStatus.choices, default=DecisionStatus.DRAFT)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["snapshot", "effective_date", "reference", "id"]
        permissions = [("sign_releasedecision", "Can sign off release decisions for titles held")]
        constraints = [
            choices_check("scope", Scope, "decision_scope_valid"),
            choices_check("status", DecisionStatus, "decision_status_valid"),
            models.UniqueConstraint(
                fields=["snapshot", "reference"],
                condition=~models.Q(reference=""),
                name="decision_reference_unique_per_snapshot",
                violation_error_message="This snapshot already has a decision with that reference.",
            ),
            models.CheckConstraint(
                condition=~models.Q(supersedes=models.F("id")),
                name="decision_not_superseding_itself",
                violation_error_message="A decision cannot supersede itself.",
            ),
        ]

    def __str__(self) -> str:
        label = f"{self.reference} " if self.reference else ""
        return f"{label}{self.title}"

    def get_absolute_url(self):
        return reverse("decisions:detail", args=[self.pk])

    @property
    def is_draft(self) -> bool:
        return self.status == DecisionStatus.DRAFT

    # -- the lifecycle: draft → in review → approved | rejected; approved → superseded -------------

    def _locked(self) -> "ReleaseDecision":
        """This decision's row, locked until the transaction ends: two requests cannot both move it."""
        return type(self).objects.select_for_update().get(pk=self.pk)

    def _save_as(self, user, reason: str):
        self._history_user = user
        self._change_reason = reason
        self.save()

    def submit(self, by) -> None:
        with transaction.atomic():
            current = self._locked()
            if current.status != DecisionStatus.DRAFT:
                raise DecisionError(
                    f"Only a draft can be submitted; this decision is {current.get_status_display().lower()}."
                )
            _refuse_if_gate_blocks(current, "submit it")
            current.status = DecisionStatus.IN_REVIEW
            current._save_as(by, "submitted for review")
            self.status = current.status

    def sign(self, by, title, verdict: str, comment: str = "") -> "SignOff":
        """Record `by`'s sign-off for `title`; approve or reject the decision when that settles it.

        Separation of duties holds for everyone, superusers included: nobody signs a decision they
        authored, and each required title is signed by a different person.
        """
        from .digest import current_content, digest_of
        from .gate import gate

        with transaction.atomic():
            current = self._locked()
            if current.status != DecisionStatus.IN_REVIEW:
                raise DecisionError("Only a decision in review can be signed off.")
            if current.author_id == by.pk:
                raise DecisionError("You authored this decision, so you cannot sign it off.")
            required = set(current.framework_version.required_titles.values_list("pk", flat=True))
            if title.pk not in required:
                raise DecisionError(f"{current.framework_version} does not ask for a sign-off by “{title}”.")
            if not title.holders.filter(pk=by.pk).exists():
                raise DecisionError(f"You do not hold the title “{title}”.")
            if verdict == SignOffVerdict.APPROVE:
                _refuse_if_gate_blocks(current, "approve it")
            content = current_content(current)
            digest = digest_of(content)
            current_sign_offs = [s for s in current.sign_offs.all() if s.digest == digest]
            if any(s.signer_id == by.pk for s in current_sign_offs):
                raise DecisionError("You have already signed this decision; each title needs a different person.")
            if any(s.title_id == title.pk for s in current_sign_offs):
                raise DecisionError(f"“{title}” has already signed this decision.")
            sign_off = SignOff(
                decision=current, signer=by, title=title, verdict=verdict, comment=comment, digest=digest,
                signed_content=content,
            )  # fmt: skip
            sign_off._history_user = by
            sign_off.save()

            if verdict == SignOffVerdict.REJECT:
                current.status = DecisionStatus.REJECTED
                current._save_as(by, f"rejected by {title}")
            elif gate(current).passed:
                # The approve transition: the gate, re-run on the locked row inside this transaction.
                current._approve(by)
            self.status = current.status
            return sign_off

    def withdraw(self, by) -> None:
        """Back from review to draft, to change it; sign-offs on content that then changes go stale."""
        with transaction.atomic():
            current = self._locked()
            if current.status != DecisionStatus.IN_REVIEW:
                raise DecisionError("Only a decision in review can be withdrawn to a draft.")
            current.status = DecisionStatus.DRAFT
            current._save_as(by, "withdrawn from review")
            self.status = current.status

    def _approve(self, by) -> None:
        self.status = DecisionStatus.APPROVED
        self._save_as(by, "approved: the gate passed with every required title signed")
        if self.supersedes_id:
            earlier = type(self).objects.select_for_update().get(pk=self.supersedes_id)
            if earlier.status == DecisionStatus.APPROVED:
                earlier.status = DecisionStatus.SUPERSEDED
                earlier._save_as(by, f"superseded by decision {self.pk}")

    def supersede(self, by) -> "ReleaseDecision":
        """Start a new draft that will replace this approved decision, with its content copied."""
        with transaction.atomic():
            current = self._locked()
            if current.status != DecisionStatus.APPROVED:
                raise DecisionError("Only an approved decision can be superseded.")
            if type(self).objects.filter(supersedes=current).exists():
                raise DecisionError("A decision superseding this one already exists.")
            draft = ReleaseDecision(
                snapshot=current.snapshot, framework_version=current.framework_version, reference="",
                title=current.title, scope=current.scope, scope_details=current.scope_details,
                conditions=current.conditions, rationale=current.rationale, basis=current.basis,
                decided_by=current.decided_by, supersedes=current, author=by, status=DecisionStatus.DRAFT,
            )  # fmt: skip
            draft._save_as(by, f"drafted to supersede decision {current.pk}")
            for old in current.determinations.prefetch_related("cited_evaluations"):
                determination = Determination(
                    decision=draft, category_id=old.category_id, threshold_id=old.threshold_id, verdict=old.verdict,
                    confidence=old.confidence, residual_risk=old.residual_risk, reasoning=old.reasoning,
                    safeguards=old.safeguards,
                )  # fmt: skip
                determination._history_user = by
                determination.save()
                determination.cited_evaluations.set(old.cited_evaluations.all())
            for gap in current.gap_acknowledgements.all():
                copy = GapAcknowledgement(decision=draft, category_id=gap.category_id, rationale=gap.rationale,
                                          acknowledged_by=by)  # fmt: skip
                copy._history_user = by
                copy.save()
            return draft

    @property
    def is_frozen(self) -> bool:
        return self.status in FROZEN_STATUSES

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self._refuse_change_to_frozen()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        stored = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
        if stored in FROZEN_STATUSES:
            raise ValidationError(FROZEN_MESSAGE)
        return super().delete(*args, **kwargs)

    def _refuse_change_to_frozen(self):
        """Approved → superseded is the one change an approved decision may take."""
        stored = type(self).objects.filter(pk=self.pk).first()
        if stored is None or stored.status not in FROZEN_STATUSES:
            return
        changed = [
            field.attname
            for field in self._meta.concrete_fields
            if field.attname != "status" and getattr(stored, field.attname) != getattr(self, field.attname)
        ]
        superseding = stored.status == DecisionStatus.APPROVED and self.status == DecisionStatus.SUPERSEDED
        if changed or (self.status != stored.status and not superseding):
            raise ValidationError(FROZEN_MESSAGE)


class Verdict(models.TextChoices):
    NOT_CROSSED = "not_crossed", "Not crossed"
    CANNOT_RULE_OUT = "cannot_rule_out", "Cannot rule out"
    CROSSED = "crossed", "Crossed"
    NO_THRESHOLD = "no_threshold", "No threshold in this framework version"

    @classmethod
    def needing_safeguards(cls) -> list[str]:
        return [cls.CROSSED, cls.CANNOT_RULE_OUT]


THRESHOLD_CATEGORY_MESSAGE = "The threshold belongs to another threat category than the determination."


class DecisionPart(models.Model):
    """A row that belongs to a decision and freezes with it."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        self._refuse_if_decision_frozen()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_if_decision_frozen()
        return super().delete(*args, **kwargs)

    def _refuse_if_decision_frozen(self):
        status = ReleaseDecision.objects.filter(pk=self.decision_id).values_list("status", flat=True).first()
        if status in FROZEN_STATUSES:
            raise ValidationError(FROZEN_MESSAGE)


class Determination(Sourced, DecisionPart):
    """The decision's finding for one threat category."""

    decision = models.ForeignKey(ReleaseDecision, on_delete=models.PROTECT, related_name="determinations")
    category = models.ForeignKey(ThreatCategory, on_delete=models.PROTECT, related_name="+")
    threshold = models.ForeignKey(Threshold, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    confidence = models.CharField(max_length=12, choices=Confidence.choices, default=Confidence.NOT_STATED)
    residual_risk = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)
    safeguards = models.TextField(
        blank=True, help_text="Safeguards or conditions a 'crossed' or 'cannot rule out' verdict relies on."
    )
    cited_evaluations = models.ManyToManyField(Evaluation, blank=True, related_name="determinations")

    history = HistoricalRecords(m2m_fields=[cited_evaluations])

    class Meta:
        ordering = ["decision", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "category"],
                name="determination_one_per_category",
                violation_error_message="This decision already has a determination for that category.",
            ),
            choices_check("verdict", Verdict, "determination_verdict_valid"),
            choices_check("confidence", Confidence, "determination_confidence_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.category}: {self.get_verdict_display()}"

    def clean(self):
        super().clean()
        if self.threshold_id and self.category_id and self.threshold.category_id != self.category_id:
            raise ValidationError(
                {"threshold": "The threshold belongs to another threat category than the determination."}
            )


@receiver(m2m_changed, sender=Determination.cited_evaluations.through)
def _refuse_citation_change_on_frozen_decision(sender, instance, action, reverse, **kwargs):
    if action not in {"pre_add", "pre_remove", "pre_clear"}:
        return
    if reverse:
        raise ValidationError("Change citations from the determination, not from the evaluation.")
    instance._refuse_if_decision_frozen()


class GapAcknowledgement(DecisionPart):
    """A decision's explicit acknowledgement that its framework version does not cover a category
    in which the snapshot's evaluations showed concerning capability."""

    decision = models.ForeignKey(ReleaseDecision, on_delete=models.PROTECT, related_name="gap_acknowledgements")
    category = models.ForeignKey(ThreatCategory, on_delete=models.PROTECT, related_name="+")
    rationale = models.TextField()
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["decision", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["decision", "category"],
                name="gap_acknowledgement_one_per_category",
                violation_error_message="This decision already acknowledges a gap for that category.",
            ),
            models.CheckConstraint(
                condition=~models.Q(rationale=""),
                name="gap_acknowledgement_has_rationale",
                violation_error_message="A gap acknowledgement needs a rationale.",
            ),
        ]

    def __str__(self) -> str:
        return f"Gap acknowledged: {self.category}"


class SignOffVerdict(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class SignOff(models.Model):
    """One person's approval or rejection of a decision, for one governance title they hold.

    `digest` is the SHA-256 of a canonical JSON of what was signed; if that content changes
    later, the sign-off is stale and no longer counts.
    """

    decision = models.ForeignKey(ReleaseDecision, on_delete=models.PROTECT, related_name="sign_offs")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sign_offs")
    title = models.ForeignKey(GovernanceTitle, on_delete=models.PROTECT, related_name="sign_offs")
    verdict = models.CharField(max_length=8, choices=SignOffVerdict.choices)
    comment = models.TextField(blank=True)
    digest = models.CharField(max_length=64)
    signed_content = models.JSONField(
        default=dict, help_text="The document signed (see digest.py); shows what changed when the sign-off is stale."
    )
    signed_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        ordering = ["decision", "signed_at", "id"]
        constraints = [
            choices_check("verdict", SignOffVerdict, "signoff_verdict_valid"),
            models.CheckConstraint(
                condition=models.Q(Exact(Length("digest"), 64)),
                name="signoff_digest_is_sha256",
                violation_error_message="The digest must be a SHA-256 (64 hex digits).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.signer} ({self.title}): {self.get_verdict_display()}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("A sign-off is never edited; sign again instead.")
        super().save(*args, **kwargs)
