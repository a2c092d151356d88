"""Issue 19 on the demo: the crosswalk's compliance gap, the model report, the incident register and its rules."""

import datetime
import hashlib
import json

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from riskreg.audit.models import AuditEvent
from riskreg.decisions.digest import load
from riskreg.decisions.models import ReleaseDecision
from riskreg.evaluations.models import AIModel
from riskreg.filings import crosswalk
from riskreg.filings.models import Incident, IncidentReport

pytestmark = pytest.mark.django_db


def test_the_mythos_decision_shows_cyber_offence_as_a_compliance_gap(demo, client, viewer):
    decision = ReleaseDecision.objects.get(reference="D8")
    rows = {row.slug: row for row in crosswalk.for_decision(load(decision.pk))}
    assert rows["cyber_offence"].gap and rows["harmful_manipulation"].gap
    assert not rows["cbrn"].gap and not rows["loss_of_control"].gap
    assert "no tier" in rows["cyber_offence"].text and "Cyber" in rows["cyber_offence"].text
    client.force_login(viewer)
    html = client.get(decision.get_absolute_url()).content.decode()
    assert "Compliance gaps" in html and "Cyber offence: no tier in this framework version" in html
    assert reverse("filings:model-report", args=[decision.pk]) in html


def test_the_model_report_fills_each_section_from_the_record_or_lists_the_gap(demo, client, viewer):
    decision = ReleaseDecision.objects.get(reference="D8")
    client.force_login(viewer)
    response = client.get(reverse("filings:model-report", args=[decision.pk]), {"format": "json"})
    assert response.status_code == 200
    report = json.loads(response.content)
    assert [s["key"] for s in report["sections"]] == ["7.1", "7.2", "7.3", "7.4", "7.5"]
    for section in report["sections"]:
        assert section["items"] or section["gaps"], section["key"]
    # D8 was recorded from the card, not decided here: the notice says so, and does not call it invented.
    assert report["illustration"] and report["notice"].startswith("Recorded from a published source")
    assert report["decision"]["provenance"]["origin"] == "recorded" and "illustration made" not in report["notice"]
    assert report["gaps"] == [{"section": s["key"], "gap": g} for s in report["sections"] for g in s["gaps"]]
    gaps = " ".join(g["gap"] for g in report["gaps"])
    assert "Safety margin" in gaps and "samples" in gaps and "Sign-offs: the decision was recorded" in gaps
    items = {i["label"]: i for s in report["sections"] for i in s["items"]}
    assert items["Reasons for proceeding (the decision's rationale)"]["value"] == decision.rationale
    assert report["decision"]["digest"] and report["model"]["name"] == "Claude Mythos Preview"
    # Near misses from §4.1.1 appear under material changes, with their references.
    changes = items["Incidents and near misses recorded for this model"]["lines"]
    assert any("sandbox" in line["text"] and line["provenance"]["section"] == "4.1.1" for line in changes)
    html = client.get(reverse("filings:model-report", args=[decision.pk])).content.decode()
    assert "Gaps to fill" in html and "7.3" in html and "Recorded, not decided here." in html


def test_an_illustration_decided_here_is_not_called_recorded_from_the_source(demo, client, viewer):
    """ILLUS-1 was made up and signed in riskreg: its reports say so, not that it came from the card."""
    decision = ReleaseDecision.objects.get(reference="ILLUS-1")
    client.force_login(viewer)
    report = json.loads(client.get(reverse("filings:model-report", args=[decision.pk]), {"format": "json"}).content)
    assert report["decision"]["provenance"]["origin"] == "illustration"
    assert report["notice"].startswith("An illustration made in riskreg") and "published source" not in report["notice"]
    html = client.get(reverse("filings:model-report", args=[decision.pk])).content.decode()
    assert "<strong>Illustration.</strong> An illustration made in riskreg" in html


def test_no_model_report_for_a_draft(demo, client, viewer):
    draft = ReleaseDecision.objects.get(reference="GA-DRAFT")
    client.force_login(viewer)
    response = client.get(reverse("filings:model-report", args=[draft.pk]))
    assert response.status_code == 409 and b"draft" in response.content


def test_the_model_report_pdf_has_the_sections(demo, client, viewer):
    import shutil
    import subprocess

    pytest.importorskip("weasyprint")
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is needed")
    decision = ReleaseDecision.objects.get(reference="D8")
    client.force_login(viewer)
    response = client.get(reverse("filings:model-report", args=[decision.pk]), {"format": "pdf"})
    if response.status_code == 503:
        pytest.skip("WeasyPrint's system libraries are missing")
    assert response["Content-Type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True,
                          check=True).stdout.decode()  # fmt: skip
    for words in ("Safety and Security Model Report", "7.1 The model and its versions", "Gaps to fill",
                  "Cyber offence", "Claude Mythos Preview"):  # fmt: skip
        assert words.lower() in " ".join(text.split()).lower(), words  # the kicker is in capitals


