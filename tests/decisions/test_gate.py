"""The release gate: every check in both outcomes, stale sign-offs, the approve transition, its three
doors (page, command, API), frozen framework versions, and a bounded number of queries."""

import io
import json
import threading

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import factories as make
from conftest import postgres_only
from riskreg.accounts.models import ApiToken
from riskreg.audit.chain import bulk_create_with_history
from riskreg.decisions import lifecycle
from riskreg.decisions.gate import BLOCK, PASS, WARN, gate
from riskreg.decisions.models import (
    DecisionError,
    DecisionStatus,
    GapAcknowledgement,
    ReleaseDecision,
)
from riskreg.evaluations.models import Evaluation
from riskreg.frameworks.models import Coverage, GovernanceTitle, Threshold

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """A framework version covering one category formally and one not at all, needing two titles."""
    version = make.framework_version()
    rso, ceo = GovernanceTitle.objects.create(name="RSO"), GovernanceTitle.objects.create(name="CEO")
    version.required_titles.set([rso, ceo])
    bio, cyber = make.category("bio"), make.category("cyber")
    Coverage.objects.create(framework_version=version, category=bio, level="formal")
    Coverage.objects.create(framework_version=version, category=cyber, level="none")
    snapshot = make.snapshot()
    author = make.user("author")
    decision = make.decision(snap=snapshot, version=version, author=author)
    bio_eval = make.evaluation(snap=snapshot, cat=bio, outcome="below_threshold")
    return dict(version=version, rso=rso, ceo=ceo, bio=bio, cyber=cyber, snapshot=snapshot, author=author,
                decision=decision, bio_eval=bio_eval)  # fmt: skip


def check(decision, code):
    return next(c for c in gate(decision).checks if c.code == code)


def determined(world, verdict="not_crossed", **extra):
    determination = make.determination(world["decision"], cat=world["bio"], verdict=verdict, **extra)
    determination.cited_evaluations.add(world["bio_eval"])
    return determination


def signer(title, name):
    user = make.user(name)
    title.holders.add(user)
    return user


def test_a_formally_covered_category_needs_a_determination(world):
    assert check(world["decision"], "determinations").status == BLOCK
    assert "Bio" in check(world["decision"], "determinations").reason
    determined(world)
    assert check(world["decision"], "determinations").status == PASS


def test_a_determination_must_cite_an_evaluation_of_this_snapshot_and_category(world):
    determination = make.determination(world["decision"], cat=world["bio"])
    assert check(world["decision"], "citations").status == BLOCK
    other_snapshot = make.evaluation(cat=world["bio"])
    determination.cited_evaluations.add(other_snapshot)
    assert check(world["decision"], "citations").status == BLOCK
    determination.cited_evaluations.add(world["bio_eval"])
    assert check(world["decision"], "citations").status == PASS


@pytest.mark.parametrize("verdict", ["crossed", "cannot_rule_out"])
def test_a_crossed_or_unsure_verdict_must_name_its_safeguards(world, verdict):
    determination = determined(world, verdict=verdict)
    assert check(world["decision"], "safeguards").status == BLOCK
    determination.safeguards = "Classifier guards."
    determination.save()
    assert check(world["decision"], "safeguards").status == PASS


@pytest.mark.parametrize("outcome", ["signal_met", "crossed", "saturated"])
def test_a_concerning_result_outside_formal_coverage_blocks_until_acknowledged(world, outcome):
    make.evaluation(snap=world["snapshot"], cat=world["cyber"], outcome=outcome)
    result = check(world["decision"], "coverage_gap")
    assert result.status == BLOCK and "cyber" in result.reason.lower()
    GapAcknowledgement.objects.create(decision=world["decision"], category=world["cyber"],
                                      rationale="Access limited.", acknowledged_by=world["author"])  # fmt: skip
    result = check(world["decision"], "coverage_gap")
    assert result.status == WARN and "Access limited." in result.reason


def test_unconcerning_results_or_formal_coverage_raise_no_gap(world):
    make.evaluation(snap=world["snapshot"], cat=world["cyber"], outcome="below_threshold")
    make.evaluation(snap=world["snapshot"], cat=world["bio"], outcome="crossed")
    make.evaluation(cat=world["cyber"], outcome="saturated")  # another snapshot's
    assert check(world["decision"], "coverage_gap").status == PASS


def test_every_required_title_is_signed_by_distinct_people_not_the_author(world):
    determined(world)
    decision = world["decision"]
    lifecycle.submit(decision, by=world["author"])
    assert check(decision, "sign_offs").status == BLOCK
    lifecycle.sign(decision, by=signer(world["rso"], "r"), title=world["rso"], verdict="approve")
    assert "CEO" in check(decision, "sign_offs").reason
    lifecycle.sign(decision, by=signer(world["ceo"], "c"), title=world["ceo"], verdict="approve")
    assert check(decision, "sign_offs").status == PASS
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.APPROVED


