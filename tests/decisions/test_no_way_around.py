"""No way around the gate: each attack of issue 12 reproduced, and refused, on SQLite and PostgreSQL.

An approved decision was approved by the gate and the required people, its status and author move
only through the lifecycle steps, everyone who wrote it counts as its author, its digest covers
every content field, and a change to what it rests on is shown and resolved by re-affirmation.
"""

import io
import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

import factories as make
from conftest import postgres_only
from riskreg.accounts.models import ApiToken
from riskreg.decisions import digest, lifecycle
from riskreg.decisions.gate import BLOCK, PASS, gate, review_states
from riskreg.decisions.models import (
    Affirmation,
    DecisionError,
    DecisionStatus,
    Determination,
    ReleaseDecision,
    SignOff,
)
from riskreg.evaluations.models import Evaluation, Evidence
from riskreg.frameworks.models import Coverage, GovernanceTitle

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    """A decision under a version that needs an RSO and a CEO, citing one evaluation."""
    version = make.framework_version()
    rso, ceo = GovernanceTitle.objects.create(name="RSO"), GovernanceTitle.objects.create(name="CEO")
    version.required_titles.set([rso, ceo])
    cyber = make.category("cyber-ranges")
    Coverage.objects.create(framework_version=version, category=cyber, level="formal")
    snapshot = make.snapshot()
    author = make.user("author")
    author.groups.add(Group.objects.get(name="evaluator"))
    evaluation = make.evaluation(
        snap=snapshot, cat=cyber, title="Cyber ranges", source_section="3.4", outcome="signal_met", score=70
    )
    decision = make.decision(snap=snapshot, version=version, author=author, title="Limited access")
    determination = make.determination(decision, cat=cyber, verdict="not_crossed")
    determination.cited_evaluations.add(evaluation)
    signers = {}
    for title, name in ((rso, "rso-holder"), (ceo, "ceo-holder")):
        signers[title.name] = make.user(name)
        signers[title.name].groups.add(Group.objects.get(name="approver"))
        title.holders.add(signers[title.name])
    return dict(version=version, rso=rso, ceo=ceo, cyber=cyber, author=author, evaluation=evaluation,
                decision=decision, determination=determination, signers=signers)  # fmt: skip


def approve(world):
    decision = world["decision"]
    lifecycle.submit(decision, by=world["author"])
    lifecycle.sign(decision, by=world["signers"]["RSO"], title=world["rso"], verdict="approve")
    lifecycle.sign(decision, by=world["signers"]["CEO"], title=world["ceo"], verdict="approve")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.APPROVED
    return decision


def admin_form(decision, **changes):
    """The admin change form's POST data for `decision`, with `changes`."""
    data = {
        "snapshot": decision.snapshot_id, "framework_version": decision.framework_version_id,
        "reference": decision.reference, "title": decision.title, "scope": decision.scope,
        "scope_details": decision.scope_details, "conditions": decision.conditions,
        "rationale": decision.rationale, "basis": decision.basis, "decided_by": decision.decided_by,
        "effective_date": "", "status": decision.status, "author": decision.author_id,
        "source_section": decision.source_section, "source_mark": decision.source_mark, "source_note": "",
        "provenance": decision.provenance, "supersedes": "",
    }  # fmt: skip
    data.update(changes)
    return data


# -- 1. approval without sign-offs -----------------------------------------------------------------


@pytest.mark.parametrize("status", ["draft", "in_review"])
def test_the_admin_cannot_approve_a_decision(client, superuser, world, status):
    decision = world["decision"]
    if status == "in_review":
        lifecycle.submit(decision, by=world["author"])
    client.force_login(superuser)
    url = reverse("admin:decisions_releasedecision_change", args=[decision.pk])
    response = client.post(url, admin_form(decision, status="approved"))
    assert response.status_code in (200, 302, 403)  # beyond a draft the change form is read-only
    decision.refresh_from_db()
    assert decision.status == status
    assert not decision.affirmations.exists()


