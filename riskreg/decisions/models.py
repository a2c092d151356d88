"""Release decisions: what scope was decided for a snapshot, under which framework version, on what.

The models hold the invariants; the steps that move a decision live in lifecycle.py. Imports run
one way: models <- digest <- gate <- lifecycle <- views.

- A decision's status, provenance and author move only through the lifecycle steps; its content
  and its parts change only while it is a draft.
- An approved decision and its parts never change; the only step left to it is to be superseded.
  What it rests on (cited evaluations, their evidence) may still change: that shows as a material
  change until every required title re-affirms the new content (Affirmation, SignOff.kind).
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.urls import reverse
from simple_history.models import HistoricalRecords

from riskreg.evaluations.models import Confidence, Evaluation, Outcome, Snapshot
from riskreg.frameworks.models import FrameworkVersion, GovernanceTitle, ThreatCategory, Threshold
from riskreg.lib.dates import day, plausible
from riskreg.lib.text import no_control_characters, single_line
from riskreg.sources import Sourced, choices_check

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from .gate import ReviewState

# A decision's prose is read in full on its page and printed in its record (about six pages at this length):
# a bound keeps a page and the PDF quick to make, and no honest rationale needs more.
PROSE_LIMIT = 20_000
PROSE_LINES = 200  # each line prints as one: 20,000 one-letter lines made a 400-page record


def at_most_prose_lines(value) -> None:
    lines = len(str(value).splitlines())
    if lines > PROSE_LINES:
        raise ValidationError(
            f"At most {PROSE_LINES} lines (this has {lines}): join short lines into paragraphs.", code="too_many_lines"
        )


# Outcomes a condition may watch for, least grave first: "signal met" is met by crossed or saturated too.
WATCHED_OUTCOMES = [Outcome.SIGNAL_MET, Outcome.CROSSED, Outcome.SATURATED]

PROSE: list[Callable[[object], None]] = [MaxLengthValidator(PROSE_LIMIT), at_most_prose_lines, no_control_characters]


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


class Provenance(models.TextChoices):
    DECIDED = "decided", "Decided in riskreg"
    PUBLISHED_SOURCE = "published_source", "Recorded from a published source"


def status_words(status: str, provenance: str) -> str:
    """A decision's status in words, saying so where it was recorded from a published source, not decided here."""
    label = str(DecisionStatus(status).label) if status in DecisionStatus.values else status
    return f"{label} (recorded from a published source)" if provenance == Provenance.PUBLISHED_SOURCE else label


class DecisionError(ValidationError):
    """A lifecycle step that is not allowed; the message says why, for the person who tried."""


FROZEN_MESSAGE = "An approved decision never changes: supersede it with a new decision instead."
NOT_DRAFT_MESSAGE = "Only a draft decision changes: withdraw it to a draft first."
LIFECYCLE_MESSAGE = (
    "A decision's status and provenance change only through its lifecycle steps (submit, withdraw, sign, "
    "reject, record, supersede); its author never changes."
)

# Set by the steps in lifecycle.py, never by a form or the admin: which fields the save may move.
LIFECYCLE_FIELDS = ("status", "provenance")