# -- what crossing requires: the threshold's response, not a rule in the gate --------------------


def crossing(world, verdict="crossed", scope="general_availability", **response):
    """A determination on a threshold whose response is `response`, for a decision of `scope`."""
    threshold = make.threshold(version=world["version"], cat=world["bio"])
    Threshold.objects.filter(pk=threshold.pk).update(**response)
    world["decision"].scope = scope
    world["decision"].save()
    return determined(world, verdict=verdict, threshold=threshold, safeguards="Guards.", residual_risk="Low.")


def test_general_availability_with_a_crossed_threshold_passes_when_its_response_allows_any_deployment(world):
    """RSP v3.0 applies TM1 to models that were generally available: crossing alone blocks nothing."""
    crossing(world, response_deployment="any")
    result = check(world["decision"], "scope")
    assert result.status == PASS and "General availability" in result.reason


@pytest.mark.parametrize(
    "deployment, scope, status",
    [
        ("internal_only", "general_availability", BLOCK),
        ("internal_only", "limited_access", BLOCK),
        ("internal_only", "internal_use", PASS),
        ("none", "internal_use", BLOCK),
        ("none", "no_deployment", PASS),
    ],
)
def test_the_scope_must_be_one_the_crossed_thresholds_response_allows(world, deployment, scope, status):
    determination = crossing(world, scope=scope, response_deployment=deployment)
    result = check(world["decision"], "scope")
    assert result.status == status
    if status == BLOCK:
        assert result.records[0].id == determination.pk
        assert "no external deployment" in result.reason or "halt further development" in result.reason


def test_cannot_rule_out_is_held_to_the_same_response_as_crossed(world):
    crossing(world, verdict="cannot_rule_out", response_deployment="internal_only")
    assert check(world["decision"], "scope").status == BLOCK


def test_a_not_crossed_verdict_is_not_held_to_the_response(world):
    crossing(world, verdict="not_crossed", response_deployment="none")
    assert check(world["decision"], "scope").status == PASS


def test_a_response_that_requires_a_report_needs_the_residual_risk_stated(world):
    determination = crossing(world, response_report=True)
    assert check(world["decision"], "scope").status == PASS
    determination.residual_risk = ""
    determination.save()
    result = check(world["decision"], "scope")
    assert result.status == BLOCK and "residual risk" in result.reason


def test_safeguards_are_required_only_where_the_response_requires_them(world):
    determination = crossing(world, response_safeguards=False)
    determination.safeguards = ""
    determination.save()
    assert check(world["decision"], "safeguards").status == PASS
    Threshold.objects.filter(pk=determination.threshold_id).update(response_safeguards=True)
    result = check(world["decision"], "safeguards")
    assert result.status == BLOCK and "Bio" in result.reason


def test_a_crossed_verdict_without_a_threshold_warns_that_its_response_is_unknown(world):
    determined(world, verdict="crossed", safeguards="Guards.")
    result = check(world["decision"], "scope")
    assert result.status == WARN and "unknown" in result.reason


def test_the_gate_uses_the_frameworks_own_word_for_the_verdict(world):
    determination = crossing(world, response_safeguards=True, crossed_term="Applicable")
    determination.safeguards = ""
    determination.save()
    assert "(applicable)" in check(world["decision"], "safeguards").reason
    determination.refresh_from_db()
    assert determination.verdict_label == "Applicable"
    assert str(determination).endswith(": Applicable")


def test_the_threshold_response_is_part_of_the_signed_digest(world):
    """Softening what crossing requires changes what a sign-off signed (the version freezes too)."""
    determination = crossing(world)
    before = gate(world["decision"]).digest
    Threshold.objects.filter(pk=determination.threshold_id).update(response_deployment="none")
    assert gate(world["decision"]).digest != before


def test_changing_a_cited_score_makes_the_sign_off_stale_and_blocks_approval(world):
    determined(world)
    decision = world["decision"]
    lifecycle.submit(decision, by=world["author"])
    lifecycle.sign(decision, by=signer(world["rso"], "r"), title=world["rso"], verdict="approve")
    assert check(decision, "stale_sign_offs").status == PASS

    world["bio_eval"].score = 0.42
    world["bio_eval"]._change_reason = "re-run with the fixed grader"  # a cited evaluation changes only with a reason
    world["bio_eval"].save()

    stale = check(decision, "stale_sign_offs")
    assert stale.status == WARN
    assert "score — → 0.42" in stale.reason
    assert "RSO" in check(decision, "sign_offs").reason  # the stale sign-off no longer counts
    lifecycle.sign(decision, by=signer(world["ceo"], "c"), title=world["ceo"], verdict="approve")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_REVIEW