def test_the_model_refuses_any_status_change_outside_the_lifecycle(world):
    decision = world["decision"]
    for status in ("approved", "in_review", "rejected", "superseded"):
        decision.status = status
        with pytest.raises(ValidationError, match="lifecycle"):
            decision.save()
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.DRAFT
    with pytest.raises(ValidationError, match="starts as a draft"):
        ReleaseDecision.objects.create(
            snapshot=decision.snapshot, framework_version=world["version"], author=world["author"], title="x",
            scope="limited_access", rationale="x", status="approved",
        )  # fmt: skip


@postgres_only
@pytest.mark.parametrize("step", ["", "approve", "record", "submit"])
def test_postgres_refuses_an_approval_that_no_sign_step_made(world, step):
    decision = world["decision"]
    lifecycle.submit(decision, by=world["author"])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('riskreg.lifecycle_step', %s, true)", [step])
        cursor.execute("UPDATE decisions_releasedecision SET status = 'approved' WHERE id = %s", [decision.pk])
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_REVIEW


@postgres_only
def test_postgres_refuses_changing_a_status_author_or_submitted_content_directly(world):
    decision = world["decision"]
    lifecycle.submit(decision, by=world["author"])
    other = make.user("other")
    for statement, params in [
        ("UPDATE decisions_releasedecision SET status = 'draft' WHERE id = %s", [decision.pk]),
        ("UPDATE decisions_releasedecision SET author_id = %s WHERE id = %s", [other.pk, decision.pk]),
        ("UPDATE decisions_releasedecision SET decided_by = 'CEO alone' WHERE id = %s", [decision.pk]),
        ("UPDATE decisions_determination SET verdict = 'crossed' WHERE decision_id = %s", [decision.pk]),
        (
            "INSERT INTO decisions_releasedecision (snapshot_id, framework_version_id, reference, title, scope, "
            "scope_details, conditions, rationale, basis, decided_by, status, provenance, author_id, created_at, "
            "source_section, source_mark, source_note) SELECT snapshot_id, framework_version_id, 'X', title, scope, "
            "'', '', rationale, '', '', 'approved', 'decided', author_id, now(), '', 'verified', '' "
            "FROM decisions_releasedecision WHERE id = %s",
            [decision.pk],
        ),
    ]:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)


def test_approving_marks_the_superseded_decision_and_records_an_affirmation(world):
    first = approve(world)
    later = lifecycle.supersede(first, by=world["author"])
    make.approve(later)
    first.refresh_from_db()
    assert first.status == DecisionStatus.SUPERSEDED
    assert [a.kind for a in Affirmation.objects.filter(decision=first)] == ["approved"]


# -- 2. author changed, then signed; separation of duties over every writer ------------------------


def test_the_admin_cannot_change_the_author(client, superuser, world):
    decision = world["decision"]
    client.force_login(superuser)
    url = reverse("admin:decisions_releasedecision_change", args=[decision.pk])
    client.post(url, admin_form(decision, author=superuser.pk))
    decision.refresh_from_db()
    assert decision.author == world["author"]
    decision.author = superuser
    with pytest.raises(ValidationError, match="author never changes"):
        decision.save()


def test_a_user_who_rewrote_the_draft_cannot_sign_it(client, world):
    """Evaluator and approver at once: rewrites another evaluator's draft, submits it, tries to sign."""
    decision = world["decision"]
    both = world["signers"]["RSO"]
    both.groups.add(Group.objects.get(name="evaluator"))
    client.force_login(both)
    edit = reverse("decisions:edit", args=[decision.pk])
    form = client.get(edit).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data.update(title="General availability now", scope="general_availability")
    assert client.post(edit, data).status_code == 302
    assert make.post_confirmed(client, reverse("decisions:submit", args=[decision.pk])).status_code == 302
    response = client.post(
        reverse("decisions:sign", args=[decision.pk]), make.signing(decision, world["rso"]), follow=True
    )
    assert "You wrote this decision" in response.content.decode()
    assert not SignOff.objects.filter(decision=decision).exists()
    assert "rso-holder" in gate(decision).authors


