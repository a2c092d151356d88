"""The demo data: the system card's key facts, and how seed_demo loads them."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from riskreg.decisions.models import Affirmation, DecisionStatus, ReleaseDecision, Scope, SignOff, Verdict
from riskreg.demo import SEED_USERNAME
from riskreg.evaluations.models import Evaluation, EvaluationKind, Outcome, Snapshot, SnapshotKind
from riskreg.frameworks.models import Coverage, CoverageLevel, FrameworkVersion, Threshold
from riskreg.risks.models import Risk
from riskreg.sources import SourceMark

pytestmark = pytest.mark.django_db

RSP_V3 = {"framework_version__framework__slug": "anthropic-rsp", "framework_version__version": "3.0"}


def coverage(category_slug, **version):
    return Coverage.objects.get(category__slug=category_slug, **version).level


def tracked_models():
    """Every domain model of riskreg's apps (the history models themselves excluded), and users.

    LoginFailure is not one: it only counts failed log-ins for the throttle, and has no history.
    """
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in {"frameworks", "evaluations", "risks", "decisions", "accounts"}
        and not model.__name__.startswith("Historical")
        and model._meta.label != "accounts.LoginFailure"
    ] + [get_user_model()]


def test_rsp_v3_covers_chem_bio_formally_and_cyber_not_at_all(demo):
    assert coverage("chem-bio", **RSP_V3) == CoverageLevel.FORMAL
    assert coverage("cyber", **RSP_V3) == CoverageLevel.NONE


def test_cyber_was_only_monitored_under_rsp_v2_2_and_is_formal_elsewhere(demo):
    assert (
        coverage("cyber", framework_version__framework__slug="anthropic-rsp", framework_version__version="2.2")
        == CoverageLevel.PARTIAL
    )
    for slug in ("openai-pf", "gdm-fsf"):
        assert coverage("cyber", framework_version__framework__slug=slug) == CoverageLevel.FORMAL


def test_every_framework_version_states_coverage_of_every_category(demo):
    for version in FrameworkVersion.objects.all():
        assert version.coverage.count() == 7, version


def test_rsp_v3_has_the_four_thresholds_and_needs_rso_and_ceo(demo):
    version = FrameworkVersion.objects.get(framework__slug="anthropic-rsp", version="3.0")
    codes = set(version.thresholds.values_list("code", flat=True))
    assert codes == {"CB-1", "CB-2", "TM1", "TM2"}
    assert not version.thresholds.filter(category__slug="cyber").exists()
    assert set(version.required_titles.values_list("name", flat=True)) == {"Responsible Scaling Officer", "CEO"}


def test_the_general_availability_withheld_decision_cites_cyber(demo):
    decision = ReleaseDecision.objects.get(reference="D7")
    assert decision.status == DecisionStatus.APPROVED
    assert "cyber" in decision.rationale
    cyber = decision.determinations.get(category__slug="cyber")
    assert cyber.verdict == Verdict.NO_THRESHOLD
    cited = cyber.cited_evaluations.all()
    assert cited.count() >= 3
    assert {evaluation.category.slug for evaluation in cited} == {"cyber"}
    assert decision.gap_acknowledgements.filter(category__slug="cyber").exists()
    assert "not come from RSP requirements" in decision.basis


def test_the_timeline_has_the_decisions_of_the_card_with_their_scopes(demo):
    scopes = dict(ReleaseDecision.objects.values_list("reference", "scope"))
    assert scopes == {
        "D1": Scope.INTERNAL_REVIEW,
        "D2": Scope.INTERNAL_USE,
        "D3": Scope.LIMITED_PILOT,
        "D7": Scope.NO_DEPLOYMENT,
        "D8": Scope.LIMITED_ACCESS,
        "GA-DRAFT": Scope.GENERAL_AVAILABILITY,
    }
    assert ReleaseDecision.objects.get(reference="D1").status == DecisionStatus.SUPERSEDED
    assert ReleaseDecision.objects.get(reference="D2").supersedes.reference == "D1"
    assert ReleaseDecision.objects.get(reference="GA-DRAFT").status == DecisionStatus.DRAFT


def test_the_approved_release_decisions_are_signed_by_rso_and_ceo(demo):
    for reference in ("D7", "D8"):
        decision = ReleaseDecision.objects.get(reference=reference)
        titles = set(decision.sign_offs.values_list("title__name", flat=True))
        assert titles == {"Responsible Scaling Officer", "CEO"}
        signers = set(decision.sign_offs.values_list("signer_id", flat=True))
        assert len(signers) == 2 and decision.author_id not in signers


def test_there_are_at_least_30_evaluations_across_the_four_main_categories(demo):
    assert Evaluation.objects.count() >= 30
    for slug in ("chem-bio", "automated-ai-rnd", "misalignment", "cyber"):
        assert Evaluation.objects.filter(category__slug=slug).count() >= 4, slug
    assert Evaluation.objects.filter(is_external=True).exists()
    assert set(Evaluation.objects.values_list("kind", flat=True)) >= {
        EvaluationKind.AUTOMATED_BENCHMARK,
        EvaluationKind.EXPERT_RED_TEAMING,
        EvaluationKind.UPLIFT_TRIAL,
        EvaluationKind.EXTERNAL_TESTING,
        EvaluationKind.SURVEY,
        EvaluationKind.TREND_ANALYSIS,
    }


def test_every_evaluation_has_a_section_number(demo):
    assert not Evaluation.objects.filter(source_section="").exists()
    assert Evaluation.objects.get(title__startswith="Cybench").source_section == "3.3.1"


def test_the_cards_numbers_and_comparisons_are_kept(demo):
    cybench = Evaluation.objects.get(title__startswith="Cybench")
    assert (cybench.score, cybench.outcome) == (100, Outcome.SATURATED)
    cybergym = Evaluation.objects.get(title__startswith="CyberGym")
    assert cybergym.score == 0.83
    assert {"subject": "Claude Opus 4.6", "value": 0.67} in cybergym.comparisons


def test_uncertain_facts_are_marked(demo):
    marks = set(Evaluation.objects.values_list("source_mark", flat=True))
    assert {SourceMark.VERIFIED, SourceMark.INFERRED, SourceMark.UNVERIFIED, SourceMark.SECONDARY} <= marks
    for evaluation in Evaluation.objects.exclude(source_mark=SourceMark.VERIFIED):
        assert evaluation.source_note, f"{evaluation} is marked uncertain without saying why"


def test_the_three_snapshots_are_there(demo):
    kinds = set(Snapshot.objects.values_list("kind", flat=True))
    assert kinds == {SnapshotKind.EARLY, SnapshotKind.FINAL, SnapshotKind.VARIANT}


def test_the_risk_register_has_at_least_12_entries_linked_to_evaluations(demo):
    assert Risk.objects.count() >= 12
    for risk in Risk.objects.all():
        assert risk.evaluations.exists(), risk
    assert Risk.objects.filter(category__slug="cyber").count() >= 2


def test_thresholds_of_evaluations_match_their_categories(demo):
    for evaluation in Evaluation.objects.exclude(threshold=None).select_related("threshold"):
        assert evaluation.threshold.category_id == evaluation.category_id


def test_every_created_record_has_a_history_row_with_the_seed_user(demo):
    seed_user = get_user_model().objects.get(username=SEED_USERNAME)
    checked = 0
    for model in tracked_models():
        for obj in model.objects.all():
            first = obj.history.earliest()
            assert first.history_type == "+", obj
            if model is SignOff:  # signed through lifecycle.sign(), by the signer
                assert first.history_user_id == obj.signer_id, obj
            elif model is Affirmation:  # written by the lifecycle step, by whoever took it
                assert first.history_user_id == obj.affirmed_by_id and first.history_change_reason, obj
            elif obj == seed_user:  # the loader's own account: written by no one but the command
                assert first.history_user_id is None and first.history_change_reason.startswith("seed_demo")
            else:
                assert first.history_user_id == seed_user.pk, obj
                assert first.history_change_reason.startswith("seed_demo"), obj
            checked += 1
    assert checked >= 150


def test_running_seed_demo_twice_creates_nothing_new(demo):
    def counts():
        result = {}
        for model in tracked_models():
            result[model.__name__] = model.objects.count()
            result[f"history {model.__name__}"] = model.history.count()
        return result

    before = counts()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert counts() == before
    assert "Nothing to create" in out.getvalue()


def test_it_creates_demo_logins_only_with_debug_on(db, settings):
    settings.DEBUG = False
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert not get_user_model().objects.filter(username="evaluator").exists()
    assert "no demo logins" in out.getvalue()

    settings.DEBUG = True
    out = StringIO()
    call_command("seed_demo", stdout=out)
    text = out.getvalue()
    User = get_user_model()
    for username, group in [
        ("viewer", "viewer"),
        ("evaluator", "evaluator"),
        ("approver", "approver"),
        ("auditor", "auditor"),
    ]:
        assert User.objects.get(username=username).groups.filter(name=group).exists()
        assert username in text
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="approver").governance_titles.filter(name="Responsible Scaling Officer").exists()
    assert "riskreg-demo" in text


def test_the_record_signers_cannot_log_in(demo):
    for username in (SEED_USERNAME, "signer-rso", "signer-ceo"):
        user = get_user_model().objects.get(username=username)
        assert not user.has_usable_password()


def test_only_thresholds_of_the_version_in_question_are_cited(demo):
    for decision in ReleaseDecision.objects.all():
        for determination in decision.determinations.exclude(threshold=None):
            assert determination.threshold.framework_version_id == decision.framework_version_id
    assert Threshold.objects.count() == 19
