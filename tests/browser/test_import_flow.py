"""Importing an Inspect log in the browser: upload, check the preview, confirm, find the evaluation."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from riskreg.demo import DemoSeeder
from riskreg.evaluations.models import Evaluation

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[1] / "importers" / "samples"
LOG = SAMPLE / "2026-11-22T06-21-37-00-00_tiny-qa_AUTim9gRa9z2wiyoWZfPBo.eval"


@pytest.fixture
def evaluator(committed_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    DemoSeeder().run(with_accounts=False)
    with transaction.atomic():  # accounts are tracked: written inside a transaction, like every record
        user = get_user_model().objects.create_user("ivy", password="browser-test-pw")
        user.groups.add(Group.objects.get(name="evaluator"))
    return user


def test_upload_preview_confirm(page, evaluator, screenshots):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ivy")
    page.get_by_label("Password").fill("browser-test-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")
    page.goto("/evaluations/")
    page.get_by_role("link", name="Import an Inspect log").click()
    page.locator("input[type=file]").set_input_files(str(LOG))
    page.get_by_label("Snapshot").select_option(label="Claude Mythos Preview — Final snapshot")
    page.get_by_label("Category").select_option(label="Cyber operations")
    page.get_by_label("Outcome rule").fill("accuracy>=0.5")
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#preview")
    assert "tiny_qa" in preview.inner_text()
    assert "mockllm/model" in preview.inner_text()
    assert "4 of 5 completed; 1 errored" in preview.inner_text()
    assert "Alert / signal met" in preview.inner_text()
    assert not Evaluation.objects.filter(imported_run__isnull=False).exists()
    page.screenshot(path=str(screenshots / "09-import-preview.png"), full_page=True)

    page.get_by_role("button", name="Confirm and record").click()
    page.wait_for_url("**/evaluations/*/")
    assert page.get_by_text("Imported from an Inspect log").is_visible()
    evaluation = Evaluation.objects.get(imported_run__isnull=False)
    piece = evaluation.evidence.get()
    assert page.locator("[data-sha256]").first.inner_text() == piece.sha256
    assert (evaluation.score, evaluation.outcome) == (0.75, "signal_met")
    page.screenshot(path=str(screenshots / "10-imported-evaluation.png"), full_page=True)