def test_a_user_who_changed_a_determination_or_a_citation_is_an_author(world):
    decision, determination = world["decision"], world["determination"]
    rso_holder = world["signers"]["RSO"]
    determination.reasoning = "Tightened by the RSO"
    determination._history_user = rso_holder
    determination.save()
    lifecycle.submit(decision, by=world["author"])
    with pytest.raises(DecisionError, match="You wrote this decision"):
        lifecycle.sign(decision, by=rso_holder, title=world["rso"], verdict="approve")


def test_submitting_or_signing_makes_nobody_an_author(world):
    decision = world["decision"]
    lifecycle.submit(decision, by=world["signers"]["CEO"])  # a lifecycle step, not a change of content
    lifecycle.sign(decision, by=world["signers"]["CEO"], title=world["ceo"], verdict="approve")
    assert "ceo-holder" not in gate(decision).authors


def test_the_decision_page_lists_its_authors(client, viewer, world):
    client.force_login(viewer)
    page = client.get(reverse("decisions:detail", args=[world["decision"].pk])).content.decode()
    assert 'class="authors">author' in page


# -- 5. parts never move off (or onto) a decision beyond a draft ------------------------------------


def test_a_part_cannot_be_moved_off_an_approved_decision(world):
    approved = approve(world)
    draft = make.decision(snap=approved.snapshot, version=world["version"])
    determination = approved.determinations.get()
    determination.decision = draft
    with pytest.raises(ValidationError):
        determination.save()
    assert Determination.objects.get(pk=determination.pk).decision_id == approved.pk


def test_a_part_cannot_be_moved_between_drafts_either(world):
    other = make.decision(snap=world["decision"].snapshot, version=world["version"])
    determination = world["determination"]
    determination.decision = other
    with pytest.raises(ValidationError, match="never moves"):
        determination.save()


def test_parts_of_a_decision_in_review_do_not_change(world):
    lifecycle.submit(world["decision"], by=world["author"])
    determination = world["determination"]
    determination.verdict = "crossed"
    with pytest.raises(ValidationError, match="Only a draft"):
        determination.save()


@postgres_only
def test_postgres_refuses_moving_a_citation_or_part_off_an_approved_decision(world):
    approved = approve(world)
    draft = make.decision(snap=approved.snapshot, version=world["version"])
    target = make.determination(draft, cat=world["cyber"])
    citation = Determination.cited_evaluations.through.objects.get(determination__decision=approved)
    for statement, params in [
        ("UPDATE decisions_determination_cited_evaluations SET determination_id = %s WHERE id = %s",
         [target.pk, citation.pk]),
        ("UPDATE decisions_determination SET decision_id = %s WHERE decision_id = %s", [draft.pk, approved.pk]),
    ]:  # fmt: skip
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, params)
    assert approved.determinations.get().cited_evaluations.count() == 1


# -- 6. the digest covers every content field -------------------------------------------------------


def test_every_field_is_in_the_digest_or_excluded_with_a_reason():
    for part, model in digest.MODELS.items():
        names = {field.attname for field in model._meta.concrete_fields}
        covered, excluded = set(digest.FIELDS[part]), set(digest.EXCLUDED[part])
        assert not covered & excluded, part
        assert names == covered | excluded, f"{part}: decide for {sorted(names - covered - excluded)}"
        assert all(reason.strip() for reason in digest.EXCLUDED[part].values())


def _mutated(value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, list):
        return value + [1]
    return f"{value}!"