def test_submitting_or_approving_is_refused_while_the_gate_blocks(world):
    decision = world["decision"]
    with pytest.raises(DecisionError, match="release gate blocks"):
        lifecycle.submit(decision, by=world["author"])
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.DRAFT


def test_the_gate_writes_nothing(world):
    determined(world)
    with CaptureQueriesContext(connection) as captured:
        gate(world["decision"])
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in captured.captured_queries)


def test_its_queries_do_not_grow_with_the_number_of_cited_evaluations(world):
    determination = determined(world)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            gate(world["decision"])
        return len(captured.captured_queries)

    for n in (10, 1000):
        more = bulk_create_with_history(
            [Evaluation(snapshot=world["snapshot"], category=world["bio"], title=f"e{i}", kind="survey",
                        run_by="lab", finding="f", source_section="1", recorded_by=world["author"],
                        outcome="saturated" if i % 2 else "below_threshold") for i in range(n)],
            Evaluation, user=world["author"],
        )  # fmt: skip
        determination.cited_evaluations.add(*more)
        if n == 10:
            at_10 = queries()
    assert determination.cited_evaluations.count() == 1011
    assert queries() == at_10 <= 20  # 19 since the review conditions (format 3), 20 with the line of supersession


# -- the three doors on the demo data -----------------------------------------------------------


def test_the_command_passes_the_illustration_decision_with_its_cyber_gap_acknowledged(demo):
    out = io.StringIO()
    call_command("gate", "ILLUS-1", stdout=out)
    text = out.getvalue()
    assert "PASSES, with warnings" in text and "Coverage gap acknowledged" in text and "Cyber operations" in text


def test_the_command_reports_the_limited_access_decision_as_recorded_not_passed(demo):
    """D8 is what the card reports: recorded with no sign-off data, its cyber gap acknowledged."""
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("gate", "D8", stdout=out)
    assert exit_code.value.code == 1
    text = out.getvalue()
    assert "Recorded from a published source; no sign-off data" in text
    assert "RECORDED from a published source" in text and "Coverage gap acknowledged" in text


def test_the_command_blocks_the_general_availability_draft_on_the_cyber_gap(demo):
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("gate", "GA-DRAFT", stdout=out)
    assert exit_code.value.code == 1
    assert "BLOCK Coverage gaps" in out.getvalue() and "Cyber operations" in out.getvalue()
    report = gate(ReleaseDecision.objects.get(reference="GA-DRAFT"))
    # The cyber gap is the one problem: TM1 applies, yet its response allows general availability.
    assert [c.code for c in report.blocking if c.code != "sign_offs"] == ["coverage_gap"]


def test_the_command_prints_json_and_exits_2_for_an_unknown_decision(demo):
    out = io.StringIO()
    call_command("gate", str(ReleaseDecision.objects.get(reference="ILLUS-1").pk), "--json", stdout=out)
    assert json.loads(out.getvalue())["status"] == "warn"
    with pytest.raises(CommandError) as error:
        call_command("gate", "D99")
    assert error.value.returncode == 2


def test_the_api_returns_the_same_report_with_a_token(client, viewer, demo):
    decision = ReleaseDecision.objects.get(reference="GA-DRAFT")
    url = reverse("decisions:api-gate", args=[decision.pk])
    _, raw = ApiToken.issue(viewer, "pipeline")
    response = client.get(url, headers={"authorization": f"Bearer {raw}"})
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(gate(decision).as_dict()))
    assert response.json()["passed"] is False


def test_the_api_refuses_without_a_token_even_with_a_session(client, viewer, demo):
    url = reverse("decisions:api-gate", args=[ReleaseDecision.objects.get(reference="D8").pk])
    client.force_login(viewer)
    response = client.get(url)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert client.get(url, headers={"authorization": "Bearer rr_not-a-token"}).status_code == 401


def test_the_api_refuses_a_revoked_token_and_a_user_without_permission(client, viewer, demo):
    url = reverse("decisions:api-gate", args=[ReleaseDecision.objects.get(reference="D8").pk])
    token, raw = ApiToken.issue(viewer, "pipeline")
    token.revoke(by=viewer)
    assert client.get(url, headers={"authorization": f"Bearer {raw}"}).status_code == 401
    _, raw = ApiToken.issue(make.user("no-role"), "pipeline")
    assert client.get(url, headers={"authorization": f"Bearer {raw}"}).status_code == 403


