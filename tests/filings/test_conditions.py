"""Issue 19: reasons for proceeding — safety margins, and conditions that mark a decision for re-review
through the material-change path when the record meets them (digest format 3)."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

import factories as make
from riskreg import mywork
from riskreg.decisions import digest, lifecycle
from riskreg.decisions.gate import gate, review_states
from riskreg.decisions.models import ReleaseDecision, ReviewCondition, SignOff
from riskreg.evaluations.models import AIModel
from riskreg.filings.models import Incident
from riskreg.frameworks.models import GovernanceTitle
from riskreg.notifications.models import Notification

pytestmark = pytest.mark.django_db


def _illus():
    return ReleaseDecision.objects.get(reference="ILLUS-1")


def _record_incident(kinds, by):
    incident = Incident(title="Weights copied out", statement="A copy of the weights left the cluster.", kinds=kinds,
                        jurisdictions=[] if kinds == ["near_miss"] else ["eu"], model=AIModel.objects.get(),
                        aware_at=None if kinds == ["near_miss"] else "2026-11-20T10:00:00Z",
                        recorded_by=by)  # fmt: skip
    with transaction.atomic():
        incident._history_user = by
        incident.save()
    return incident


def test_an_incident_meets_the_condition_and_the_approved_decision_asks_for_re_affirmation(demo, compliance):
    decision = _illus()
    [rule] = [c for c in decision.review_conditions.all() if c.rule == "incident"]
    sign_offs = SignOff.objects.filter(decision=decision).select_related("title", "signer")
    signers = {s.title.name: s.signer for s in sign_offs}
    for signer in signers.values():  # the demo's placeholder signers, made real people with mail for the test
        with transaction.atomic():
            signer.is_active, signer.email = True, f"{signer.username}@example.org"
            signer.groups.add(Group.objects.get(name="approver"))
            signer.save()
    assert gate(decision).material_change is None
    _record_incident(["near_miss"], compliance)  # a near miss is not a serious incident
    assert gate(decision).material_change is None

    incident = _record_incident(["cyber_breach"], compliance)
    report = gate(decision)
    assert report.material_change is not None and not report.release_allowed
    words = " ".join(change.text for change in report.material_change.changes)
    assert f"now met by incident {incident.reference} 'Weights copied out'" in words
    assert review_states([decision])[decision.pk].label.endswith("changed since signing")
    assert decision.status == "approved" and ReviewCondition.objects.get(pk=rule.pk).text == rule.text  # unchanged

    # Its signers are told by mail, once, and asked on My work to re-affirm (or to supersede); re-affirmed,
    # it is settled.
    told = Notification.objects.filter(decision=decision, kind="changed")
    assert {n.recipient_id for n in told} == {s.pk for s in signers.values()}
    assert "condition for re-review" in told.first().body
    for name, signer in signers.items():
        signer = type(signer).objects.get(pk=signer.pk)
        assert any(t.link.startswith(decision.get_absolute_url()) for t in mywork.to_reaffirm(signer)), name
        lifecycle.reaffirm(decision, by=signer, title=GovernanceTitle.objects.get(name=name))
    assert gate(decision).material_change is None
    assert not review_states([decision])[decision.pk].changed


def test_an_evaluation_rule_is_met_by_a_graver_outcome_of_any_snapshot(demo, evaluator):
    draft = ReleaseDecision.objects.get(reference="GA-DRAFT")
    cyber = draft.determinations.get(category__slug="cyber").category
    condition = ReviewCondition(decision=draft, text="A cyber evaluation reaches crossed.", rule="evaluation",
                                category=cyber, outcome="crossed")  # fmt: skip
    condition.full_clean()
    with transaction.atomic():
        condition._history_user = evaluator
        condition.save()
    before = digest.decision_digest(draft)
    [row] = [r for r in digest.load(draft.pk).conditions if r["id"] == condition.pk]
    already = list(row["met_by"])
    early = draft.snapshot.model.snapshots.exclude(pk=draft.snapshot_id).first()
    signal = make.evaluation(snap=early, cat=cyber, outcome="signal_met")
    assert digest.decision_digest(draft) == before  # signal met is below "crossed"
    saturated = make.evaluation(snap=early, cat=cyber, outcome="saturated")
    [row] = [r for r in digest.load(draft.pk).conditions if r["id"] == condition.pk]
    assert row["met_by"] == already + [f"E{saturated.pk}"] and f"E{signal.pk}" not in row["met_by"]
    assert digest.decision_digest(draft) != before


def test_a_condition_names_category_and_outcome_only_for_an_evaluation_rule(demo):
    draft = ReleaseDecision.objects.get(reference="GA-DRAFT")
    with pytest.raises(Exception, match="names the category and the outcome"):
        ReviewCondition(decision=draft, text="x", rule="evaluation").full_clean()
    cyber = draft.determinations.get(category__slug="cyber").category
    with pytest.raises(Exception, match="Only an evaluation rule"):
        ReviewCondition(decision=draft, text="x", rule="incident", category=cyber).full_clean()


def test_conditions_are_parts_of_a_draft_only(demo, evaluator):
    decision = _illus()
    condition = decision.review_conditions.first()
    condition.text = "rewritten after approval"
    with pytest.raises(ValidationError), transaction.atomic():
        condition._history_user = evaluator
        condition.save()
    assert ReviewCondition.objects.get(pk=condition.pk).text != "rewritten after approval"


def test_an_evaluator_adds_a_condition_and_a_safety_margin_on_a_draft(demo, client, evaluator):
    draft = ReleaseDecision.objects.get(reference="GA-DRAFT")
    client.force_login(evaluator)
    response = client.post(reverse("decisions:condition-add", args=[draft.pk]),
                           {"text": "Any serious incident.", "rule": "incident"})  # fmt: skip
    assert response.status_code == 302
    page = client.get(draft.get_absolute_url()).content.decode()
    assert "Any serious incident." in page and "A serious incident involving this model is recorded" in page
    response = client.post(reverse("decisions:condition-add", args=[draft.pk]), {"text": "x", "rule": "evaluation"})
    assert response.status_code == 200 and "names the category" in response.content.decode()
    determination = draft.determinations.first()
    assert "safety_margin" in client.get(reverse("decisions:determination-edit",
                                                 args=[draft.pk, determination.pk])).context["form"].fields


def test_the_model_report_lists_conditions_and_their_state(demo, client, viewer, compliance):
    client.force_login(viewer)
    url = reverse("filings:model-report", args=[_illus().pk])
    items = {i["label"]: i for s in client.get(url, {"format": "json"}).json()["sections"] for i in s["items"]}
    lines = items["Conditions under which the justification would no longer hold"]["lines"]
    assert len(lines) == 2 and not any("MET" in line for line in lines)
    _record_incident(["death"], compliance)
    items = {i["label"]: i for s in client.get(url, {"format": "json"}).json()["sections"] for i in s["items"]}
    assert any("MET by incident" in line for line in items["Conditions under which the justification would no "
                                                             "longer hold"]["lines"])  # fmt: skip
    assert items["Changed since the decision was signed"]["lines"]