def test_changing_any_covered_field_changes_the_digest(world):
    content = digest.signed_content(digest.load(world["decision"].pk))
    base = digest.digest_of(content)
    content["framework_version"]["coverage"].append({})  # make sure nested lists are reached
    sections = {
        "decision": [content["decision"]],
        "determination": content["determinations"],
        "evaluation": content["determinations"][0]["cited_evaluations"],
        "framework_version": [content["framework_version"]],
    }
    content["framework_version"]["coverage"].pop()
    for part, rows in sections.items():
        for name in digest.FIELDS[part]:
            original = rows[0][name]
            rows[0][name] = _mutated(original)
            assert digest.digest_of(content) != base, f"{part}.{name}"
            rows[0][name] = original
    assert digest.digest_of(content) == base


def test_changing_decided_by_after_one_sign_off_makes_it_stale(world):
    """The attack: after one sign-off, the author withdraws, rewrites who decided, resubmits."""
    decision = world["decision"]
    lifecycle.submit(decision, by=world["author"])
    lifecycle.sign(decision, by=world["signers"]["RSO"], title=world["rso"], verdict="approve")
    lifecycle.withdraw(decision, by=world["author"])
    decision.refresh_from_db()
    decision.decided_by = "CEO alone, overriding the RSO"
    decision._history_user = world["author"]
    decision.save()
    lifecycle.submit(decision, by=world["author"])
    lifecycle.sign(decision, by=world["signers"]["CEO"], title=world["ceo"], verdict="approve")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.IN_REVIEW  # the RSO's sign-off no longer counts
    stale = next(c for c in gate(decision).checks if c.code == "stale_sign_offs")
    assert "decided by — → CEO alone, overriding the RSO" in stale.reason


def test_coverage_of_the_framework_version_is_in_the_digest(world):
    before = digest.decision_digest(world["decision"])
    coverage = Coverage.objects.get(framework_version=world["version"])
    coverage.note = "Now with a note"
    coverage.save()
    assert digest.decision_digest(world["decision"]) != before


def test_sign_offs_of_the_first_format_still_verify(world):
    """A sign-off made before format 2 keeps counting as long as what it signed is unchanged."""
    decision = world["decision"]
    lifecycle.submit(decision, by=world["author"])
    loaded = digest.load(decision.pk)
    old = digest.signed_content(loaded, 1)
    signer = world["signers"]["RSO"]
    legacy = SignOff(decision=decision, signer=signer, title=world["rso"], verdict="approve",
                     digest=digest.digest_of(old), content_version=1, signed_content=old)  # fmt: skip
    legacy._history_user = signer
    legacy.save()
    report = gate(decision)
    assert report.is_current(legacy)
    assert "RSO" not in next(c for c in report.checks if c.code == "sign_offs").reason.split("by:")[-1]


def test_sign_offs_of_format_2_still_verify_after_format_3(world):
    """A sign-off made before safety margins and review conditions were signed (format 3) keeps counting."""
    decision = world["decision"]
    lifecycle.submit(decision, by=world["author"])
    old = digest.signed_content(digest.load(decision.pk), 2)
    assert old["format"] == 2 and "review_conditions" not in old
    assert all("safety_margin" not in d for d in old["determinations"])
    signer = world["signers"]["RSO"]
    legacy = SignOff(decision=decision, signer=signer, title=world["rso"], verdict="approve",
                     digest=digest.digest_of(old), content_version=2, signed_content=old)  # fmt: skip
    legacy._history_user = signer
    legacy.save()
    assert gate(decision).is_current(legacy)
    assert digest.CONTENT_VERSION == 3 and digest.signed_content(digest.load(decision.pk))["format"] == 3


# -- 8. approved, then changed: shown everywhere, in words, and re-affirmed -------------------------


def _edit_evaluation(client, evaluation, **changes):
    url = reverse("evaluations:edit", args=[evaluation.pk])
    form = client.get(url).context["form"]
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    if not isinstance(data.get("comparisons"), str):
        data["comparisons"] = json.dumps(data.get("comparisons") or [])
    data.update(changes)
    return client.post(url, data)


