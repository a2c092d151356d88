"""Issue 19: issued reports — versions with a changelog, interim versions, and the transparency report's
redaction step whose published copy keeps the SHA-256 of the unredacted one."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from conftest import postgres_only
from riskreg.audit.models import AuditEvent
from riskreg.decisions import lifecycle
from riskreg.decisions.models import GapAcknowledgement, ReleaseDecision
from riskreg.filings import issue, redaction
from riskreg.filings.models import Filing

pytestmark = pytest.mark.django_db


def _d8():
    return ReleaseDecision.objects.get(reference="D8")


def test_the_transparency_report_takes_what_the_record_has_and_lists_the_rest(demo, client, viewer):
    client.force_login(viewer)
    report = client.get(reverse("filings:transparency", args=[_d8().pk]), {"format": "json"}).json()
    fields = report["fields"]
    assert fields["release_date"]["value"] == _d8().effective_date.isoformat()
    assert fields["intended_uses"]["value"] == _d8().scope_details
    assert fields["risk_assessments"]["lines"] and fields["risk_assessments"]["source"] == "the record"
    assert fields["website"]["value"] is None
    assert any(gap.startswith("Developer's website") for gap in report["gaps"])
    assert report["illustration"]


def test_a_published_copy_withholds_with_reasons_and_still_corresponds(demo, compliance):
    filing = issue.issue(_d8(), "transparency_report", compliance, inputs={"website": "https://example.org"},
                         withheld={"third_parties": "Names of evaluators under contract (trade secret)."})  # fmt: skip
    published, unredacted = filing.published, filing.content
    assert published["fields"]["third_parties"]["value"]["withheld"].startswith("Names of evaluators")
    assert "lines" not in published["fields"]["third_parties"]
    assert unredacted["fields"]["third_parties"]["lines"]  # the unredacted copy keeps it
    assert published["withheld"] == [{"field": "third_parties", "title": published["fields"]["third_parties"]["title"],
                                      "reason": "Names of evaluators under contract (trade secret)."}]  # fmt: skip
    assert published["unredacted_sha256"] == filing.content_sha256 == redaction.sha256_of(unredacted)
    assert filing.published_sha256 == redaction.sha256_of(published)
    assert redaction.verify(unredacted, published) == []
    assert published["fields"]["website"]["source"].startswith("given at issue by")
    # A different unredacted copy, or a changed withheld value, is caught.
    forged = json.loads(json.dumps(unredacted))
    forged["fields"]["third_parties"]["lines"] = ["Nobody"]
    problems = redaction.verify(forged, published)
    assert any("SHA-256" in p for p in problems) and any("withheld third_parties" in p for p in problems)


def test_a_withholding_needs_a_reason_and_a_known_field(demo, compliance):
    with pytest.raises(issue.IssueError, match="Nothing to withhold"):
        issue.issue(_d8(), "transparency_report", compliance, withheld={"secret_sauce": "because"})
    with pytest.raises(issue.IssueError, match="Only a transparency report"):
        issue.issue(_d8(), "model_report", compliance, withheld={"contact": "because"})
    assert not Filing.objects.exists()


def test_versions_are_numbered_need_a_changelog_and_never_change(demo, compliance):
    first = issue.issue(_d8(), "model_report", compliance)
    assert (first.version, first.changelog, first.interim) == (1, "First version.", False)
    with pytest.raises(issue.IssueError, match="Say what changed since version 1"):
        issue.issue(_d8(), "model_report", compliance)
    second = issue.issue(_d8(), "model_report", compliance, changelog="Re-issued after review.", interim=True)
    assert second.version == 2 and second.interim and second.content["status"] == "interim"
    assert "changes_since_previous" in second.content
    second.changelog = "rewritten"
    with pytest.raises(ValidationError), transaction.atomic():
        second.save()
    with pytest.raises(ValidationError), transaction.atomic():
        second.delete()
    assert Filing.objects.get(pk=second.pk).changelog == "Re-issued after review."
    assert AuditEvent.objects.filter(model="filings.Filing").count() == 2


def test_a_report_on_a_decision_in_review_is_interim(demo, compliance, evaluator):
    draft = ReleaseDecision.objects.get(reference="GA-DRAFT")
    with pytest.raises(issue.IssueError):
        issue.issue(draft, "model_report", compliance)
    gap = GapAcknowledgement(decision=draft, category=draft.determinations.get(category__slug="cyber").category,
                             rationale="Cyber is outside RSP v3.0; withheld from general release.",
                             acknowledged_by=evaluator)  # fmt: skip
    with transaction.atomic():
        gap._history_user = evaluator
        gap.save()
    lifecycle.submit(draft, by=evaluator)  # through the lifecycle: PostgreSQL refuses any other status change
    filing = issue.issue(ReleaseDecision.objects.get(pk=draft.pk), "model_report", compliance)
    assert filing.interim and filing.content["status"] == "interim"


def test_compliance_officers_issue_through_the_page_and_others_read_the_published_copy(demo, client, compliance,
                                                                                        viewer):  # fmt: skip
    client.force_login(compliance)
    url = reverse("filings:filing-issue", args=[_d8().pk, "transparency_report"])
    assert client.get(url).status_code == 200
    response = client.post(url, {"changelog": "", "given_website": "https://example.org",
                                 "withhold_contact": "Personal data of an employee."})  # fmt: skip
    assert response.status_code == 302
    filing = Filing.objects.get()
    assert filing.published["withheld"][0]["field"] == "contact"
    client.force_login(viewer)
    page = client.get(filing.get_absolute_url()).content.decode()
    assert "Personal data of an employee." in page and filing.content_sha256 in page
    assert client.get(filing.get_absolute_url(), {"copy": "unredacted"}).status_code == 403
    assert client.get(url).status_code == 403
    assert client.post(url, {"changelog": "x"}).status_code == 403 and Filing.objects.count() == 1
    decision_page = client.get(_d8().get_absolute_url()).content.decode()
    assert "Transparency report v1" in decision_page


def test_an_outsider_checks_the_published_copy_against_the_unredacted_one_with_verify_py(demo, client, compliance,
                                                                                         tmp_path):  # fmt: skip
    import subprocess
    import sys
    from pathlib import Path

    filing = issue.issue(_d8(), "transparency_report", compliance,
                         withheld={"risk_assessments": "Would help an attacker (public safety)."})  # fmt: skip
    client.force_login(compliance)
    published = client.get(filing.get_absolute_url(), {"format": "json"}).content
    unredacted = client.get(filing.get_absolute_url(), {"format": "json", "copy": "unredacted"}).content
    (tmp_path / "published.json").write_bytes(published)
    (tmp_path / "unredacted.json").write_bytes(unredacted)
    script = Path(__file__).resolve().parents[2] / "riskreg" / "audit" / "verify.py"

    def check(*names):
        return subprocess.run([sys.executable, str(script), "redaction", *map(str, names)], capture_output=True,
                              text=True, cwd=tmp_path, timeout=60)  # fmt: skip

    result = check(tmp_path / "published.json", tmp_path / "unredacted.json")
    assert result.returncode == 0 and "1 item(s) withheld" in result.stdout, result.stderr
    other = json.loads(unredacted)
    other["fields"]["risk_assessments"]["lines"][0] = "Nothing to see."
    (tmp_path / "other.json").write_text(json.dumps(other))
    result = check(tmp_path / "published.json", tmp_path / "other.json")
    assert result.returncode == 1 and "withheld risk_assessments does not match" in result.stderr


def test_a_second_version_without_a_changelog_is_refused_with_the_reason_not_a_500(demo, client, compliance):
    client.force_login(compliance)
    url = reverse("filings:filing-issue", args=[_d8().pk, "model_report"])
    assert client.post(url, {"changelog": ""}).status_code == 302
    response = client.post(url, {"changelog": ""})
    assert response.status_code == 400 and "Say what changed since version 1" in response.content.decode()
    assert Filing.objects.count() == 1


def test_unknown_formats_and_copies_are_a_400(demo, client, compliance):
    filing = issue.issue(_d8(), "model_report", compliance)
    client.force_login(compliance)
    for query in ({"copy": "UNREDACTED"}, {"format": "pdf"}, {"format": "xml"}):
        assert client.get(filing.get_absolute_url(), query).status_code == 400, query
    assert client.get(reverse("filings:model-report", args=[_d8().pk]), {"format": "docx"}).status_code == 400


@postgres_only
def test_the_apps_own_database_role_cannot_rewrite_a_sent_report_or_an_issued_filing(demo, compliance):
    """Raw SQL as the app's role: refused by the triggers (and, with two roles, by the grants)."""
    from django.db import DatabaseError, connection

    from riskreg.filings.models import Incident, IncidentReport

    filing = issue.issue(_d8(), "transparency_report", compliance)
    incident = Incident.objects.first()
    sent = IncidentReport(incident=incident, regime="eu", kind="initial", sent_at=filing.issued_at, sent_to="AI Office",
                          content="What was sent.", sent_by=compliance)  # fmt: skip
    with transaction.atomic():
        sent.save()
    for sql in ("UPDATE filings_incidentreport SET content = 'rewritten'", "DELETE FROM filings_incidentreport",
                "UPDATE filings_filing SET changelog = 'rewritten'", "DELETE FROM filings_filing"):  # fmt: skip
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert IncidentReport.objects.get().content == "What was sent."
    assert Filing.objects.get().changelog == "First version."
