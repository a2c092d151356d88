"""Every tracked model, through the write paths the app has, leaves exactly one history row and one
audit event per write, with the acting user."""

import pytest
from django.apps import apps
from django.utils import timezone

import factories as make
from riskreg.accounts import signer_keys
from riskreg.accounts.models import ApiToken, SignerKey
from riskreg.audit.chain import verify_database
from riskreg.audit.models import AuditEvent
from riskreg.decisions.models import (
    Affirmation,
    DecisionStatus,
    GapAcknowledgement,
    ReleaseDecision,
    ReviewCondition,
    SignOff,
)
from riskreg.evaluations.models import Evaluation, Evidence, ImportedRun
from riskreg.filings.models import Filing, Incident, IncidentReport
from riskreg.frameworks.models import GovernanceTitle
from riskreg.notifications.models import MailPreference, Notification
from test_demo_data import tracked_models

pytestmark = pytest.mark.django_db


def _draft():
    return ReleaseDecision.objects.get(reference="GA-DRAFT")


def _resave(model):
    """Change an editable record of `model` through save()."""

    def write(user):
        queryset = model.objects.all()
        if model is ReleaseDecision:
            queryset = queryset.filter(status=DecisionStatus.DRAFT)
        elif hasattr(model, "decision"):
            queryset = queryset.filter(decision__status=DecisionStatus.DRAFT)
        obj = queryset.order_by("pk").first()
        obj._history_user = user
        obj._change_reason = "resaved by the test"  # an evaluation may be cited by a decision beyond a draft
        obj.save()
        return obj

    return write


# Records that are never edited are written by adding a new one.
NEW_RECORD = {
    ImportedRun: lambda user: _new(ImportedRun(
        evaluation=Evaluation.objects.filter(imported_run__isnull=True).first(), eval_id="e1", task="t",
        status="success", log_version=2, file_name="log.json", file_sha256="0" * 64, imported_by=user,
    ), user),
    ApiToken: lambda user: ApiToken.issue(user, "release pipeline")[0],
    SignerKey: lambda user: signer_keys.enrol(user, "a long passphrase", by=user),
    Evidence: lambda user: _new(Evidence(
        evaluation=_draft().determinations.first().cited_evaluations.first(),
        kind="note", title="A correction", note="Corrected figure.", added_by=user,
    ), user, reason="Corrected figure from the card."),
    SignOff: lambda user: _new(SignOff(
        decision=_draft(), signer=user, title=GovernanceTitle.objects.get(name="CEO"), verdict="reject",
        comment="Not yet.", digest="a" * 64,
    ), user),
    Affirmation: lambda user: _new(Affirmation(
        decision=_draft(), kind="approved", digest="b" * 64, content_version=2, content={}, affirmed_by=user,
    ), user),
    GapAcknowledgement: lambda user: _new(GapAcknowledgement(
        decision=_draft(), category=_draft().determinations.get(category__slug="cyber").category,
        rationale="Covered by access limits.", acknowledged_by=user,
    ), user),
    Notification: lambda user: _new(Notification(
        recipient=user, address="writer@example.org", kind="submitted", key="test:1", subject="s", body="b",
        link="/",
    ), user),
    MailPreference: lambda user: _new(MailPreference(user=user, send_mail=False), user),
    ReviewCondition: lambda user: _new(ReviewCondition(decision=_draft(), text="A new cyber result.", rule="judged"),
                                       user),
    Filing: lambda user: _new(Filing(decision=ReleaseDecision.objects.get(reference="D8"), kind="model_report",
                                     version=9, changelog="c", content={}, published={}, issued_by=user), user),
    IncidentReport: lambda user: _new(IncidentReport(
        incident=Incident.objects.first(), regime="eu", kind="initial", sent_at=timezone.now(), sent_to="AI Office",
        content="What was sent.", sent_by=user,
    ), user),
}  # fmt: skip


def _new(obj, user, reason=""):
    obj._history_user = user
    obj._change_reason = reason
    obj.save()
    return obj


@pytest.mark.parametrize("model", tracked_models(), ids=lambda model: model._meta.label)
def test_one_write_leaves_one_history_row_and_one_event_with_the_user(demo, model):
    user = make.user("writer")
    history_before = model.history.count()
    events_before = AuditEvent.objects.count()
    write = NEW_RECORD.get(model) or _resave(model)

    obj = write(user)

    assert model.history.count() == history_before + 1
    assert AuditEvent.objects.count() == events_before + 1
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.model, event.object_id, event.username) == (model._meta.label, str(obj.pk), "writer")
    assert obj.history.first().history_user == user
    assert verify_database().ok


def test_the_list_of_tracked_models_is_the_whole_domain():
    labels = {model._meta.label for model in tracked_models()}
    assert labels == {
        model._meta.label for model in apps.get_models() if hasattr(model._meta, "simple_history_manager_attribute")
    }
    assert len(labels) == 28  # issue 19: review conditions, incidents, reports sent, crosswalk entries, filings;
    # issue 27: groups, signing keys