def test_editing_a_cited_evaluation_warns_and_needs_a_reason(client, world):
    approve(world)
    evaluation = world["evaluation"]
    client.force_login(world["author"])
    page = client.get(reverse("evaluations:edit", args=[evaluation.pk])).content.decode()
    assert "Decisions rest on this evaluation" in page
    assert "Limited access" in page and "re-affirmation by" in page
    response = _edit_evaluation(client, evaluation, outcome="saturated", score="100")
    assert response.status_code == 200
    assert "say why you change it" in response.content.decode()
    assert Evaluation.objects.get(pk=evaluation.pk).outcome == "signal_met"
    response = _edit_evaluation(client, evaluation, outcome="saturated", score="100", change_reason="Rescored")
    assert response.status_code == 302, response.context["form"].errors
    assert Evaluation.objects.get(pk=evaluation.pk).history.first().history_change_reason == "Rescored"


def test_attaching_evidence_to_a_cited_evaluation_needs_a_reason(client, world):
    approve(world)
    client.force_login(world["author"])
    url = reverse("evaluations:evidence-add", args=[world["evaluation"].pk])
    data = {"kind": "note", "title": "Re-run", "note": "Scores went up."}
    assert client.post(url, data).status_code == 400
    assert not Evidence.objects.exists()
    assert client.post(url, {**data, "change_reason": "Re-run logs"}).status_code == 302
    assert Evidence.objects.get().history.first().history_change_reason == "Re-run logs"


def test_every_write_path_needs_the_reason(world):
    approve(world)
    evaluation = Evaluation.objects.get(pk=world["evaluation"].pk)
    evaluation.score = 100
    with pytest.raises(ValidationError, match="needs a reason"):
        evaluation.save()