def test_tokens_are_made_on_the_settings_page_shown_once_and_stored_hashed(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("accounts:settings"), {"name": "release pipeline"})
    raw = response.context["new_token"]
    token = ApiToken.objects.get()
    assert raw not in str(ApiToken.history.values()) and token.key_hash != raw
    assert raw not in client.get(reverse("accounts:settings")).content.decode()
    make.post_confirmed(client, reverse("accounts:token-revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_decision_page_shows_the_report(client, viewer, demo):
    client.force_login(viewer)
    html = client.get(ReleaseDecision.objects.get(reference="GA-DRAFT").get_absolute_url()).content.decode()
    assert "Release gate: Blocked — 1 problem to fix first" in html and "Unacknowledged coverage gap" in html


# -- freezing ------------------------------------------------------------------------------------


def test_a_framework_version_freezes_once_a_decision_beyond_draft_uses_it(world):
    determined(world)
    threshold = Threshold.objects.create(framework_version=world["version"], category=world["bio"], code="B1",
                                         name="n", definition="d")  # fmt: skip
    lifecycle.submit(world["decision"], by=world["author"])
    threshold.definition = "softened"
    with pytest.raises(ValidationError, match="no longer changes"):
        threshold.save()
    coverage = Coverage.objects.get(framework_version=world["version"], category=world["cyber"])
    coverage.level = "formal"
    with pytest.raises(ValidationError):
        coverage.save()
    with pytest.raises(ValidationError), transaction.atomic():
        world["version"].required_titles.remove(world["ceo"])
    with pytest.raises(ValidationError):
        Coverage.objects.create(framework_version=world["version"], category=make.category(), level="none")
    assert world["version"].required_titles.count() == 2


@postgres_only
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE decisions_releasedecision SET rationale = 'rewritten' WHERE reference = 'D8'",
        "UPDATE decisions_releasedecision SET status = 'draft' WHERE reference = 'D8'",
        "DELETE FROM decisions_releasedecision WHERE reference = 'D8'",
        "UPDATE decisions_determination SET verdict = 'crossed' WHERE decision_id = "
        "(SELECT id FROM decisions_releasedecision WHERE reference = 'D8')",
        "DELETE FROM decisions_determination_cited_evaluations WHERE determination_id IN (SELECT id FROM "
        "decisions_determination WHERE decision_id = "
        "(SELECT id FROM decisions_releasedecision WHERE reference = 'D8'))",
        "UPDATE decisions_signoff SET verdict = 'reject'",
    ],
)
def test_postgres_refuses_changing_an_approved_decision_directly(demo, statement):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert ReleaseDecision.objects.get(reference="D8").status == DecisionStatus.APPROVED


@postgres_only
def test_postgres_lets_only_the_supersede_step_mark_an_approved_decision_superseded(demo):
    raw = "UPDATE decisions_releasedecision SET status = 'superseded' WHERE reference = 'D8'"
    with pytest.raises(IntegrityError, match="only the lifecycle steps move a status"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(raw)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('riskreg.lifecycle_step', 'supersede', true)")
        cursor.execute(raw)
    assert ReleaseDecision.objects.get(reference="D8").status == DecisionStatus.SUPERSEDED


@postgres_only
def test_two_concurrent_approvals_produce_exactly_one_approved_decision(committed_db):
    """Two CEOs sign the last missing title at the same moment: one approval, one refusal."""
    with transaction.atomic():  # tracked writes happen only inside a transaction
        version = make.framework_version()
        rso, ceo = GovernanceTitle.objects.create(name="RSO"), GovernanceTitle.objects.create(name="CEO")
        version.required_titles.set([rso, ceo])
        author = make.user("author")
        decision = make.decision(version=version, author=author)
        ceos = [signer(ceo, "ceo1"), signer(ceo, "ceo2")]
        first = signer(rso, "r")
    lifecycle.submit(decision, by=author)
    lifecycle.sign(decision, by=first, title=rso, verdict="approve")
    barrier = threading.Barrier(2)
    outcomes = []

    def sign(user):
        try:
            barrier.wait()
            lifecycle.sign(ReleaseDecision.objects.get(pk=decision.pk), by=user, title=ceo, verdict="approve")
            outcomes.append("signed")
        except DecisionError as error:
            outcomes.append(" ".join(error.messages))
        finally:
            connection.close()

    threads = [threading.Thread(target=sign, args=(user,)) for user in ceos]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("signed") == 1
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.APPROVED
    assert decision.sign_offs.filter(title=ceo).count() == 1
    assert decision.history.filter(status=DecisionStatus.APPROVED).count() == 1
