"""Invariants of the domain, held by the database and explained by model validation.

Each case builds one invalid record and checks two doors: full_clean() refuses it with a message
a person understands, and saving it straight to the database (skipping validation) is refused
by the database itself. The suite runs on SQLite and on PostgreSQL.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

import factories as make
from riskreg.decisions.models import (
    Determination,
    GapAcknowledgement,
    SignOff,
)
from riskreg.evaluations.models import Evaluation, Evidence
from riskreg.frameworks.models import Coverage, GovernanceTitle
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db


def refused_by_validation(obj, message):
    with pytest.raises(ValidationError) as caught:
        obj.full_clean()
    assert message in " ".join(caught.value.messages)


def refused_by_database(obj, name_or_message):
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        obj.save()
    assert name_or_message in str(caught.value)


def new_risk(**overrides):
    values = dict(
        code="R-T",
        title="t",
        description="d",
        owner="team",
        inherent_likelihood=3,
        inherent_impact=3,
        residual_likelihood=2,
        residual_impact=2,
    )
    values.update(overrides)
    return Risk(**values)


@pytest.mark.parametrize("field", ["inherent_likelihood", "inherent_impact", "residual_likelihood", "residual_impact"])
@pytest.mark.parametrize("value", [0, 6])
def test_it_scores_likelihood_and_impact_from_1_to_5(field, value):
    risk = new_risk(**{field: value})
    label = field.replace("_", " ")
    refused_by_validation(risk, f"The {label} is scored from 1 to 5.")
    refused_by_database(risk, f"risk_{field}_1_to_5")
    assert not Risk.objects.exists()


def test_it_accepts_the_ends_of_the_scale():
    new_risk(inherent_likelihood=1, inherent_impact=5, residual_likelihood=5, residual_impact=1).save()
    assert Risk.objects.count() == 1


def test_it_keeps_an_evaluations_threshold_in_its_category():
    other_category = make.category()
    threshold = make.threshold()
    evaluation = Evaluation(
        snapshot=make.snapshot(),
        category=other_category,
        threshold=threshold,
        title="t",
        kind="survey",
        run_by="lab",
        finding="f",
        source_section="2.1",
        recorded_by=make.user(),
    )
    message = "The threshold belongs to another threat category than the evaluation."
    refused_by_validation(evaluation, message)
    # The trigger carries the same message, so whatever door a bad row comes through says why.
    refused_by_database(evaluation, message)
    assert not Evaluation.objects.exists()


def test_it_refuses_moving_an_evaluation_to_another_category_than_its_threshold():
    threshold = make.threshold()
    evaluation = make.evaluation(cat=threshold.category, threshold=threshold)
    evaluation.category = make.category()
    refused_by_database(evaluation, "The threshold belongs to another threat category than the evaluation.")
    evaluation.refresh_from_db()
    assert evaluation.category_id == threshold.category_id


def test_it_accepts_a_threshold_of_the_same_category():
    threshold = make.threshold()
    evaluation = make.evaluation(cat=threshold.category, threshold=threshold)
    evaluation.full_clean()
    assert evaluation.threshold == threshold


def test_it_keeps_a_determinations_threshold_in_its_category():
    determination = Determination(
        decision=make.decision(), category=make.category(), threshold=make.threshold(), verdict="crossed"
    )
    message = "The threshold belongs to another threat category than the determination."
    refused_by_validation(determination, message)
    refused_by_database(determination, message)


def test_it_allows_one_determination_per_category_per_decision():
    decision = make.decision()
    first = make.determination(decision)
    second = Determination(decision=decision, category=first.category, verdict="crossed")
    refused_by_validation(second, "This decision already has a determination for that category.")
    refused_by_database(second, "determination")
    assert decision.determinations.count() == 1


def test_it_states_coverage_once_per_version_and_category():
    version, category = make.framework_version(), make.category()
    Coverage.objects.create(framework_version=version, category=category, level="formal")
    duplicate = Coverage(framework_version=version, category=category, level="none")
    refused_by_validation(duplicate, "This framework version already states its coverage of that category.")
    refused_by_database(duplicate, "coverage")


def test_it_keeps_coverage_to_formal_partial_or_none():
    coverage = Coverage(framework_version=make.framework_version(), category=make.category(), level="maybe")
    refused_by_validation(coverage, "Value 'maybe' is not a valid choice.")
    refused_by_database(coverage, "coverage_level_valid")


def test_it_needs_a_section_for_every_evaluation():
    evaluation = Evaluation(
        snapshot=make.snapshot(),
        category=make.category(),
        title="t",
        kind="survey",
        run_by="lab",
        finding="f",
        source_section="",
        recorded_by=make.user(),
    )
    refused_by_validation(evaluation, "Give the section of the system card")
    refused_by_database(evaluation, "evaluation_has_section")


def test_it_refuses_an_evaluation_that_finishes_before_it_starts():
    import datetime

    evaluation = Evaluation(
        snapshot=make.snapshot(),
        category=make.category(),
        title="t",
        kind="survey",
        run_by="lab",
        finding="f",
        source_section="1",
        recorded_by=make.user(),
        started_on=datetime.date(2026, 3, 2),
        finished_on=datetime.date(2026, 3, 1),
    )
    refused_by_validation(evaluation, "An evaluation cannot finish before it starts.")
    refused_by_database(evaluation, "evaluation_dates_ordered")


def test_it_refuses_an_unknown_outcome():
    evaluation = Evaluation(
        snapshot=make.snapshot(),
        category=make.category(),
        title="t",
        kind="survey",
        run_by="lab",
        finding="f",
        source_section="1",
        recorded_by=make.user(),
        outcome="passed",
    )
    refused_by_validation(evaluation, "Value 'passed' is not a valid choice.")
    refused_by_database(evaluation, "evaluation_outcome_valid")


@pytest.mark.parametrize(
    "comparisons, message",
    [
        ({"subject": "x"}, "Comparisons must be a list"),
        ([{"value": 1}], "needs a subject"),
        ([{"subject": "Opus", "value": "high"}], "needs a finite number"),
        ([{"subject": "Opus", "value": float("nan")}], "needs a finite number"),
        ([{"subject": "Opus", "value": 1, "colour": "red"}], "unknown keys: colour"),
    ],
)
def test_it_validates_comparison_values(comparisons, message):
    evaluation = Evaluation(
        snapshot=make.snapshot(),
        category=make.category(),
        title="t",
        kind="survey",
        run_by="lab",
        finding="f",
        source_section="1",
        recorded_by=make.user(),
        comparisons=comparisons,
    )
    refused_by_validation(evaluation, message)


def test_it_refuses_a_non_finite_score():
    evaluation = Evaluation(
        snapshot=make.snapshot(),
        category=make.category(),
        title="t",
        kind="survey",
        run_by="lab",
        finding="f",
        source_section="1",
        recorded_by=make.user(),
        score=float("inf"),
    )
    refused_by_validation(evaluation, "Enter a finite number")


@pytest.mark.parametrize(
    "fields, message, constraint",
    [
        ({"kind": "file"}, "A file piece needs its file, its size and its SHA-256.", "evidence_file_has_hash"),
        ({"kind": "link"}, "A link piece needs its URL.", "evidence_link_has_url"),
        ({"kind": "note"}, "A note piece needs its text.", "evidence_note_has_text"),
        ({"kind": "memo", "note": "x"}, "Value 'memo' is not a valid choice.", "evidence_kind_valid"),
    ],
)
def test_it_needs_the_content_of_each_kind_of_evidence(fields, message, constraint):
    piece = Evidence(evaluation=make.evaluation(), title="t", added_by=make.user(), **fields)
    refused_by_validation(piece, message)
    refused_by_database(piece, constraint)
    assert not Evidence.objects.exists()


def test_it_never_edits_evidence_in_place():
    piece = Evidence.objects.create(
        evaluation=make.evaluation(), kind="note", title="t", note="first", added_by=make.user()
    )
    piece.note = "rewritten"
    with pytest.raises(ValidationError, match="never edited"):
        piece.save()
    piece.refresh_from_db()
    assert piece.note == "first"


def test_it_needs_a_rationale_to_acknowledge_a_gap():
    gap = GapAcknowledgement(
        decision=make.decision(), category=make.category(), rationale="", acknowledged_by=make.user()
    )
    refused_by_validation(gap, "This field cannot be blank.")
    refused_by_database(gap, "gap_acknowledgement_has_rationale")


def test_it_stores_a_sha256_digest_on_each_sign_off():
    title = GovernanceTitle.objects.create(name="CEO")
    sign_off = SignOff(decision=make.decision(), signer=make.user(), title=title, verdict="approve", digest="abc")
    refused_by_validation(sign_off, "The digest must be a SHA-256 (64 hex digits).")
    refused_by_database(sign_off, "signoff_digest_is_sha256")


def test_it_refuses_a_decision_superseding_itself():
    decision = make.decision()
    decision.supersedes_id = decision.pk
    refused_by_validation(decision, "A decision cannot supersede itself.")
    refused_by_database(decision, "decision_not_superseding_itself")


def test_it_refuses_an_unknown_scope():
    decision = make.decision()
    decision.scope = "everyone"
    refused_by_validation(decision, "Value 'everyone' is not a valid choice.")
    refused_by_database(decision, "decision_scope_valid")