def test_an_approved_decision_shows_what_changed_in_words_everywhere(client, viewer, world):
    decision = approve(world)
    evaluation = Evaluation.objects.get(pk=world["evaluation"].pk)
    evaluation.outcome, evaluation.score = "saturated", 100
    evaluation._history_user = world["author"]
    evaluation._change_reason = "Rescored after the re-run"
    evaluation.save()

    report = gate(decision)
    assert report.decision_status == "approved" and report.status == BLOCK
    assert report.headline.startswith("Approved — changed since signing, awaiting re-affirmation by")
    (change,) = report.material_change.changes
    assert change.text.startswith(
        "Evaluation 'Cyber ranges' (§3.4): outcome Alert / signal met → Saturated; score 70 → 100; by author on "
    )
    assert change.text.endswith("reason: Rescored after the re-run")
    assert review_states([decision])[decision.pk].label == "Approved — changed since signing"

    client.force_login(viewer)
    for url in (
        reverse("decisions:list"),
        reverse("home"),
        decision.snapshot.model.get_absolute_url(),
    ):
        assert "Approved — changed since signing" in client.get(url).content.decode(), url
    page = client.get(decision.get_absolute_url()).content.decode()
    assert "Changed since signing" in page and "signal met → Saturated" in page

    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("gate", str(decision.pk), "--json", stdout=out)
    assert exit_.value.code == 1
    data = json.loads(out.getvalue())
    assert data["decision"]["status"] == "approved"
    assert data["material_change"]["awaiting_reaffirmation_by"] == ["CEO", "RSO"]
    assert "score 70 → 100" in data["material_change"]["changes"][0]
    _, raw = ApiToken.issue(viewer, "pipeline")
    api = client.get(reverse("decisions:api-gate", args=[decision.pk]), HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert api["material_change"] == data["material_change"] and api["decision"]["status"] == "approved"


def test_re_affirmation_by_each_title_lets_the_gate_pass_again(world):
    decision = approve(world)
    originals = list(SignOff.objects.filter(decision=decision))
    evaluation = Evaluation.objects.get(pk=world["evaluation"].pk)
    evaluation.score = 100
    evaluation._change_reason = "Rescored"
    evaluation.save()

    with pytest.raises(DecisionError, match="You wrote this decision"):
        world["rso"].holders.add(world["author"])
        lifecycle.reaffirm(decision, by=world["author"], title=world["rso"])
    lifecycle.reaffirm(decision, by=world["signers"]["RSO"], title=world["rso"], comment="Still holds")
    assert gate(decision).material_change.awaiting == ["CEO"]
    with pytest.raises(DecisionError, match="already signed"):
        lifecycle.reaffirm(decision, by=world["signers"]["RSO"], title=world["rso"])
    lifecycle.reaffirm(decision, by=world["signers"]["CEO"], title=world["ceo"])

    report = gate(decision)
    assert report.passed and report.material_change is None and report.headline == "Approved"
    assert next(c for c in report.checks if c.code == "sign_offs").status == PASS
    stale = next(c for c in report.checks if c.code == "stale_sign_offs")
    assert stale.status == PASS and "replaced (2) stay in the record" in stale.reason
    sign_offs = list(SignOff.objects.filter(decision=decision).order_by("id"))
    assert [s.kind for s in sign_offs] == ["sign", "sign", "reaffirm", "reaffirm"]
    assert {s.digest for s in sign_offs[:2]} == {originals[0].digest}
    assert {s.digest for s in sign_offs[2:]} == {report.digest} != {originals[0].digest}
    assert [a.kind for a in decision.affirmations.order_by("id")] == ["approved", "reaffirmed"]
    with pytest.raises(DecisionError, match="nothing to re-affirm"):
        lifecycle.reaffirm(decision, by=world["signers"]["CEO"], title=world["ceo"])


def test_re_affirming_through_the_page(client, world):
    decision = approve(world)
    evaluation = Evaluation.objects.get(pk=world["evaluation"].pk)
    evaluation.score = 100
    evaluation._change_reason = "Rescored"
    evaluation.save()
    client.force_login(world["signers"]["RSO"])
    page = client.get(decision.get_absolute_url()).content.decode()
    assert "Re-affirm the decision against the new content" in page
    response = make.post_confirmed(client, reverse("decisions:reaffirm", args=[decision.pk]),
                               {"title": world["rso"].pk, "digest": gate(decision).digest})
    assert response.status_code == 302
    assert SignOff.objects.filter(decision=decision, kind="reaffirm").count() == 1


# -- recorded from a published source ---------------------------------------------------------------


def test_a_recorded_decision_is_neither_gate_approved_nor_blocked(world):
    decision = world["decision"]
    decision.source_section = "1.2"
    decision.save()
    lifecycle.record_from_source(decision, by=world["author"])
    report = gate(decision)
    assert report.status == "recorded" and not report.passed
    assert report.headline == "Recorded from a published source; no sign-off data"
    assert review_states([decision])[decision.pk].label == "Recorded (published source)"
    with pytest.raises(DecisionError, match="recorded from a published source"):
        lifecycle.reaffirm(decision, by=world["signers"]["RSO"], title=world["rso"])


# -- found by trying to break it after the first fixes ---------------------------------------------


def _gate_command(decision) -> tuple[int, dict]:
    out = io.StringIO()
    try:
        call_command("gate", str(decision.pk), "--json", stdout=out)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, json.loads(out.getvalue())


def test_only_an_approved_decision_passes_the_release_pipeline(world):
    decision = world["decision"]
    world["version"].required_titles.clear()  # a version nobody signs for: allowed while only drafts use it
    report = gate(decision)
    assert not report.passed and not report.release_allowed
    assert "nobody can approve" in next(c for c in report.checks if c.code == "sign_offs").reason
    code, data = _gate_command(decision)
    assert code == 1 and data["passed"] is False and data["decision"]["status"] == "draft"

    world["version"].required_titles.set([world["rso"], world["ceo"]])
    approved = approve(world)
    code, data = _gate_command(approved)
    assert code == 0 and data["passed"] is True
    draft = lifecycle.supersede(approved, by=world["author"])
    assert _gate_command(draft)[0] == 1  # a copy of an approved decision is still only a draft


def test_deleting_a_required_title_of_a_frozen_version_is_refused(world, admin_client):
    approve(world)
    with pytest.raises(ValidationError, match="no longer changes"), transaction.atomic():
        world["ceo"].delete()
    with pytest.raises(ValidationError, match="no longer changes"), transaction.atomic():
        world["ceo"].framework_versions.remove(world["version"])
    response = admin_client.post(
        reverse("admin:frameworks_governancetitle_delete", args=[world["ceo"].pk]), {"post": "yes"}
    )
    assert response.status_code in (200, 302)
    assert GovernanceTitle.objects.filter(pk=world["ceo"].pk).exists()
    assert set(world["version"].required_titles.all()) == {world["rso"], world["ceo"]}


def test_the_admin_records_who_acknowledged_a_gap(world, admin_client):
    impostor_target = world["signers"]["RSO"]
    response = admin_client.post(reverse("admin:decisions_gapacknowledgement_add"), {
        "decision": world["decision"].pk, "category": make.category("bio-x").pk,
        "rationale": "Accepted.", "acknowledged_by": impostor_target.pk,
    })  # fmt: skip
    assert response.status_code == 302
    acknowledgement = world["decision"].gap_acknowledgements.get()
    assert acknowledgement.acknowledged_by.username == "admin"
    assert impostor_target.pk not in lifecycle.authors_of(world["decision"])


def test_the_admin_offers_no_change_to_a_decision_in_review_and_never_answers_500(world, admin_client):
    decision = world["decision"]
    lifecycle.submit(decision, by=world["author"])
    url = reverse("admin:decisions_releasedecision_change", args=[decision.pk])
    response = admin_client.post(url, admin_form(decision, title="Rewritten in review"))
    assert response.status_code in (302, 403)
    decision.refresh_from_db()
    assert decision.title == "Limited access"
    url = reverse("admin:decisions_determination_change", args=[world["determination"].pk])
    assert admin_client.post(url, {"verdict": "crossed"}).status_code in (302, 403)
    # adding a part to a decision beyond a draft: a message, not a server error
    response = admin_client.post(reverse("admin:decisions_gapacknowledgement_add"), {
        "decision": decision.pk, "category": make.category("bio-y").pk, "rationale": "Late.",
    })  # fmt: skip
    assert response.status_code == 302
    assert not decision.gap_acknowledgements.exists()


def test_the_admin_offers_no_change_to_a_frozen_version(world, admin_client):
    approve(world)
    version = world["version"]
    response = admin_client.get(reverse("admin:frameworks_frameworkversion_change", args=[version.pk]))
    assert response.status_code == 200 and b'name="_save"' not in response.content
    coverage = Coverage.objects.get(framework_version=version)
    url = reverse("admin:frameworks_coverage_change", args=[coverage.pk])
    assert admin_client.post(url, {"level": "none"}).status_code == 403
    coverage.refresh_from_db()
    assert coverage.level == "formal"


def test_a_concerning_result_recorded_after_approval_is_a_material_change_not_a_silent_block(world):
    decision = approve(world)
    uncovered = make.category("autonomy-uncovered")
    make.evaluation(snap=decision.snapshot, cat=uncovered, title="Autonomy suite", source_section="5.1",
                    outcome="saturated")  # fmt: skip

    report = gate(decision)
    assert not report.passed  # the coverage-gap check now blocks ...
    assert report.material_change is not None  # ... and the decision says why, in words
    words = " ".join(change.text for change in report.material_change.changes)
    assert f"Evaluation 'Autonomy suite' (§5.1) in {uncovered.name}" in words
    assert "a new concerning result: Saturated" in words
    assert report.headline.startswith("Approved — changed since signing")
    assert review_states([decision])[decision.pk].changed
    with pytest.raises(DecisionError, match="supersede it instead"):
        lifecycle.reaffirm(decision, by=world["signers"]["RSO"], title=world["rso"])
