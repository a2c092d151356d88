"""Mail to the people a change concerns: an outbox written in the same transaction as the change.

A notification row commits with the step that caused it (a decision submitted, signed, rejected,
approved, its evidence changed after approval; a risk's review coming due), so none is lost when the
mail server is down, and none is sent for a step that rolled back. It is sent after the commit and,
when that fails, by `manage.py send_notifications` (which cron runs). Rows are tracked like every
other record: who was told what, and when it went out, is in the audit trail.
"""

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class Kind(models.TextChoices):
    SUBMITTED = "submitted", "Decision submitted: your sign-off is asked"
    SIGNED = "signed", "Decision signed"
    REJECTED = "rejected", "Decision rejected"
    APPROVED = "approved", "Decision approved"
    CHANGED = "changed", "Approved decision changed since signing"
    REVIEW_DUE = "review_due", "Risk review due"
    INCIDENT_DUE = "incident_due", "Incident report due"


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications")
    address = models.EmailField(help_text="The address the mail goes to, as it was when the notification was made.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=200, unique=True, help_text="What makes it one notification: never twice.")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=500, help_text="Where the task is done.")
    decision = models.ForeignKey("decisions.ReleaseDecision", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")  # fmt: skip
    risk = models.ForeignKey("risks.Risk", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(
        null=True, blank=True,
        help_text="A sender claimed it and is sending it; no other sender takes it before this time.",
    )
    last_error = models.CharField(max_length=500, blank=True)

    history = HistoricalRecords()
    # Who made the next save and why: simple_history reads them for its row (set by the steps that save)
    _history_user: "User | None"
    _change_reason: str

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["sent_at", "attempts"], name="notification_pending")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.address}"


class MailPreference(models.Model):
    """A user's choice to receive mail; without a row, they do (opt-out, on the settings page)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mail_preference")
    send_mail = models.BooleanField(default=True, help_text="Send me mail about tasks and decisions that concern me.")

    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.user}: {'mail' if self.send_mail else 'no mail'}"
