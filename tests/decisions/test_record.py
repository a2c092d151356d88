"""The decision record (issue 17): the PDF's text, read with pdftotext, states the database's facts."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

import factories as make
from riskreg.audit.models import AuditHead
from riskreg.decisions import lifecycle
from riskreg.decisions.gate import gate
from riskreg.decisions.models import ReleaseDecision
from riskreg.decisions.record import OfflineFetcher, pdf
from riskreg.decisions.record import context as record_context
from riskreg.evaluations.models import Evidence
from riskreg.frameworks.models import GovernanceTitle

pytestmark = pytest.mark.django_db


def need(tool: str) -> None:
    if shutil.which(tool) is None:
        message = f"{tool} (poppler-utils) is needed to read the PDF"
        if os.environ.get("REQUIRE_PDF_TOOLS") == "1":
            pytest.fail(message + " (REQUIRE_PDF_TOOLS=1)")
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _weasyprint():
    """WeasyPrint draws with the system's Pango; without it the PDF tests are skipped (failed in CI)."""
    try:
        import weasyprint  # noqa: F401
    except OSError as error:
        if os.environ.get("REQUIRE_PDF_TOOLS") == "1":
            pytest.fail(f"WeasyPrint cannot load Pango: {error}")
        pytest.skip(f"WeasyPrint cannot load Pango: {error}")


