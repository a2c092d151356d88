"""The demo data: the system card's key facts, and how seed_demo loads them."""

import re
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from riskreg.decisions.gate import RECORDED, gate
from riskreg.decisions.models import (
    Affirmation,
    DecisionStatus,
    Determination,
    ReleaseDecision,
    Scope,
    SignOff,
    Verdict,
)
from riskreg.demo.loader import SEED_USERNAME
from riskreg.evaluations.models import Evaluation, EvaluationKind, Outcome, Snapshot, SnapshotKind
from riskreg.frameworks.models import Coverage, CoverageLevel, DeploymentWhenCrossed, FrameworkVersion, Threshold
from riskreg.risks.models import Risk
from riskreg.sources import Sourced, SourceMark

pytestmark = pytest.mark.django_db

RSP_V3 = {"framework_version__framework__slug": "anthropic-rsp", "framework_version__version": "3.0"}
CARD_DECISIONS = ("D1", "D2", "D3", "D7", "D8")


def coverage(category_slug, **version):
    return Coverage.objects.get(category__slug=category_slug, **version).level


def tracked_models():
    """Every domain model of riskreg's apps (the history models themselves excluded), users and groups.

    LoginFailure is not one: it only counts failed log-ins for the throttle, and has no history.
    """
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in {"frameworks", "evaluations", "risks", "decisions", "accounts",
                                     "notifications", "filings"}
        and not model.__name__.startswith("Historical")
        and model._meta.label != "accounts.LoginFailure"
    ] + [get_user_model(), Group]  # users, and groups (the roles: issue 27)


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
    assert decision.status == DecisionStatus.APPROVED and decision.is_recorded
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
        "ILLUS-1": Scope.LIMITED_ACCESS,
        "GA-DRAFT": Scope.GENERAL_AVAILABILITY,
    }
    assert ReleaseDecision.objects.get(reference="D1").status == DecisionStatus.SUPERSEDED
    assert ReleaseDecision.objects.get(reference="D2").supersedes.reference == "D1"
    assert ReleaseDecision.objects.get(reference="GA-DRAFT").status == DecisionStatus.DRAFT


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
            elif model is Group:  # the roles: made by the migrations, recorded by accounts 0010 or apply_roles
                reason = first.history_change_reason
                assert first.history_user_id is None and ("accounts 0010" in reason or "migration" in reason), obj
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
    for username in (SEED_USERNAME, "illustration-rso", "illustration-ceo"):
        user = get_user_model().objects.get(username=username)
        assert not user.has_usable_password()


def test_only_thresholds_of_the_version_in_question_are_cited(demo):
    for decision in ReleaseDecision.objects.all():
        for determination in decision.determinations.exclude(threshold=None):
            assert determination.threshold.framework_version_id == decision.framework_version_id
    assert Threshold.objects.count() == 19


# -- issue 13: the demo tells only what the system card says ------------------------------------------


def sourced_records():
    """Every record that carries a source section and mark (every concrete Sourced model)."""
    models = [m for m in apps.get_models() if issubclass(m, Sourced) and not m.__name__.startswith("Historical")]
    assert {m.__name__ for m in models} >= {
        "FrameworkVersion", "Threshold", "Coverage", "Snapshot", "Evaluation", "ReleaseDecision", "Determination",
        "Risk",
    }  # fmt: skip
    return [obj for model in models for obj in model.objects.all()]


def test_every_record_has_a_section_and_a_mark_and_every_uncertain_mark_a_note(demo):
    records = sourced_records()
    assert len(records) > 100
    for obj in records:
        label = f"{type(obj).__name__} {obj}"
        assert obj.source_section.strip(), f"{label} has no source section"
        assert obj.source_mark in SourceMark.values, label
        if obj.source_mark != SourceMark.VERIFIED:
            assert obj.source_note.strip(), f"{label} is marked {obj.source_mark} without a note saying why"