def test_the_demo_near_misses_are_labelled_with_their_sections_and_start_no_clock(demo):
    near = list(Incident.objects.all())
    assert len(near) == 2
    for incident in near:
        assert incident.kinds == ["near_miss"] and incident.jurisdictions == [] and incident.aware_at is None
        assert incident.source_section == "4.1.1" and "inference" in incident.source_note
        assert incident.snapshot.name == "Early snapshot"
        assert AuditEvent.objects.filter(model="filings.Incident", object_id=str(incident.pk)).exists()


def _incident(by, **changes) -> Incident:
    values = dict(title="Weights copied out", statement="Model weights were copied to an unknown host.",
                  kinds=["cyber_breach"], jurisdictions=["eu", "ca", "ny"], model=AIModel.objects.get(),
                  aware_at=timezone.now() - datetime.timedelta(days=1), recorded_by=by)  # fmt: skip
    values.update(changes)
    incident = Incident(**values)
    incident.full_clean()
    with transaction.atomic():
        incident._history_user = by
        incident.save()
    return incident


def test_a_compliance_officer_records_an_incident_and_a_report_and_sees_the_clocks(demo, client, compliance):
    client.force_login(compliance)
    aware = timezone.now() - datetime.timedelta(days=6)
    response = client.post(reverse("filings:incident-new"), {
        "title": "Weights copied out", "statement": "Weights were copied to an unknown host.",
        "kinds": ["cyber_breach"], "jurisdictions": ["eu", "ny"], "model": AIModel.objects.get().pk,
        "aware_at": aware.strftime("%Y-%m-%dT%H:%M"), "source_mark": "illustration",
        "source_note": "A test incident.",
    })  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:3000]
    incident = Incident.objects.get(title="Weights copied out")
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "EU AI Act: initial report" in page and "overdue by" in page  # the EU's 5 days ran out
    # New York's RAISE Act is in force from 1 Jan 2027: no clock for an incident discovered before
    labels = [clock.label for clock, _state, _words in client.get(incident.get_absolute_url()).context["clocks"]]
    assert labels and not any(label.startswith("New York") for label in labels), labels
    listing = client.get(reverse("filings:incidents")).content.decode()
    assert incident.reference in listing and "overdue by" in listing
    content = "Initial report: weights copied out; we are investigating."
    response = client.post(reverse("filings:report-new", args=[incident.pk]), {
        "regime": "eu", "kind": "initial", "sent_at": timezone.now().strftime("%Y-%m-%dT%H:%M"),
        "sent_to": "AI Office, by its reporting form", "content": content,
    })  # fmt: skip
    assert response.status_code == 302
    report = IncidentReport.objects.get(incident=incident)
    assert report.content_sha256 == hashlib.sha256(content.encode()).hexdigest() and report.sent_by == compliance
    page = client.get(incident.get_absolute_url()).content.decode()
    assert report.content_sha256 in page and "EU AI Act: intermediate report" in page
    assert AuditEvent.objects.filter(model="filings.IncidentReport", object_id=str(report.pk)).exists()


def test_a_report_once_sent_never_changes(demo, compliance):
    incident = _incident(compliance)
    report = IncidentReport(incident=incident, regime="eu", kind="initial", sent_at=timezone.now(), sent_to="AI Office",
                            content="x", sent_by=compliance)  # fmt: skip
    with transaction.atomic():
        report.save()
    report.content = "rewritten"
    with pytest.raises(ValidationError), transaction.atomic():
        report.save()
    with pytest.raises(ValidationError), transaction.atomic():
        report.delete()
    assert IncidentReport.objects.get().content == "x"


def test_bad_incident_input_is_refused_with_a_message_and_writes_nothing(demo, client, compliance):
    client.force_login(compliance)
    before = AuditEvent.objects.count()
    cases = [
        ({"kinds": ["alien"]}, "kinds"),
        ({"kinds": ["near_miss", "death"]}, "kinds"),
        ({"kinds": ["death"], "jurisdictions": ["eu"], "aware_at": ""}, "aware_at"),
        ({"kinds": ["critical_infrastructure"], "jurisdictions": ["ny"]}, "jurisdictions"),
        ({"aware_at": "9999-01-01T00:00"}, "aware_at"),
    ]
    for changes, field in cases:
        data = {"title": "t", "statement": "s", "kinds": ["death"], "jurisdictions": ["eu"],
                "model": AIModel.objects.get().pk, "aware_at": "2026-06-01T10:00", "source_mark": "verified", **changes}
        response = client.post(reverse("filings:incident-new"), data)
        assert response.status_code == 200 and field in response.context["form"].errors, (changes, field)
    assert AuditEvent.objects.count() == before and not Incident.objects.filter(title="t").exists()


