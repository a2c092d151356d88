"""Importing an Inspect log in the browser: upload, check the preview, confirm, find the evaluation."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from riskreg.demo.loader import DemoSeeder
from riskreg.evaluations.models import Evaluation, Snapshot

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[1] / "importers" / "samples"
LOG = SAMPLE / "2026-11-22T06-21-37-00-00_tiny-qa_AUTim9gRa9z2wiyoWZfPBo.eval"
REDUCERS = SAMPLE / "issue15" / "2026-11-22T21-31-59-00-00_reducers_9GEBHq3NmPPBDCPruN2zh8.eval"


@pytest.fixture
def evaluator(committed_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    DemoSeeder().run(with_accounts=False)
    with transaction.atomic():  # accounts are tracked: written inside a transaction, like every record
        user = get_user_model().objects.create_user("ivy", password="browser-test-pw")
        user.groups.add(Group.objects.get(name="evaluator"))
    return user


def _choose(page, files, snapshot_label, rule):
    page.locator("input[type=file]").set_input_files([str(f) for f in files])
    page.get_by_label("Snapshot").select_option(label=snapshot_label)
    page.get_by_label("Category").select_option(label="Cyber operations (cyber)")
    page.get_by_label("Outcome rule").fill(rule)
    page.get_by_role("button", name="Preview").click()


def test_upload_preview_confirm(page, evaluator, screenshots):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ivy")
    page.get_by_label("Password").fill("browser-test-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    page.goto("/evaluations/")
    page.get_by_role("link", name="Import Inspect logs").click()
    page.locator("#command-line").wait_for()  # count() below does not wait for the page (a loaded CI flaked)
    final = Snapshot.objects.get(model__name="Claude Mythos Preview", kind="final")
    label = f"{final} (id {final.pk})"
    assert page.locator("#command-line").get_by_text(str(final.pk), exact=True).count() >= 1

    # A bare "accuracy" names no single metric in either log: refused, with the names to choose from.
    _choose(page, [LOG, REDUCERS], label, "accuracy>=0.5")
    assert "ambiguous in this log; name one of: includes/accuracy, match/accuracy" in page.inner_text("main")

    # One preview for both files: the first is recorded, the second refused by name, with its metrics.
    _choose(page, [LOG, REDUCERS], label, "match/accuracy>=0.5")
    first, second = page.locator(".import-file").all()
    assert "tiny_qa" in first.inner_text() and "4 of 5 completed; 1 errored" in first.inner_text()
    assert "Alert / signal met" in first.inner_text()
    assert "is not among the identifiers" in first.inner_text()  # the demo snapshot is known by no identifier
    assert "Refused" in second.inner_text() and "match/accuracy[pass_at_2]" in second.inner_text()
    assert not Evaluation.objects.filter(imported_run__isnull=False).exists()
    page.screenshot(path=str(screenshots / "09-import-preview.png"), full_page=True)
    page.get_by_label("I confirm").check()
    page.get_by_role("button", name="Confirm and record 1 file").click()
    page.wait_for_url("**/evaluations/*/")
    assert Evaluation.objects.filter(imported_run__isnull=False).count() == 1

    page.goto("/import/inspect/")
    _choose(page, [REDUCERS], label, "")
    assert "match/accuracy[pass_at_2] = 0.9167 ± 0.0833" in page.inner_text("main")
    page.get_by_label("I confirm").check()
    page.get_by_role("button", name="Confirm and record 1 file").click()
    page.wait_for_url("**/evaluations/*/")
    evaluation = Evaluation.objects.get(imported_run__task="reducers")
    assert page.get_by_role("heading", name="The Inspect run").is_visible()
    assert "confirmed the mismatch" in page.inner_text("main")
    piece = evaluation.evidence.get()
    assert page.locator("[data-sha256]").first.inner_text() == piece.sha256
    assert evaluation.score_unit == "match/accuracy[pass_at_2]" and evaluation.outcome == "not_assessed"
    page.screenshot(path=str(screenshots / "10-imported-evaluation.png"), full_page=True)