def test_1_the_cards_decisions_are_recorded_with_no_sign_offs(demo):
    """The card names no approver (RSO and CEO are not named for D7 or D8): recorded, never gate-approved."""
    for reference in CARD_DECISIONS:
        decision = ReleaseDecision.objects.get(reference=reference)
        assert decision.is_recorded, reference
        assert not decision.sign_offs.exists(), reference
        report = gate(decision)
        assert report.status == RECORDED and not report.passed, reference
        assert report.headline.startswith("Recorded from a published source; no sign-off data"), reference
    assert not SignOff.objects.filter(decision__reference__in=CARD_DECISIONS).exists()


def test_1_only_a_labelled_illustration_is_signed_and_it_passes_the_gate(demo):
    signed = ReleaseDecision.objects.filter(sign_offs__isnull=False).distinct()
    assert [d.reference for d in signed] == ["ILLUS-1"]
    illustration = signed.get()
    assert illustration.source_mark == SourceMark.ILLUSTRATION and "Not in the system card" in illustration.source_note
    assert illustration.title.startswith("Illustration")
    assert illustration.status == DecisionStatus.APPROVED and not illustration.is_recorded
    assert gate(illustration).passed
    signers = set(illustration.sign_offs.values_list("signer__username", flat=True))
    assert signers == {"illustration-rso", "illustration-ceo"} and illustration.author.username not in signers


def test_1_the_signer_placeholders_hold_their_titles_only_as_illustrations(demo):
    for username in ("illustration-rso", "illustration-ceo"):
        user = get_user_model().objects.get(username=username)
        assert "Illustration signer" in user.first_name


def test_2_tm1_is_the_cards_yes_shown_as_applicable_with_no_confidence_stated(demo):
    for decision in ReleaseDecision.objects.filter(reference__in=["D7", "D8", "ILLUS-1", "GA-DRAFT"]):
        tm1 = decision.determinations.get(threshold__code="TM1")
        assert tm1.verdict == Verdict.CROSSED
        assert tm1.verdict_label == "Applicable"
        assert tm1.confidence == "not_stated"
        tm2 = decision.determinations.get(threshold__code="TM2")
        assert (tm2.verdict, tm2.verdict_label) == (Verdict.NOT_CROSSED, "Not applicable")
        if decision.source_mark == SourceMark.ILLUSTRATION:  # the card's determination, copied into an illustration
            assert tm1.source_mark == SourceMark.ILLUSTRATION and "copied into a decision" in tm1.source_note
            continue
        assert tm1.source_mark == SourceMark.VERIFIED
        assert "without a yes/no" not in tm1.source_note and "is applicable" in tm1.source_note


def test_3_the_24_hour_review_draws_no_threshold_conclusion(demo):
    review = Evaluation.objects.get(title__startswith="24-hour alignment review")
    assert review.outcome == Outcome.NOT_ASSESSED and review.threshold is None
    assert "no TM1 threshold conclusion" in review.source_note


def test_4_evaluation_awareness_ran_on_early_versions_and_the_card_calls_the_rate_low_enough(demo):
    awareness = Evaluation.objects.get(title="Unverbalised evaluation awareness")
    assert awareness.snapshot.kind == SnapshotKind.EARLY
    assert "4.5.1" in awareness.source_section and "early versions" in awareness.source_note
    assert "low enough" in awareness.finding and "understate" not in awareness.finding
    r10 = Risk.objects.get(code="R10")
    assert "flatter" not in r10.description and "low enough" in r10.description


def test_5_decision_texts_cite_only_decisions_that_exist(demo):
    references = set(ReleaseDecision.objects.values_list("reference", flat=True))
    for decision in ReleaseDecision.objects.all():
        text = " ".join([decision.conditions, decision.rationale, decision.basis, decision.scope_details])
        cited = set(re.findall(r"\b(?:D\d+|ILLUS-\d+|GA-DRAFT)\b", text))
        assert cited <= references, f"{decision.reference} cites {cited - references}"
    assert "D9" not in ReleaseDecision.objects.get(reference="D8").conditions


def test_6_imprecise_evaluations_say_only_what_the_card_says(demo):
    e14 = Evaluation.objects.get(title="External automated AI-research evaluation")
    assert e14.outcome == Outcome.NOT_ASSESSED and "no threshold call" in e14.source_note
    e19 = Evaluation.objects.get(title__startswith="External cyber ranges")
    assert "government" not in e19.run_by and "§3.4" in e19.run_by


