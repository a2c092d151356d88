"""The risk register: what could go wrong, how likely and how bad, before and after treatment."""

import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from riskreg.evaluations.models import Confidence, Evaluation
from riskreg.frameworks.models import ThreatCategory
from riskreg.lib.dates import plausible
from riskreg.lib.text import no_control_characters, single_line
from riskreg.sources import Sourced, choices_check

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class Score(models.IntegerChoices):
    """The one scale of the four risk scores (likelihood and impact, inherent and residual), 1 to 5: the forms,
    the filters, the heat maps and the CHECK constraints read it. Not set as the model fields' choices, so
    an out-of-range score is refused with the constraint's message, which names the score."""

    ONE = 1, "1"
    TWO = 2, "2"
    THREE = 3, "3"
    FOUR = 4, "4"
    FIVE = 5, "5"


SCALE = Score.values  # likelihood and impact are scored 1 (lowest) to 5 (highest)
SCORE_HELP = "1 (lowest) to 5 (highest)."


class Treatment(models.TextChoices):
    MITIGATE = "mitigate", "Mitigate"
    ACCEPT = "accept", "Accept"
    AVOID = "avoid", "Avoid"
    TRANSFER = "transfer", "Transfer"


class RiskStatus(models.TextChoices):
    OPEN = "open", "Open"
    MONITORING = "monitoring", "Monitoring"
    CLOSED = "closed", "Closed"


def is_overdue(next_review, status, today) -> bool:
    """A review date passed on a risk still open."""
    return bool(next_review) and status != RiskStatus.CLOSED and next_review < today


def _scale_check(field: str) -> models.CheckConstraint:
    label = field.replace("_", " ")
    return models.CheckConstraint(
        condition=models.Q(**{f"{field}__gte": min(Score.values), f"{field}__lte": max(Score.values)}),
        name=f"risk_{field}_1_to_5",
        violation_error_message=f"The {label} is scored from 1 to 5.",
    )


class Risk(Sourced):
    code = models.CharField(max_length=20, unique=True, validators=[single_line],
                            help_text="Register reference, e.g. 'R17'.")
    title = models.CharField(max_length=300, validators=[single_line])
    category = models.ForeignKey(
        ThreatCategory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="risks",
        help_text="Leave empty for a cross-cutting (governance) risk.",
    )
    description = models.TextField(validators=[no_control_characters])
    inherent_likelihood = models.PositiveSmallIntegerField(help_text=SCORE_HELP)  # a Score
    inherent_impact = models.PositiveSmallIntegerField(help_text=SCORE_HELP)  # a Score
    residual_likelihood = models.PositiveSmallIntegerField(help_text=SCORE_HELP)  # a Score
    residual_impact = models.PositiveSmallIntegerField(help_text=SCORE_HELP)  # a Score
    treatment = models.CharField(max_length=10, choices=Treatment.choices, default=Treatment.MITIGATE)
    mitigations = models.TextField(blank=True, validators=[no_control_characters])
    owner = models.CharField(
        max_length=200, blank=True, validators=[single_line],
        help_text="Accountable person or team, as free text (a team, or someone without an account).",
    )  # fmt: skip
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="owned_risks",
        verbose_name="owner (user)", help_text="The user accountable for it: its reviews appear in their My work.",
    )  # fmt: skip
    status = models.CharField(max_length=12, choices=RiskStatus.choices, default=RiskStatus.OPEN)
    next_review = models.DateField(null=True, blank=True, validators=[plausible])
    review_interval_days = models.PositiveIntegerField(
        "review every (days)", null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="After each review, the next one is due this many days later (at most 3,650: ten years).",
    )  # fmt: skip
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    last_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confidence = models.CharField(max_length=12, choices=Confidence.choices, default=Confidence.NOT_STATED)
    evaluations = models.ManyToManyField(Evaluation, blank=True, related_name="risks")

    history = HistoricalRecords(m2m_fields=[evaluations])
    # Who made the next save and why: simple_history reads them for its row (set by the steps that save)
    _history_user: "User | None"
    _change_reason: str

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(owner="") | models.Q(owner_user__isnull=False),
                name="risk_has_owner",
                violation_error_message="Name the owner: a user, or a person or team as text.",
            ),
            _scale_check("inherent_likelihood"),
            _scale_check("inherent_impact"),
            _scale_check("residual_likelihood"),
            _scale_check("residual_impact"),
            choices_check("treatment", Treatment, "risk_treatment_valid"),
            choices_check("status", RiskStatus, "risk_status_valid"),
            choices_check("confidence", Confidence, "risk_confidence_valid"),
        ]

    def clean(self):
        super().clean()
        if not self.owner.strip() and not self.owner_user_id:
            raise ValidationError({"owner": "Name the owner: a user, or a person or team as text."})

    @property
    def is_overdue(self) -> bool:
        return is_overdue(self.next_review, self.status, timezone.localdate())

    @property
    def owner_label(self) -> str:
        user = self.owner_user  # None without a query when no user is set
        if user is not None:
            return user.get_full_name() or user.get_username()
        return self.owner

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    def get_absolute_url(self):
        return reverse("risks:detail", args=[self.pk])

    @property
    def inherent_score(self) -> int:
        return self.inherent_likelihood * self.inherent_impact

    @property
    def residual_score(self) -> int:
        return self.residual_likelihood * self.residual_impact


def owner_label(owner: str, user_id, first: str, last: str, username: str) -> str:
    """Risk.owner_label from a row's values: the owning user's full name (or username), else the text."""
    if user_id is None:
        return owner
    return f"{first} {last}".strip() or username


def may_review(risk, user) -> bool:
    """Who may record a review of the risk: its owner (as a user), or anyone who may change risks.

    The one place this rule lives: the review itself, its page's button and the view all ask here.
    """
    if not user.is_authenticated:
        return False
    return (risk.owner_user_id is not None and risk.owner_user_id == user.pk) or user.has_perm("risks.change_risk")


def review(risk, by, note: str = "") -> None:
    """Record a review of the risk: who and when (in its history, with the note as the reason), and the
    next review date moved on by the risk's interval.

    Without an interval, a date that has come (or passed) is cleared rather than left overdue right after
    the review: no next review is scheduled until someone sets an interval or a date. A date still ahead,
    set by hand, stays. A closed risk is not reviewed (ValidationError, nothing written).
    """
    with transaction.atomic():
        # Locked, and checked on the locked row: the owner or the status may have changed since the page.
        current = Risk.objects.select_for_update().get(pk=risk.pk)
        if not may_review(current, by):
            raise PermissionDenied(f"Only the owner of {current.code}, or a user who may change risks, may review it.")
        if current.status == RiskStatus.CLOSED:
            raise ValidationError(f"{current.code} is closed: a closed risk is not reviewed. Nothing was recorded.")
        today = timezone.localdate()
        current.last_reviewed_at = timezone.now()
        current.last_reviewed_by = by
        if current.review_interval_days:
            # An interval stored before it was bounded is read as at most ten years (no overflow, no year 4764).
            days = min(current.review_interval_days, 3650)
            current.next_review = today + datetime.timedelta(days=days)
        elif current.next_review and current.next_review <= today:
            current.next_review = None
        current._history_user = by
        current._change_reason = ("reviewed" + (f": {note}" if note else ""))[:100]
        current.save()
    risk.refresh_from_db()
