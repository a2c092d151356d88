"""Issue 28 in Chromium: a reader sees each record's mark where the record is shown — on the evaluations
list, on a secondary record's page, and in the model reports of a recorded decision and an illustration."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from riskreg.decisions.models import ReleaseDecision
from riskreg.demo.loader import DemoSeeder
from riskreg.evaluations.models import Evaluation

from .test_release_flow import PASSWORD, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def reader(committed_db):
    DemoSeeder().run(with_accounts=False)
    with transaction.atomic():
        user = get_user_model().objects.create_user("rhea", password=PASSWORD)
        user.groups.add(Group.objects.get(name="viewer"))


def test_a_reader_sees_the_marks_on_the_list_a_record_and_the_reports(page, reader, screenshots):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "rhea")
    secondary = Evaluation.objects.get(source_mark="secondary")
    page.goto("/evaluations/")
    row = page.locator("table.list tbody tr", has_text=secondary.title)
    chip = row.locator(".prov.mark-secondary")
    assert chip.is_visible() and "Secondary source only" in chip.inner_text()
    shown = 0
    for evaluation in Evaluation.objects.filter(source_mark="inferred"):  # those on the first page carry the mark
        row = page.locator("table.list tbody tr", has=page.get_by_role("link", name=evaluation.title, exact=True))
        if row.count():
            shown += 1
            assert "Inference (interpretation)" in row.locator(".prov.mark-inferred").inner_text()
    assert shown
    assert page.locator("table.list tbody tr", has_text="confidence is riskreg's reading").count() > 0
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.screenshot(path=str(screenshots / "33-evaluations-marks-1366.png"), full_page=True)

    page.goto(secondary.get_absolute_url())
    assert page.locator("h1 .prov.mark-secondary").is_visible()
    assert page.locator(".notice.prov-notice").is_visible()

    recorded = ReleaseDecision.objects.get(reference="D8")
    page.goto(f"/decisions/{recorded.pk}/model-report/")
    assert "Recorded, not decided here." in page.locator(".notice.illustration").inner_text()
    item = page.locator("dt", has_text=f"— {secondary.title}")
    assert "Secondary source only" in item.inner_text()
    assert page.locator("dt .prov.mark-inferred").first.is_visible()
    assert page.locator(".reading", has_text="riskreg's reading").first.is_visible()
    tm1 = page.locator("dt", has_text="Determination — Misalignment").locator("xpath=following-sibling::dd[1]")
    assert tm1.inner_text().startswith("Applicable; confidence")  # TM1 in RSP v3.0's own word, not "Crossed"
    page.screenshot(path=str(screenshots / "34-model-report-marks-1366.png"), full_page=True)

    illustration = ReleaseDecision.objects.get(reference="ILLUS-1")
    page.goto(f"/decisions/{illustration.pk}/model-report/")
    notice = page.locator(".notice.illustration").inner_text()
    assert notice.startswith("Illustration.") and "made in riskreg" in notice and "published source" not in notice
    page.goto("/decisions/")
    assert page.locator("table.list tbody tr", has_text="ILLUS-1").locator(".prov-illustration").is_visible()