def test_6_imprecise_risks_say_only_what_the_card_says(demo):
    r02 = Risk.objects.get(code="R02")
    assert "narrow release" not in r02.mitigations and "2.2.5.5" in r02.source_section
    assert "general availability" in r02.description
    r16 = Risk.objects.get(code="R16")
    assert "commitment" not in r16.mitigations and "likely" in r16.mitigations
    for risk in Risk.objects.all():
        assert "owner are riskreg's own assignment" in risk.source_note, risk


def test_6_the_general_availability_draft_says_plans_not_commits(demo):
    draft = ReleaseDecision.objects.get(reference="GA-DRAFT")
    assert "commit" not in draft.rationale and "plans" in draft.rationale
    assert draft.source_mark == SourceMark.ILLUSTRATION and draft.source_note


def test_6_the_early_snapshot_cites_the_review_setup_and_says_versions_before_the_final_one(demo):
    early = Snapshot.objects.get(kind=SnapshotKind.EARLY)
    assert "4.1.4.1" in early.source_section
    assert "Earlier snapshots" not in early.description and "Versions before the final one" in early.description


def test_6_the_release_date_is_marked_as_the_announcements(demo):
    """The card's text gives no release date: a record carrying 7 April 2026 is not marked verified (issue 28)."""
    records = [ReleaseDecision.objects.get(reference=reference) for reference in ("D7", "D8")]
    records.append(Snapshot.objects.get(kind=SnapshotKind.FINAL))
    for record in records:
        assert "release announcement" in record.source_note, record
        assert record.source_mark == SourceMark.SECONDARY and "date only" in record.source_note, record


def test_6_coverage_that_rests_on_a_secondary_source_is_marked_so(demo):
    for row in Coverage.objects.all():
        assert "secondary source" not in row.note, row  # the mark says it, with a note
    secondary = Coverage.objects.filter(source_mark=SourceMark.SECONDARY, **RSP_V3)
    assert set(secondary.values_list("category__slug", flat=True)) == {"radiological-nuclear", "harmful-manipulation"}


def test_6_the_release_determinations_are_not_attached_to_the_february_decisions(demo):
    for reference in ("D1", "D2", "D3"):
        assert not Determination.objects.filter(decision__reference=reference).exists(), reference


def test_every_threshold_states_what_crossing_it_requires(demo):
    for threshold in Threshold.objects.all():
        assert threshold.response.strip(), threshold
        assert "frameworks.md" in threshold.response or "system card" in threshold.response, threshold
    critical = Threshold.objects.filter(code__endswith="-CRITICAL")
    assert critical.count() == 3
    # PF v2's Critical halts further development; its text bars no deployment outright (issue 28).
    assert set(critical.values_list("response_deployment", flat=True)) == {DeploymentWhenCrossed.ANY}
    for threshold in critical:
        assert "halts" in threshold.response and "outright" in threshold.source_note, threshold
    tm1 = Threshold.objects.get(code="TM1")
    assert tm1.response_deployment == DeploymentWhenCrossed.ANY and tm1.response_report


def test_the_story_holds_cyber_has_no_rsp_v3_threshold_and_blocks_only_general_availability(demo):
    assert not Threshold.objects.filter(category__slug="cyber", **RSP_V3).exists()
    assert Evaluation.objects.filter(category__slug="cyber", outcome__in=Outcome.concerning()).count() >= 3
    draft = gate(ReleaseDecision.objects.get(reference="GA-DRAFT"))
    problems = [check.code for check in draft.blocking if check.code != "sign_offs"]
    assert problems == ["coverage_gap"]
    limited = gate(ReleaseDecision.objects.get(reference="D8"))
    gap = next(check for check in limited.checks if check.code == "coverage_gap")
    assert gap.status == "warn" and "acknowledged" in gap.reason


def test_recorded_decisions_are_never_badged_as_approved(client, viewer, demo):
    client.force_login(viewer)
    html = client.get(reverse("decisions:list")).content.decode()
    assert html.count("status-recorded") == 4  # D2, D3, D7, D8 (D1 is superseded)
    assert html.count("badge status-approved") == 1  # ILLUS-1, signed in riskreg
    page = client.get(ReleaseDecision.objects.get(reference="D8").get_absolute_url()).content.decode()
    assert 'class="badge status-recorded"' in page


