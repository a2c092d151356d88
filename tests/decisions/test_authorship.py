"""Who wrote a decision (issue 27, finding 1): every part a signature covers makes its writer an author.

The red team wrote a decision's conditions for re-review — which the signed document holds — and then
signed the decision themselves, because authorship was read from a list of parts that had forgotten the
conditions. The author set is now read from the digest's own list of parts (digest.PARTS).
"""

import pytest
from django.contrib.auth.models import Group
from django.db import models
from django.urls import reverse

import factories as make
from riskreg.decisions import lifecycle
from riskreg.decisions.digest import EXCLUDED, MODELS, PARTS
from riskreg.decisions.gate import authors_of
from riskreg.decisions.models import (
    DecisionError,
    DecisionPart,
    Determination,
    GapAcknowledgement,
    ReleaseDecision,
    ReviewCondition,
)
from riskreg.frameworks.models import GovernanceTitle

pytestmark = pytest.mark.django_db


def _write_determination(decision, by):
    part = Determination(decision=decision, category=make.category(), verdict="not_crossed")
    part._history_user = by
    part.save()


def _write_gap(decision, by):
    part = GapAcknowledgement(decision=decision, category=make.category(), rationale="Outside the framework.",
                              acknowledged_by=make.user())  # fmt: skip
    part._history_user = by
    part.save()


def _write_condition(decision, by):
    part = ReviewCondition(decision=decision, text="Re-review if a partner reports misuse.", rule="judged")
    part._history_user = by
    part.save()


# One writer per part of the signed document. A part added to digest.PARTS without a writer here fails
# test_every_part_of_the_document_has_a_writer_here, so its authorship is tested too.
WRITERS = {"determination": _write_determination, "gap": _write_gap, "condition": _write_condition}


def test_the_parts_are_every_model_that_sits_inside_a_decision():
    """Every model that keeps rows inside a decision (a DecisionPart, or anything with a foreign key to the
    decision that the digest covers) is a part, so nobody can add one the author set forgets."""
    part_classes = {model for model in PARTS.values()}
    assert set(DecisionPart.__subclasses__()) <= part_classes
    for key, model in MODELS.items():
        holds_decision = any(
            isinstance(f, models.ForeignKey) and f.related_model is ReleaseDecision and f.name == "decision"
            for f in model._meta.concrete_fields
        )
        assert holds_decision == (key in PARTS), key
    assert "condition" in PARTS and "decision_id" in EXCLUDED["condition"]


def test_every_part_of_the_document_has_a_writer_here():
    assert set(WRITERS) == set(PARTS)


@pytest.mark.parametrize("part", sorted(PARTS))
def test_whoever_writes_any_part_is_an_author(part):
    decision = make.decision()
    writer = make.user()
    assert writer.pk not in authors_of(decision)
    WRITERS[part](decision, writer)
    assert writer.pk in authors_of(decision)


@pytest.fixture
def title_holders():
    ceo, rso = GovernanceTitle.objects.create(name="CEO"), GovernanceTitle.objects.create(name="RSO")
    version = make.framework_version()
    version.required_titles.set([ceo, rso])
    evaluator, approver = Group.objects.get(name="evaluator"), Group.objects.get(name="approver")
    evalapp = make.user("evalapp")  # set_user evalapp --role evaluator --role approver --title RSO
    evalapp.groups.add(evaluator, approver)
    rso.holders.add(evalapp)
    second = make.user("approver2")
    second.groups.add(approver)
    ceo.holders.add(second)
    writer = make.user("writer")
    writer.groups.add(evaluator)
    decision = make.decision(version=version, author=writer)
    determination = make.determination(decision, reasoning="r")
    determination.cited_evaluations.add(make.evaluation(snap=decision.snapshot, cat=determination.category))
    return decision, evalapp, second, ceo, rso


def _try_to_sign(decision, evalapp, second, ceo, rso):
    lifecycle.submit(decision, by=decision.author)
    lifecycle.sign(decision, by=second, title=ceo, verdict="approve")
    with pytest.raises(DecisionError, match="You wrote this decision"):
        lifecycle.sign(decision, by=evalapp, title=rso, verdict="approve")
    decision.refresh_from_db()
    assert decision.status == "in_review"


def test_an_approver_who_added_a_condition_cannot_sign(client, title_holders):
    """The red team's path: add a condition for re-review through the page, then sign as RSO."""
    decision, evalapp, *rest = title_holders
    client.force_login(evalapp)
    response = client.post(reverse("decisions:condition-add", args=[decision.pk]),
                           {"text": "Re-review if a partner reports misuse.", "rule": "judged"})  # fmt: skip
    assert response.status_code == 302 and decision.review_conditions.count() == 1
    assert evalapp.pk in authors_of(decision)
    _try_to_sign(decision, evalapp, *rest)


def test_an_approver_who_edited_a_condition_cannot_sign(client, title_holders):
    decision, evalapp, *rest = title_holders
    condition = ReviewCondition(decision=decision, text="Re-review after a month.", rule="judged")
    condition._history_user = decision.author
    condition.save()
    client.force_login(evalapp)
    url = reverse("decisions:condition-edit", args=[decision.pk, condition.pk])
    form = client.get(url).context["form"]
    data = {**{name: value for name, value in form.initial.items() if value is not None},
            "text": "Re-review after a week.", "rule": "judged"}  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    condition.refresh_from_db()
    assert condition.text == "Re-review after a week."
    _try_to_sign(decision, evalapp, *rest)