def test_my_work_and_mail_tell_compliance_officers_of_clocks_running_out(demo, compliance, smtp_server):
    from riskreg import mywork
    from riskreg.notifications import events
    from riskreg.notifications.outbox import send_pending

    compliance.email = "officer@example.org"
    with transaction.atomic():
        compliance.save()
    incident = _incident(compliance, aware_at=timezone.now() - datetime.timedelta(days=4, hours=13))
    sections = {s.key: s for s in mywork.my_work(compliance)}
    tasks = sections["incidents"].tasks
    assert tasks and any("EU AI Act: initial report" in t.text and "due in 10 hours" in t.text
                         for t in tasks), [t.text for t in tasks]  # fmt: skip
    assert all(t.link == incident.get_absolute_url() for t in tasks)
    with transaction.atomic():
        queued = events.incident_deadlines()
    assert queued == 1  # the EU's 5 days end within two days; California's 15 do not (New York: not in force)
    with transaction.atomic():
        assert events.incident_deadlines() == 0  # once per clock
    assert send_pending() == (1, 0)
    [mail] = smtp_server.wait_for(1)
    assert mail["To"] == "officer@example.org" and "EU AI Act" in mail["Subject"]
    assert incident.reference in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    assert "due in 10 hours" in body and f"https://riskreg.example{incident.get_absolute_url()}" in body


def test_the_model_report_shows_random_samples_from_an_imported_log(demo, client, viewer, settings, tmp_path):
    from pathlib import Path

    from riskreg.importers.service import import_log

    settings.MEDIA_ROOT = tmp_path
    decision = ReleaseDecision.objects.get(reference="D8")
    name = "2026-11-22T06-15-57-00-00_tiny-qa_BLAPArHexWNvtFDQvc4tiS.json"
    path = Path(__file__).resolve().parents[1] / "importers" / "samples" / name
    cyber = decision.determinations.get(category__slug="cyber").category
    with path.open("rb") as handle:
        handle.size = path.stat().st_size
        result = import_log(handle, name, snapshot=decision.snapshot, category=cyber, user=viewer,
                            allow_other_model=True)  # fmt: skip
    assert result.status == "imported", result.message
    client.force_login(viewer)
    report = client.get(reverse("filings:model-report", args=[decision.pk]), {"format": "json"}).json()
    items = {i["label"]: i for s in report["sections"] for i in s["items"]}
    [label] = [label for label in items if label.startswith("Samples — ")]
    assert len(items[label]["lines"]) == 3 and all("→ output “" in line for line in items[label]["lines"])
    gaps = " ".join(g["gap"] for g in report["gaps"])
    total = len([i for i in items if " — " in i and not i.startswith(("Samples", "Determination", "Safety"))])
    assert f"Random input/output samples, for {total - 1} of {total} evaluations" in gaps  # all but the imported one


def test_once_a_report_is_sent_the_facts_its_clock_ran_on_no_longer_change(demo, compliance):
    incident = _incident(compliance)
    with transaction.atomic():
        IncidentReport(incident=incident, regime="eu", kind="initial", sent_at=timezone.now(), sent_to="AI Office",
                       content="Initial report.", sent_by=compliance).save()  # fmt: skip
    for name, value in (("aware_at", incident.aware_at - datetime.timedelta(days=10)), ("kinds", ["near_miss"]),
                        ("jurisdictions", ["eu"])):  # fmt: skip
        changed = Incident.objects.get(pk=incident.pk)
        setattr(changed, name, value)
        with pytest.raises(ValidationError) as refused:
            changed.full_clean()
        assert name in refused.value.message_dict, name
    changed = Incident.objects.get(pk=incident.pk)
    changed.root_cause = "A misconfigured storage bucket."  # what was learnt since still goes in
    changed.full_clean()


def test_a_near_miss_falls_under_no_regime_and_a_report_is_not_sent_before_awareness(demo, compliance):
    from riskreg.filings.forms import ReportForm

    with pytest.raises(ValidationError, match="near miss"):
        Incident(title="t", statement="s", kinds=["near_miss"], jurisdictions=["eu"], model=AIModel.objects.get(),
                 recorded_by=compliance).full_clean()  # fmt: skip
    incident = _incident(compliance)
    early = (incident.aware_at - datetime.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    form = ReportForm({"regime": "eu", "kind": "initial", "sent_at": early, "sent_to": "AI Office", "content": "x"},
                      incident=incident)  # fmt: skip
    assert not form.is_valid() and "before you became aware" in str(form.errors["sent_at"])
    form = ReportForm({"regime": "eu", "kind": "final", "sent_at": timezone.now().strftime("%Y-%m-%dT%H:%M"),
                       "sent_to": "AI Office", "content": "x"}, incident=incident)  # fmt: skip
    assert not form.is_valid() and "follows the resolution" in str(form.errors["kind"])