# Issue 28, point 5: single records corrected against the card's full text (RECHECK-14.md).


def test_28_the_sandbox_escape_near_miss_says_the_escape_was_requested_and_the_posting_was_not(demo):
    from riskreg.filings.models import Incident

    escape = Incident.objects.get(title__contains="sandbox")
    assert "asked to escape" in escape.title and "unasked" in escape.title
    assert "told an earlier internally deployed version to break out" in escape.statement
    assert "Without being asked" in escape.statement and "known weakness" not in escape.statement
    assert "fn 9" in escape.actions_taken and "requested" in escape.source_note


def test_28_card_wording_is_kept_where_a_paraphrase_had_sharpened_it(demo):
    red_team = Evaluation.objects.get(title="Expert red teaming of biology risk")
    assert "seldom" not in red_team.finding and "rarely" not in red_team.finding
    assert "not consistently" in red_team.finding
    protocols = Evaluation.objects.get(title="Virology protocol uplift trial")
    assert "far better" not in protocols.finding and "significantly better" in protocols.finding
    v3 = FrameworkVersion.objects.get(framework__slug="anthropic-rsp", version="3.0")
    assert "instead of" not in v3.summary and "less emphasis" in v3.summary


def test_28_rsp_v2_2_operationalisations_say_how_a_threshold_is_measured_not_its_safeguards(demo):
    for threshold in Threshold.objects.filter(framework_version__framework__slug="anthropic-rsp",
                                              framework_version__version="2.2"):  # fmt: skip
        assert "ASL" not in threshold.operationalisation, threshold
    cbrn_4 = Threshold.objects.get(code="CBRN-4")
    assert "entry-level PhD biologists" in cbrn_4.operationalisation and "endnote 5" in cbrn_4.operationalisation


def test_28_a_secondary_evaluation_names_its_real_source_not_the_card(demo):
    from riskreg.demo.loader import SYSTEM_CARD_URL

    audit = Evaluation.objects.get(title="Model-organism auditing exercise")
    assert audit.source_mark == SourceMark.SECONDARY
    piece = audit.evidence.get()
    assert piece.title.startswith("Alignment Risk Update") and "System card" not in piece.title
    assert piece.url != SYSTEM_CARD_URL and "secondary sources" in piece.note
    for evaluation in Evaluation.objects.exclude(pk=audit.pk):
        assert evaluation.evidence.get().url == SYSTEM_CARD_URL, evaluation


def test_28_external_flags_follow_the_card(demo):
    """§1.1.5: external testers covered cyber, loss of control, CBRN and harmful manipulation."""
    external = Evaluation.objects.filter(is_external=True)
    titles = [
        "Catastrophic biology scenario uplift trial",
        "Autonomous influence operations (simulation)",
        "External cyber ranges, CTFs and sandbox escape",
        "External tests of safety-research sabotage",
    ]
    for title in titles:
        assert external.filter(title=title).exists(), title
    assert set(external.values_list("category__slug", flat=True)) >= {
        "chem-bio", "cyber", "misalignment", "automated-ai-rnd", "harmful-manipulation"}  # fmt: skip
    assert not Evaluation.objects.filter(kind=EvaluationKind.EXTERNAL_TESTING, is_external=False).exists()


def test_28_reseeding_a_database_seeded_before_a_correction_adds_no_second_near_miss(demo):
    """A corrected near miss keeps its former title in the fixture: re-running seed_demo on a database
    seeded before the correction keeps that record (as it keeps every seeded record) and adds no copy."""
    from riskreg.demo.loader import DemoSeeder
    from riskreg.filings.models import Incident

    old_title = "An early snapshot left its evaluation sandbox and published exploit details unasked"
    Incident.objects.filter(title__contains="asked to escape").update(title=old_title)
    report = DemoSeeder().run(with_accounts=False)
    assert report.total_created == 0
    assert Incident.objects.count() == 2 and Incident.objects.filter(title=old_title).exists()