def pdf_text(document: bytes, tmp_path, layout: bool = True) -> str:
    need("pdftotext")
    path = tmp_path / "record.pdf"
    path.write_bytes(document)
    mode = ["-layout"] if layout else ["-raw"]  # -raw: in drawing order, a table cell's words stay together
    text = subprocess.run(["pdftotext", *mode, str(path), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(text.split())  # words as read, whatever the line breaks


@pytest.fixture
def approved(tmp_path):
    ceo, rso = GovernanceTitle.objects.create(name="CEO"), GovernanceTitle.objects.create(name="RSO")
    version = make.framework_version()
    version.required_titles.set([ceo, rso])
    decision = make.decision(version=version, author=make.user("writer"), title="Limited access for partners",
                             scope_details="Forty named maintainers.")  # fmt: skip
    determination = make.determination(decision, reasoning="Held below the line.")
    evaluation = make.evaluation(snap=decision.snapshot, cat=determination.category, title="Cyber range",
                                 outcome="below_threshold", score=0.42, source_section="3.4")  # fmt: skip
    from django.db import transaction

    with transaction.atomic():
        piece = Evidence(
            evaluation=evaluation,
            kind="note",
            title="Range report",
            note="n",
            sha256="ab" * 32,
            added_by=decision.author,
        )
        piece._history_user = decision.author
        piece.save()
    determination.cited_evaluations.add(evaluation)
    lifecycle.submit(decision, by=decision.author)
    for title, name in ((ceo, "carl"), (rso, "rosa")):
        signer = make.user(name, first_name=name.capitalize(), last_name="Signer")
        title.holders.add(signer)
        lifecycle.sign(decision, by=signer, title=title, verdict="approve", comment=f"{name} agrees.")
    return ReleaseDecision.objects.get(pk=decision.pk)


def test_the_pdf_states_the_records_facts(approved, tmp_path):
    text = pdf_text(pdf(approved.pk), tmp_path)
    report = gate(approved)
    head = AuditHead.objects.get()
    expected = [
        "Limited access for partners", "Approved", "Forty named maintainers.", "Held below the line.",
        "Cyber range", "§3.4", "Below threshold", "0.42", "Range report — SHA-256",
        "Carl Signer", "Rosa Signer", "carl agrees.", report.digest,
        f"The release gate as it stands: {report.headline}",
        "As it stood at approval", "Approved through the gate", "nothing it rests on has changed since",
        "submitted for review", "approved: the gate passed with every required title signed",
    ]  # fmt: skip
    for fact in expected:
        assert fact in text, fact
    unbroken = "".join(text.split())  # a hash may wrap at the page's edge
    assert f"Auditheadatprinting(sequence:hash):{head.seq}:{head.hash}" in unbroken
    assert "ab" * 32 in unbroken
    for sign_off in approved.sign_offs.all():
        assert f"Digestsigned(format{sign_off.content_version}):{sign_off.digest}" in unbroken


def test_the_pages_link_the_record_and_serve_it(client, viewer, approved):
    client.force_login(viewer)
    page = client.get(approved.get_absolute_url()).content.decode()
    assert reverse("decisions:record-pdf", args=[approved.pk]) in page
    response = client.get(reverse("decisions:record-pdf", args=[approved.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    printable = client.get(reverse("decisions:record", args=[approved.pk])).content.decode()
    assert "Limited access for partners" in printable and "css/record.css" in printable
    assert client.get(reverse("decisions:record-pdf", args=[999999])).status_code == 404


def test_the_record_needs_the_right_to_read_decisions(client, approved):
    client.force_login(make.user("nobody"))
    assert client.get(reverse("decisions:record-pdf", args=[approved.pk])).status_code == 403


def test_making_the_pdf_fetches_nothing_but_the_apps_static_files():
    fetcher = OfflineFetcher()
    for url in ("https://example.org/x.css", "http://127.0.0.1:8000/", "file:///etc/passwd", "data:text/css,x"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)


def test_the_demo_records_first_page_as_a_picture(demo, tmp_path):
    """The illustration decision's record, first page as PNG beside the browser screenshots."""
    need("pdftoppm")
    decision = ReleaseDecision.objects.get(reference="ILLUS-1")
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf(decision.pk))
    folder = Path(os.environ.get("SCREENSHOT_DIR", "test-artifacts/screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(folder / "19-decision-record-pdf")], check=True)  # fmt: skip
    assert (folder / "19-decision-record-pdf.png").stat().st_size > 10_000
    text = pdf_text(path.read_bytes(), tmp_path)
    assert decision.title in text and "page 1 of" in text


def test_without_pango_the_pdf_link_explains_and_offers_the_printable_page(client, viewer, approved, monkeypatch):
    from riskreg.decisions import record

    def missing(pk):
        raise OSError("cannot load library 'libpango-1.0-0'")

    monkeypatch.setattr(record, "pdf", missing)
    client.force_login(viewer)
    response = client.get(reverse("decisions:record-pdf", args=[approved.pk]))
    assert response.status_code == 503
    assert reverse("decisions:record", args=[approved.pk]) in response.content.decode()


def test_the_record_shows_the_pictures_in_words_and_drawing(demo, tmp_path):
    """The framework version's coverage with the gap named, and the model's timeline, readable in the PDF."""
    decision = ReleaseDecision.objects.get(reference="ILLUS-1")
    text = pdf_text(pdf(decision.pk), tmp_path, layout=False)
    assert f"Coverage under {decision.framework_version}" in text
    assert "Cyber operations" in text and "a coverage gap" in text
    assert "The model's timeline" in text and "Final snapshot" in text and "Apr 2026" in text


# -- what the record says about approval, measured against the newest affirmation (helper-12's findings) --


def _rescore(evaluation_title: str, score: float) -> None:
    from riskreg.evaluations.models import Evaluation

    evaluation = Evaluation.objects.get(title=evaluation_title)
    evaluation.score = score
    evaluation._change_reason = "Rescored after a rerun"
    evaluation.save()


def _plain(text: str) -> str:
    return text.replace("\u200b", "")  # the record's invisible break opportunities in long words


def test_after_a_change_the_record_lists_it_and_after_re_affirmation_it_stands_on_the_new_content(approved, tmp_path):
    _rescore("Cyber range", 0.9)
    text = pdf_text(pdf(approved.pk), tmp_path)
    assert "What it rests on has changed since it was last approved" in text
    assert "0.42 → 0.9" in text and "Rescored after a rerun" in text
    assert "differs" in text

    for name, title in (("carl", "CEO"), ("rosa", "RSO")):
        signer = type(approved.author).objects.get(username=name)
        lifecycle.reaffirm(approved, by=signer, title=GovernanceTitle.objects.get(name=title))
    text = pdf_text(pdf(approved.pk), tmp_path)
    assert "Re-affirmed by every required title" in text
    assert "The content is what was last re-affirmed by every required title" in text
    assert "has changed since it was last" not in text
    newest = approved.affirmations.order_by("id").last()
    assert newest.digest in "".join(text.split()) and newest.digest == gate(approved).digest


def test_a_superseded_decision_whose_ground_moved_says_what_changed(approved, tmp_path):
    _rescore("Cyber range", 0.9)
    draft = lifecycle.supersede(approved, by=approved.author)
    lifecycle.submit(draft, by=approved.author)
    for name, title in (("carl", "CEO"), ("rosa", "RSO")):
        signer = type(approved.author).objects.get(username=name)
        lifecycle.sign(draft, by=signer, title=GovernanceTitle.objects.get(name=title), verdict="approve")
    approved.refresh_from_db()
    assert approved.status == "superseded"
    text = pdf_text(pdf(approved.pk), tmp_path)
    assert "Superseded" in text and "What it rests on has changed since it was last approved" in text
    assert "0.42 → 0.9" in text


def test_a_decision_approved_before_affirmations_were_kept_stands_on_its_last_approving_sign_off(tmp_path, monkeypatch):
    monkeypatch.setattr(lifecycle, "_affirm", lambda *args, **kwargs: None)  # the code before affirmations
    decision = make.approve(make.decision(title="Approved long ago"))
    monkeypatch.undo()
    assert not decision.affirmations.exists()
    text = pdf_text(pdf(decision.pk), tmp_path)
    assert "Not approved" not in text
    assert "approved before affirmations were kept" in text and "its last approving sign-off" in text
    last = decision.sign_offs.order_by("id").last()
    assert last.digest in "".join(text.split())


def test_a_recorded_decision_lists_what_changed_since_it_was_recorded(tmp_path):
    decision = make.decision(title="As the card reports it", source_section="1.2")
    user = make.user("recorder")
    lifecycle.record_from_source(decision, by=user)
    make.evaluation(snap=decision.snapshot, title="A new worrying run", outcome="crossed", source_section="5.1")
    text = pdf_text(pdf(decision.pk), tmp_path)
    assert "Recorded from a published source" in text and "not approved here" in text
    assert "What it rests on has changed since it was last recorded" in text
    assert "A new worrying run" in text


def test_the_coverage_table_marks_only_this_snapshots_results(approved, tmp_path):
    """The gate judges the decision's snapshot; another snapshot of the same model is not this release."""
    other = type(approved.snapshot).objects.create(
        model=approved.snapshot.model, name="a later snapshot", kind=approved.snapshot.kind
    )
    category = make.category("elsewhere")
    make.evaluation(snap=other, cat=category, title="Elsewhere crossed", outcome="crossed", source_section="9")
    context = record_context(approved.pk)
    marked = {category_.pk for category_, _level, concerning in context["coverage"] if concerning}
    assert category.pk not in marked


def test_long_words_and_addresses_stay_on_the_page(db, tmp_path):
    """A pasted address longer than a line breaks inside the page (WeasyPrint's own overflow-wrap took
    minutes on such text; the record puts break opportunities in long words instead)."""
    need("pdftotext")
    address = "https://example.org/" + "a" * 300
    draft = make.decision(title="Long addresses", rationale=("See " + address + " ") * 40)  # approved ones never change
    document = pdf(draft.pk)
    path = tmp_path / "record.pdf"
    path.write_bytes(document)
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    page_width = float(re.search(r'<page width="([\d.]+)"', html).group(1))
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', html)]
    assert right_edges and max(right_edges) <= page_width - 30  # inside the right margin (16 mm ≈ 45 pt)
    assert _plain(address) in _plain("".join(pdf_text(document, tmp_path, layout=False).split()))


def test_a_change_undone_after_re_affirmation_is_settled_again(approved, tmp_path):
    """Re-affirmed after a rescore, then the rescore undone: the content is again what both titles approved,
    and no title can re-affirm (they signed it); nothing may read 'changed since signing' for ever."""
    from riskreg.decisions.gate import review_states

    _rescore("Cyber range", 0.9)
    for name, title in (("carl", "CEO"), ("rosa", "RSO")):
        signer = type(approved.author).objects.get(username=name)
        lifecycle.reaffirm(approved, by=signer, title=GovernanceTitle.objects.get(name=title))
    _rescore("Cyber range", 0.42)
    report = gate(approved)
    assert report.material_change is None and report.headline == "Approved" and report.release_allowed
    assert not review_states([approved])[approved.pk].changed
    text = pdf_text(pdf(approved.pk), tmp_path)
    assert "The content is again what was approved on" in text and "nothing awaits re-affirmation" in text


@pytest.mark.parametrize("field, text", [
    ("rationale", "\u00a0".join(["word"] * 3000)),  # a text glued with no-break spaces
    ("decided_by", "x" * 300),
    ("source_section", "9." * 50),
])  # fmt: skip
def test_no_break_spaces_and_long_facts_stay_on_the_page(db, tmp_path, field, text):
    need("pdftotext")
    draft = make.decision(title="Long facts", **{field: text})
    path = tmp_path / "record.pdf"
    path.write_bytes(pdf(draft.pk))
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    page_width = float(re.search(r'<page width="([\d.]+)"', html).group(1))
    assert max(float(x) for x in re.findall(r'xMax="([\d.]+)"', html)) <= page_width - 30
