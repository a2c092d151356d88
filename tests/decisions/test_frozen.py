"""An approved decision and its determinations never change; it can only be superseded."""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

import factories as make
from riskreg.decisions import lifecycle
from riskreg.decisions.models import DecisionStatus, GapAcknowledgement

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved():
    decision = make.decision()
    determination = make.determination(decision)
    determination.cited_evaluations.add(make.evaluation(snap=decision.snapshot, cat=determination.category))
    return make.approve(decision)


def test_it_refuses_any_edit_of_an_approved_decision(approved):
    approved.rationale = "Rewritten after the fact"
    with pytest.raises(ValidationError, match="never changes"):
        approved.save()
    approved.refresh_from_db()
    assert approved.rationale == "Because."


def test_it_refuses_moving_an_approved_decision_back_to_draft(approved):
    approved.status = DecisionStatus.DRAFT
    with pytest.raises(ValidationError):
        approved.save()


def test_it_refuses_deleting_an_approved_decision(approved):
    with pytest.raises(ValidationError):
        approved.delete()


def test_it_refuses_superseding_outside_the_lifecycle(approved):
    approved.status = DecisionStatus.SUPERSEDED
    with pytest.raises(ValidationError, match="lifecycle"):
        approved.save()


def test_approving_the_decision_that_supersedes_it_marks_it_superseded(approved):
    later = lifecycle.supersede(approved, by=make.user())
    make.approve(later)
    approved.refresh_from_db()
    assert approved.status == DecisionStatus.SUPERSEDED
    assert approved.history.first().status == DecisionStatus.SUPERSEDED


def test_it_refuses_changes_to_the_determinations_of_an_approved_decision(approved):
    determination = approved.determinations.get()
    determination.verdict = "crossed"
    with pytest.raises(ValidationError):
        determination.save()
    with pytest.raises(ValidationError):
        determination.delete()
    with pytest.raises(ValidationError):
        make.determination(approved)
    # m2m changes run inside an atomic block without a savepoint: a refusal there spoils the
    # surrounding transaction, as it should in a request, so the test gives it its own.
    with pytest.raises(ValidationError), transaction.atomic():
        determination.cited_evaluations.clear()
    with pytest.raises(ValidationError):
        GapAcknowledgement.objects.create(
            decision=approved, category=make.category(), rationale="late", acknowledged_by=make.user()
        )
    determination.refresh_from_db()
    assert determination.verdict == "not_crossed"
    assert determination.cited_evaluations.count() == 1


def test_a_draft_stays_editable():
    decision = make.decision()
    decision.rationale = "Better reasons"
    decision.save()
    determination = make.determination(decision)
    determination.verdict = "crossed"
    determination.save()
    assert decision.history.count() == 2
