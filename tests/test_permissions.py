"""Every URL × every role (and anonymous): the status each gets, and a refused POST changes nothing."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from riskreg.audit.models import AuditEvent
from riskreg.decisions.models import ReleaseDecision
from riskreg.evaluations.models import Evaluation, Evidence
from riskreg.filings.models import Incident
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "evaluator", "approver", "auditor", "compliance", "superuser"]
EVERYONE = {"viewer", "evaluator", "approver", "auditor", "compliance", "superuser"}
COMPLIANCE = {"compliance", "superuser"}
EVALUATORS = {"evaluator", "superuser"}
AUDITORS = {"auditor", "superuser"}


@pytest.fixture
def site(demo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    evaluation = Evaluation.objects.get(title__startswith="Cybench")
    piece = Evidence(evaluation=evaluation, kind="file", title="Log", added_by=evaluation.recorded_by,
                     original_name="log.json", content_type="application/json")  # fmt: skip
    piece.file.save("log.json", ContentFile(b'{"ok": true}'), save=False)
    piece._change_reason = "Attach the run log."
    piece.save()
    return {
        "evaluation": evaluation.pk,
        "piece": piece.pk,
        "risk": Risk.objects.get(code="R17").pk,
        "approved": ReleaseDecision.objects.get(reference="D8").pk,
        "draft": ReleaseDecision.objects.get(reference="GA-DRAFT").pk,
        "incident": Incident.objects.order_by("id").first().pk,
        "determination": ReleaseDecision.objects.get(reference="GA-DRAFT").determinations.first().pk,
    }


def pages(ids):
    """(url, roles allowed) for every GET page."""
    return [
        (reverse("home"), EVERYONE),
        (reverse("evaluations:model-detail", args=["claude-mythos-preview"]), EVERYONE),
        (reverse("evaluations:list"), EVERYONE),
        (reverse("evaluations:list") + "?export=csv", EVERYONE),
        (reverse("evaluations:detail", args=[ids["evaluation"]]), EVERYONE),
        (reverse("evaluations:evidence-download", args=[ids["piece"]]), EVERYONE),
        (reverse("evaluations:create"), EVALUATORS),
        (reverse("evaluations:edit", args=[ids["evaluation"]]), EVALUATORS),
        (reverse("risks:list"), EVERYONE),
        (reverse("risks:list") + "?export=csv", EVERYONE),
        (reverse("risks:detail", args=[ids["risk"]]), EVERYONE),
        (reverse("risks:create"), EVALUATORS),
        (reverse("risks:edit", args=[ids["risk"]]), EVALUATORS),
        (reverse("decisions:list"), EVERYONE),
        (reverse("decisions:list") + "?export=csv", EVERYONE),
        (reverse("decisions:detail", args=[ids["approved"]]), EVERYONE),
        (reverse("decisions:detail", args=[ids["draft"]]), EVERYONE),
        (reverse("decisions:create"), EVALUATORS),
        (reverse("decisions:edit", args=[ids["draft"]]), EVALUATORS),
        (reverse("decisions:determination-add", args=[ids["draft"]]), EVALUATORS),
        (reverse("decisions:determination-edit", args=[ids["draft"], ids["determination"]]), EVALUATORS),
        (reverse("decisions:gap-add", args=[ids["draft"]]), EVALUATORS),
        (reverse("importers:upload"), EVALUATORS),
        (reverse("accounts:settings"), EVERYONE),
        (reverse("audit:list"), AUDITORS),
        (reverse("audit:export", args=["csv"]), AUDITORS),
        (reverse("audit:export", args=["jsonl"]), AUDITORS),
        (reverse("filings:model-report", args=[ids["approved"]]), EVERYONE),
        (reverse("filings:model-report", args=[ids["approved"]]) + "?format=json", EVERYONE),
        (reverse("filings:incidents"), EVERYONE),
        (reverse("filings:incident", args=[ids["incident"]]), EVERYONE),
        (reverse("filings:incident-new"), COMPLIANCE),
        (reverse("filings:incident-edit", args=[ids["incident"]]), COMPLIANCE),
        (reverse("filings:report-new", args=[ids["incident"]]), COMPLIANCE),
        (reverse("filings:transparency", args=[ids["approved"]]), EVERYONE),
        (reverse("filings:filing-issue", args=[ids["approved"], "model_report"]), COMPLIANCE),
        (reverse("filings:filing-issue", args=[ids["approved"], "transparency_report"]), COMPLIANCE),
    ]


def login(client, request, role):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))


@pytest.mark.parametrize("role", ROLES)
def test_every_page_answers_each_role_as_designed(client, request, site, role):
    login(client, request, role)
    for url, allowed in pages(site):
        response = client.get(url)
        if role == "anonymous":
            expected = 302
        else:
            expected = 200 if role in allowed else 403
        assert response.status_code == expected, (role, url, response.status_code)
        if expected == 302:
            assert response["Location"].startswith(reverse("accounts:login")), url


def test_no_page_edits_an_approved_decision(client, superuser, site):
    client.force_login(superuser)
    pk = site["approved"]
    determination = ReleaseDecision.objects.get(pk=pk).determinations.first()
    for url in (
        reverse("decisions:edit", args=[pk]),
        reverse("decisions:determination-add", args=[pk]),
        reverse("decisions:determination-edit", args=[pk, determination.pk]),
        reverse("decisions:gap-add", args=[pk]),
    ):
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"title": "changed"}).status_code == 403, url


def posts(ids):
    """(url, data, roles allowed to make the change)."""
    return [
        (reverse("evaluations:create"), {"title": "x"}, EVALUATORS),
        (reverse("evaluations:edit", args=[ids["evaluation"]]), {"title": "x"}, EVALUATORS),
        (reverse("evaluations:evidence-add", args=[ids["evaluation"]]), {"kind": "note", "title": "n", "note": "n"},
         EVALUATORS),
        (reverse("risks:create"), {"code": "R99"}, EVALUATORS),
        (reverse("risks:edit", args=[ids["risk"]]), {"title": "x"}, EVALUATORS),
        (reverse("decisions:create"), {"title": "x"}, EVALUATORS),
        (reverse("decisions:edit", args=[ids["draft"]]), {"title": "x"}, EVALUATORS),
        (reverse("decisions:submit", args=[ids["draft"]]), {}, EVALUATORS),
        (reverse("decisions:supersede", args=[ids["approved"]]), {}, EVALUATORS),
        (reverse("decisions:determination-add", args=[ids["draft"]]), {"verdict": "crossed"}, EVALUATORS),
        (reverse("decisions:gap-add", args=[ids["draft"]]), {"rationale": "x"}, EVALUATORS),
        (reverse("decisions:sign", args=[ids["draft"]]), {"verdict": "approve"}, {"approver", "superuser"}),
        (reverse("decisions:withdraw", args=[ids["draft"]]), {}, EVALUATORS),
        (reverse("importers:upload"), {"snapshot": "1"}, EVALUATORS),
        (reverse("importers:confirm"), {"token": "0" * 32}, EVALUATORS),
        (reverse("filings:incident-new"), {"title": "x"}, COMPLIANCE),
        (reverse("filings:incident-edit", args=[ids["incident"]]), {"title": "x"}, COMPLIANCE),
        (reverse("filings:report-new", args=[ids["incident"]]), {"content": "x"}, COMPLIANCE),
        (reverse("filings:filing-issue", args=[ids["approved"], "model_report"]), {"changelog": "x"}, COMPLIANCE),
    ]  # fmt: skip


def snapshot_of_writes():
    return AuditEvent.objects.count()


@pytest.mark.parametrize("role", ["anonymous", "viewer", "approver", "auditor", "compliance"])
def test_a_refused_post_changes_nothing(client, request, site, role):
    login(client, request, role)
    for url, data, allowed in posts(site):
        if role in allowed:
            continue
        before = snapshot_of_writes()
        response = client.post(url, data)
        assert response.status_code == (302 if role == "anonymous" else 403), (role, url)
        assert snapshot_of_writes() == before, (role, url)


def test_approvers_cannot_sign_what_is_not_in_review(client, request, site):
    approver = request.getfixturevalue("approver")
    client.force_login(approver)
    before = snapshot_of_writes()
    response = client.post(reverse("decisions:sign", args=[site["draft"]]), {"verdict": "approve"})
    assert response.status_code in (302, 400)
    assert snapshot_of_writes() == before
