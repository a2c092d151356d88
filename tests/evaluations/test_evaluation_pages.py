"""Recording evaluations and attaching evidence through the pages."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

import factories as make
from riskreg.audit.models import AuditEvent
from riskreg.evaluations.models import Evaluation, Evidence

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def form_data(snapshot, category, **extra):
    data = {
        "snapshot": snapshot.pk, "category": category.pk, "title": "Cyber range", "kind": "external_testing",
        "run_by": "AISI", "finding": "Solved it.", "score": "0.5", "score_unit": "pass@1", "comparisons": "[]",
        "outcome": "signal_met", "confidence": "moderate", "source_section": "3.4", "source_mark": "verified",
    }  # fmt: skip
    data.update(extra)
    return data


def test_an_evaluator_records_an_evaluation(client, evaluator):
    snapshot, category = make.snapshot(), make.category()
    client.force_login(evaluator)
    response = client.post(reverse("evaluations:create"), form_data(snapshot, category))
    evaluation = Evaluation.objects.get()
    assert response.status_code == 302 and response["Location"] == evaluation.get_absolute_url()
    assert (evaluation.recorded_by, evaluation.score, evaluation.outcome) == (evaluator, 0.5, "signal_met")
    assert evaluation.history.get().history_user == evaluator


@pytest.mark.parametrize(
    "extra, field, message",
    [
        ({"source_section": ""}, "source_section", "This field is required."),
        ({"comparisons": "[{'subject': 1}"}, "comparisons", "Enter a valid JSON."),
        ({"comparisons": '[{"value": 1}]'}, "comparisons", "needs a subject"),
        ({"score": "NaN"}, "score", "Enter a number."),
        ({"started_on": "2026-03-02", "finished_on": "2026-03-01"}, None, "cannot finish before it starts"),
        ({"outcome": "passed"}, "outcome", "Select a valid choice."),
    ],
)
def test_a_bad_value_is_explained_beside_its_field_and_saves_nothing(client, evaluator, extra, field, message):
    snapshot, category = make.snapshot(), make.category()
    client.force_login(evaluator)
    before = AuditEvent.objects.count()
    response = client.post(reverse("evaluations:create"), form_data(snapshot, category, **extra))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors[field] if field else errors.get("__all__", []) + sum(errors.values(), []))
    assert not Evaluation.objects.exists()
    assert AuditEvent.objects.count() == before


def test_a_threshold_of_another_category_is_refused_beside_the_field(client, evaluator):
    threshold = make.threshold()
    client.force_login(evaluator)
    response = client.post(reverse("evaluations:create"), form_data(make.snapshot(), make.category(),
                                                                        threshold=threshold.pk))  # fmt: skip
    assert "another threat category" in " ".join(response.context["form"].errors["threshold"])
    assert not Evaluation.objects.exists()


PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def upload(client, evaluation, name, content, **extra):
    data = {"kind": "file", "title": "Report", "file": SimpleUploadedFile(name, content), **extra}
    return client.post(reverse("evaluations:evidence-add", args=[evaluation.pk]), data)


def test_a_file_is_stored_with_its_size_and_sha256_under_a_safe_name(client, evaluator, media):
    evaluation = make.evaluation()
    client.force_login(evaluator)
    response = upload(client, evaluation, "../../etc/passwd report.pdf", PDF)
    assert response.status_code == 302
    piece = Evidence.objects.get()
    assert (piece.size, piece.sha256) == (len(PDF), hashlib.sha256(PDF).hexdigest())
    assert piece.content_type == "application/pdf"
    assert ".." not in piece.file.name and piece.file.name.startswith("evidence/")
    assert piece.original_name == "passwd_report.pdf"
    assert (media / piece.file.name).read_bytes() == PDF
    page = client.get(evaluation.get_absolute_url()).content.decode()
    assert piece.sha256 in page


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("tool.exe", b"MZ\x90\x00", "are not accepted"),
        ("report.pdf", b"MZ\x90\x00 not a pdf", "is not a .pdf file"),
        ("data.csv", b"\x00\x01\x02binary", "is not a .csv file"),
        ("empty.txt", b"", "file is empty."),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused(client, evaluator, media, name, content, message):
    evaluation = make.evaluation()
    client.force_login(evaluator)
    response = upload(client, evaluation, name, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Evidence.objects.exists()
    assert not list(media.rglob("*.*"))


def test_a_file_over_the_size_limit_is_refused(client, evaluator, media, settings):
    settings.EVIDENCE_MAX_BYTES = 1000
    client.force_login(evaluator)
    response = upload(client, make.evaluation(), "big.txt", b"a" * 1001)
    assert response.status_code == 400
    assert "the limit is" in response.content.decode()
    assert not Evidence.objects.exists()


def test_links_must_be_web_addresses(client, evaluator):
    client.force_login(evaluator)
    evaluation = make.evaluation()
    response = client.post(reverse("evaluations:evidence-add", args=[evaluation.pk]),
                           {"kind": "link", "title": "x", "url": "javascript:alert(1)"})  # fmt: skip
    assert response.status_code == 400
    assert not Evidence.objects.exists()


def test_a_correction_replaces_a_piece_and_both_stay_visible(client, evaluator):
    evaluation = make.evaluation()
    client.force_login(evaluator)
    post = lambda **data: client.post(reverse("evaluations:evidence-add", args=[evaluation.pk]), data)  # noqa: E731
    post(kind="note", title="Figure", note="Score was 0.8")
    first = Evidence.objects.get()
    post(kind="note", title="Corrected figure", note="Score was 0.83", replaces=first.pk)
    second = Evidence.objects.exclude(pk=first.pk).get()
    assert second.replaces == first
    page = client.get(evaluation.get_absolute_url()).content.decode()
    assert "Score was 0.8<" in page.replace("\n", "") or "Score was 0.8" in page
    assert "Corrected figure" in page and "replaced by a later piece" in page


def test_files_download_only_as_attachments_for_logged_in_users(client, viewer, evaluator, media):
    evaluation = make.evaluation()
    client.force_login(evaluator)
    upload(client, evaluation, "r.pdf", PDF)
    piece = Evidence.objects.get()
    client.logout()
    url = reverse("evaluations:evidence-download", args=[piece.pk])
    assert client.get(url).status_code == 302
    client.force_login(viewer)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF


def test_the_list_filters_and_exports_the_filtered_rows_as_csv(client, viewer, demo):
    client.force_login(viewer)
    response = client.get(reverse("evaluations:list"), {"category": demo and _cyber_id(), "export": "csv"})
    body = b"".join(response.streaming_content).decode()
    rows = body.strip().splitlines()
    assert rows[0].startswith("Title,")
    assert len(rows) - 1 == Evaluation.objects.filter(category__slug="cyber").count()
    assert "Cybench" in body and "Expert red teaming" not in body


def _cyber_id():
    from riskreg.frameworks.models import ThreatCategory

    return ThreatCategory.objects.get(slug="cyber").pk


def test_the_model_page_explains_its_pictures(client, viewer, demo):
    """The coverage matrix's legend matches what is drawn, its notes are footnotes (no hover), and the
    timeline is an SVG on a time axis with a lane per snapshot and each dated decision linked."""
    from riskreg.decisions.models import ReleaseDecision
    from riskreg.frameworks.models import Coverage

    client.force_login(viewer)
    page = client.get("/models/claude-mythos-preview/").content.decode()
    assert "dashed amber outline" in page and "solid red outline" in page
    matrix = page[page.index('<table class="coverage">'):page.index("</table>", page.index('<table class="coverage">'))]
    assert "title=" not in matrix  # nothing only on hover
    noted = Coverage.objects.exclude(note="").count()
    assert page.count('<li id="note-') == noted > 0
    chart = page[page.index("<svg"):page.index("</svg>")]
    assert 'class="timeline-chart"' in chart and "Apr 2026" in chart
    for decision in ReleaseDecision.objects.filter(snapshot__model__slug="claude-mythos-preview",
                                                   effective_date__isnull=False):  # fmt: skip
        assert decision.get_absolute_url() in chart
    assert "evaluation crossed or saturated" in page and "general availability" in page


@pytest.mark.parametrize("far", ["9999-12-31", "0001-01-01"])
def test_a_far_off_date_does_not_break_the_model_page(client, viewer, demo, far):
    """Found by a helper's pass: 9999-12-31 overflowed the timeline's axis (500); year 1 drew ~120,000 months."""
    import datetime

    from django.db import transaction

    from riskreg.evaluations.models import Evaluation

    evaluation = Evaluation.objects.filter(snapshot__model__slug="claude-mythos-preview").first()
    with transaction.atomic():
        evaluation.finished_on, evaluation._change_reason = datetime.date.fromisoformat(far), "test"
        evaluation.started_on = None
        evaluation.save()
    client.force_login(viewer)
    response = client.get("/models/claude-mythos-preview/")
    assert response.status_code == 200 and len(response.content) < 500_000