class ReleaseDecision(Sourced):
    snapshot = models.ForeignKey(Snapshot, on_delete=models.PROTECT, related_name="decisions")
    framework_version = models.ForeignKey(FrameworkVersion, on_delete=models.PROTECT, related_name="decisions")
    reference = models.CharField(max_length=40, blank=True, validators=[single_line],
                                 help_text="The developer's own label, e.g. 'D7'.")
    title = models.CharField(max_length=300, validators=[single_line])
    scope = models.CharField(max_length=24, choices=Scope.choices)
    scope_details = models.TextField(blank=True, validators=PROSE, help_text="Who may use it, where, for what.")
    conditions = models.TextField(
        blank=True, validators=PROSE, help_text="Conditions and safeguards the scope depends on."
    )
    rationale = models.TextField(validators=PROSE)
    basis = models.CharField(
        max_length=300,
        blank=True,
        validators=[single_line],
        help_text="What required it, e.g. 'framework threshold' or 'discretionary; not required by the framework'.",
    )
    decided_by = models.CharField(max_length=300, blank=True, validators=[single_line],
                                  help_text="The body or role that decided.")
    effective_date = models.DateField(null=True, blank=True, validators=[plausible])
    status = models.CharField(max_length=12, choices=DecisionStatus.choices, default=DecisionStatus.DRAFT)
    provenance = models.CharField(
        max_length=16,
        choices=Provenance.choices,
        default=Provenance.DECIDED,
        help_text="Decided here through the gate, or recorded as a published source reports it (no sign-off data).",
    )
    # Not one-to-one: a superseding draft that is rejected is revised into a new draft that supersedes the
    # same decision, and a rejected one never blocks a fresh start. Which of them takes effect is settled
    # when one is approved: the decision it supersedes must still be in force then (the gate's
    # "supersession" check, and lifecycle._supersede_earlier under the earlier decision's row lock).
    supersedes = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseders",
        help_text="The approved decision this one replaces once it is approved itself.",
    )
    revises = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="revisions",
        help_text="The rejected decision this one was drafted from, to revise it.",
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords()
    # Who made the next save and why: simple_history reads them for its row (set by the steps that save)
    _history_user: "User | None"
    _change_reason: str
    review_state: "ReviewState"  # set by gate.annotate_review_states on the decisions a page lists
    _lifecycle_step: str  # set by lifecycle.py's steps only, while they save (see _refuse_change_outside_lifecycle)

    class Meta:
        ordering = ["snapshot", "effective_date", "reference", "id"]
        permissions = [("sign_releasedecision", "Can sign off release decisions for titles held")]
        constraints = [
            choices_check("scope", Scope, "decision_scope_valid"),
            choices_check("status", DecisionStatus, "decision_status_valid"),
            choices_check("provenance", Provenance, "decision_provenance_valid"),
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

    @property
    def is_frozen(self) -> bool:
        return self.status in FROZEN_STATUSES

    @property
    def is_recorded(self) -> bool:
        return self.provenance == Provenance.PUBLISHED_SOURCE

    @property
    def status_words(self) -> str:
        """The status as a report or an export states it: "Approved" alone would read as approved here."""
        return status_words(self.status, self.provenance)

    def save(self, *args, **kwargs):
        self._refuse_change_outside_lifecycle()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        stored = type(self).objects.filter(pk=self.pk).values_list("status", flat=True).first()
        if stored is not None and stored != DecisionStatus.DRAFT:
            raise ValidationError(
                FROZEN_MESSAGE if stored in FROZEN_STATUSES else "Only a draft decision can be deleted."
            )
        return super().delete(*args, **kwargs)

    def _refuse_change_outside_lifecycle(self):
        """Status, provenance and author move only through lifecycle.py; content only while a draft.

        `_lifecycle_step` is set by the steps there and by nothing else: the admin, forms and
        commands save without it, so they cannot approve, reject or re-author a decision.
        """
        stepping = getattr(self, "_lifecycle_step", None)
        if self._state.adding:
            if (self.status != DecisionStatus.DRAFT or self.provenance != Provenance.DECIDED) and not stepping:
                raise ValidationError("A decision starts as a draft; " + LIFECYCLE_MESSAGE)
            return
        stored = type(self).objects.filter(pk=self.pk).first()
        if stored is None:
            return
        if stored.author_id != self.author_id:
            raise ValidationError(LIFECYCLE_MESSAGE)
        moved = [name for name in LIFECYCLE_FIELDS if getattr(stored, name) != getattr(self, name)]
        if moved and not stepping:
            raise ValidationError(LIFECYCLE_MESSAGE)
        changed = [
            field.attname
            for field in self._meta.concrete_fields
            if field.attname not in LIFECYCLE_FIELDS and getattr(stored, field.attname) != getattr(self, field.attname)
        ]
        if changed and stored.status != DecisionStatus.DRAFT:
            raise ValidationError(FROZEN_MESSAGE if stored.is_frozen else NOT_DRAFT_MESSAGE)


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
    """A row that belongs to a decision: it changes only while that decision is a draft, and never
    moves to another decision (the stored decision is checked as well as the new one)."""

    class Meta:
        abstract = True

    # Who made the next save and why: simple_history reads them for its row (set by the steps that save)
    _history_user: "User | None"
    _change_reason: str

    def save(self, *args, **kwargs):
        self._refuse_unless_draft()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        self._refuse_unless_draft()
        return super().delete(*args, **kwargs)

    def _refuse_unless_draft(self):
        decision_ids = {self.decision_id}
        if not self._state.adding:
            stored = type(self)._default_manager.filter(pk=self.pk).values_list("decision_id", flat=True).first()
            if stored is not None and stored != self.decision_id:
                raise ValidationError("A part of a decision never moves to another decision.")
            decision_ids.add(stored)
        statuses = set(
            ReleaseDecision.objects.filter(pk__in=[pk for pk in decision_ids if pk]).values_list("status", flat=True)
        )
        if statuses & set(FROZEN_STATUSES):
            raise ValidationError(FROZEN_MESSAGE)
        if statuses - {DecisionStatus.DRAFT}:
            raise ValidationError(NOT_DRAFT_MESSAGE)


class Determination(Sourced, DecisionPart):
    """The decision's finding for one threat category."""

    decision = models.ForeignKey(ReleaseDecision, on_delete=models.PROTECT, related_name="determinations")
    category = models.ForeignKey(ThreatCategory, on_delete=models.PROTECT, related_name="+")
    threshold = models.ForeignKey(Threshold, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    confidence = models.CharField(max_length=12, choices=Confidence.choices, default=Confidence.NOT_STATED)
    residual_risk = models.TextField(blank=True, validators=PROSE)
    reasoning = models.TextField(blank=True, validators=PROSE)
    safeguards = models.TextField(
        blank=True,
        validators=PROSE,
        help_text="Safeguards or conditions a 'crossed' or 'cannot rule out' verdict relies on.",
    )
    safety_margin = models.TextField(
        blank=True,
        validators=PROSE,
        help_text="How far the results stand from the threshold, and why that margin is enough to proceed.",
    )
    cited_evaluations = models.ManyToManyField(Evaluation, blank=True, related_name="determinations")

    history = HistoricalRecords(m2m_fields=[cited_evaluations])
    cited: list[dict]  # set by digest.load_many: the cited evaluations as dicts, each with its "evidence"

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
        return f"{self.category}: {self.verdict_label}"

    @property
    def verdict_label(self) -> str:
        """The verdict in the framework's own words where it has them (RSP v3.0: 'Applicable')."""
        if self.threshold is not None:  # None without a query when no threshold is set
            term = self.threshold.verdict_term(self.verdict)
            if term:
                return term
        return self.get_verdict_display()

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
    instance._refuse_unless_draft()


class ConditionRule(models.TextChoices):
    JUDGED = "judged", "Judged by people (text only)"
    EVALUATION = "evaluation", "An evaluation of this model reaches an outcome"
    INCIDENT = "incident", "A serious incident involving this model is recorded"


class ReviewCondition(DecisionPart):
    """A reasonably foreseeable condition under which the decision's justification would no longer hold.

    Where the record can tell (an evaluation of the model reaching an outcome in a category; a serious
    incident involving the model), whether it is met is part of what the sign-offs sign (digest format
    3): once it is met, the approved decision reads "changed since signing" and asks its signers to
    re-affirm it, or to supersede it. A condition only people can judge stays text.
    """

    decision = models.ForeignKey(ReleaseDecision, on_delete=models.PROTECT, related_name="review_conditions")
    text = models.TextField("condition", validators=PROSE,
                            help_text="When would the reasons for proceeding no longer hold?")  # fmt: skip
    rule = models.CharField(max_length=12, choices=ConditionRule.choices, default=ConditionRule.JUDGED)
    category = models.ForeignKey(ThreatCategory, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                 help_text="For an evaluation rule: the category watched.")  # fmt: skip
    outcome = models.CharField(max_length=20, blank=True, choices=[(o.value, o.label) for o in WATCHED_OUTCOMES],
                               help_text="For an evaluation rule: this outcome or a graver one meets it.")  # fmt: skip

    history = HistoricalRecords()

    class Meta:
        ordering = ["decision", "id"]
        constraints = [choices_check("rule", ConditionRule, "review_condition_rule_valid")]

    def __str__(self) -> str:
        return f"Condition on {self.decision}: {self.text[:60]}"

    def clean(self):
        if self.rule == ConditionRule.EVALUATION and not (self.category_id and self.outcome):
            raise ValidationError("An evaluation rule names the category and the outcome that meets it.")
        if self.rule != ConditionRule.EVALUATION and (self.category_id or self.outcome):
            raise ValidationError("Only an evaluation rule names a category and an outcome.")


class GapAcknowledgement(DecisionPart):
    """A decision's explicit acknowledgement that its framework version does not cover a category
    in which the snapshot's evaluations showed concerning capability."""

    decision = models.ForeignKey(ReleaseDecision, on_delete=models.PROTECT, related_name="gap_acknowledgements")
    category = models.ForeignKey(ThreatCategory, on_delete=models.PROTECT, related_name="+")
    rationale = models.TextField(validators=PROSE)
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


class SignOffKind(models.TextChoices):
    SIGN = "sign", "Sign-off"
    REAFFIRM = "reaffirm", "Re-affirmation"


class SignOff(models.Model):
    """One person's approval or rejection of a decision, for one governance title they hold.

    `digest` is the SHA-256 of a canonical JSON of what was signed (`signed_content`, in the
    document format `content_version`, see digest.py); if that content changes later, the
    sign-off is stale and no longer counts. A re-affirmation is a sign-off of an approved
    decision's changed content: the original sign-offs stay, with the digests they signed.
    """

    decision = models.ForeignKey(ReleaseDecision, on_delete=models.PROTECT, related_name="sign_offs")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sign_offs")
    title = models.ForeignKey(GovernanceTitle, on_delete=models.PROTECT, related_name="sign_offs")
    kind = models.CharField(max_length=8, choices=SignOffKind.choices, default=SignOffKind.SIGN)
    verdict = models.CharField(max_length=8, choices=SignOffVerdict.choices)
    comment = models.TextField(blank=True, validators=[no_control_characters])
    digest = models.CharField(max_length=64)
    content_version = models.PositiveSmallIntegerField(
        default=2, help_text="The format of the signed document (digest.py); sign-offs before format 2 are 1."
    )
    signed_content = models.JSONField(
        default=dict, help_text="The document signed (see digest.py); shows what changed when the sign-off is stale."
    )
    signed_at = models.DateTimeField(auto_now_add=True)
    # The signer's own signature of who signs what (accounts/signer_keys.py), made with the key their
    # password opened on the confirmation page: the app's role cannot make one.
    signer_key = models.ForeignKey("accounts.SignerKey", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")  # fmt: skip
    signature = models.CharField(max_length=88, blank=True, help_text="Ed25519 signature, base64.")
    made_before_keys: bool  # set by gate.mark_made_before_keys on the sign-offs it reads

    history = HistoricalRecords()
    # Who made the next save and why: simple_history reads them for its row (set by the steps that save)
    _history_user: "User | None"
    _change_reason: str

    class Meta:
        ordering = ["decision", "signed_at", "id"]
        constraints = [
            choices_check("verdict", SignOffVerdict, "signoff_verdict_valid"),
            choices_check("kind", SignOffKind, "signoff_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(Exact(Length("digest"), 64)),
                name="signoff_digest_is_sha256",
                violation_error_message="The digest must be a SHA-256 (64 hex digits).",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="reaffirm") | models.Q(verdict="approve"),
                name="signoff_reaffirmation_approves",
                violation_error_message="A re-affirmation approves; to disagree, supersede the decision.",
            ),
        ]

    def __str__(self) -> str:
        what = "Re-affirmed" if self.kind == SignOffKind.REAFFIRM else self.get_verdict_display()
        return f"{self.signer.get_full_name() or self.signer} ({self.title}): {what}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("A sign-off is never edited; sign again instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("A sign-off is never deleted.")

    def statement(self) -> bytes:
        from riskreg.accounts.signer_keys import statement

        return statement(decision_id=self.decision_id, digest=self.digest, content_version=self.content_version,
                         title_id=self.title_id, verdict=self.verdict, kind=self.kind, signer_id=self.signer_id,
                         comment=self.comment)  # fmt: skip

    @property
    def is_signed_by_signer(self) -> bool:
        """A valid signature by a key of the signer's own (signer_key read with the sign-off)."""
        key = self.signer_key
        return bool(key is not None and self.signature and key.user_id == self.signer_id
                    and key.verifies(self.statement(), self.signature))  # fmt: skip


class AffirmationKind(models.TextChoices):
    APPROVED = "approved", "Approved through the gate"
    RECORDED = "recorded", "Recorded from a published source"
    REAFFIRMED = "reaffirmed", "Re-affirmed by every required title"


class Affirmation(models.Model):
    """What a decision stood on when it was approved, recorded, or fully re-affirmed.

    Written by lifecycle.py only, never changed: the newest one is what the decision affirms now.
    When the decision's content (its digest) differs from it, what was signed has since changed.
    """

    decision = models.ForeignKey(ReleaseDecision, on_delete=models.PROTECT, related_name="affirmations")
    kind = models.CharField(max_length=10, choices=AffirmationKind.choices)
    digest = models.CharField(max_length=64)
    content_version = models.PositiveSmallIntegerField()
    content = models.JSONField()
    affirmed_at = models.DateTimeField(auto_now_add=True)
    affirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    history = HistoricalRecords()
    # Who made the next save and why: simple_history reads them for its row (set by the steps that save)
    _history_user: "User | None"
    _change_reason: str

    class Meta:
        ordering = ["decision", "affirmed_at", "id"]
        get_latest_by = ["affirmed_at", "id"]
        constraints = [
            choices_check("kind", AffirmationKind, "affirmation_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(Exact(Length("digest"), 64)),
                name="affirmation_digest_is_sha256",
                violation_error_message="The digest must be a SHA-256 (64 hex digits).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision}: {self.get_kind_display()} {day(self.affirmed_at)}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("An affirmation is never edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("An affirmation is never deleted.")
