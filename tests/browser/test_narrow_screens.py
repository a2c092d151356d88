"""At 1,366 pixels wide no page is cut off: a wide table scrolls inside its frame, never the page (issue 17)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from riskreg.decisions.models import ReleaseDecision
from riskreg.demo.loader import DemoSeeder

from .test_release_flow import PASSWORD, log_in, shot

pytestmark = pytest.mark.browser

PAGES = {"/": "20-overview-1366", "/evaluations/": "21-evaluations-1366", "/decisions/": None, "/risks/": None,
         "/models/claude-mythos-preview/": "22-model-1366", "/audit/": "23-audit-1366"}  # fmt: skip


@pytest.fixture
def auditor(committed_db):
    DemoSeeder().run(with_accounts=False)
    with transaction.atomic():
        user = get_user_model().objects.create_user("ada", password=PASSWORD)
        user.groups.add(Group.objects.get(name="auditor"))


def test_nothing_is_cut_off_at_1366_pixels(page, auditor, screenshots):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "ada")
    decision = ReleaseDecision.objects.get(reference="ILLUS-1")
    for url, name in {**PAGES, decision.get_absolute_url(): "24-decision-1366",
                      f"/decisions/{decision.pk}/history/": "25-decision-history-1366"}.items():  # fmt: skip
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url}: the page is {overflow} px wider than the window"
        # every table either fits its frame, or its frame scrolls sideways to show the rest
        hidden = page.evaluate("""() => [...document.querySelectorAll('table')].filter(t => {
            const box = t.getBoundingClientRect();
            if (box.right <= window.innerWidth + 1) return false;
            let frame = t.parentElement;
            while (frame && !['auto', 'scroll'].includes(getComputedStyle(frame).overflowX))
                frame = frame.parentElement;
            return !frame;
        }).length""")
        assert hidden == 0, f"{url}: {hidden} table(s) cut off"
        if url in ("/", "/evaluations/"):  # the two pages found cut off: here every column shows, no scrolling
            wider = page.evaluate("""() => [...document.querySelectorAll('.table-wrap')]
                .filter(f => f.scrollWidth > f.clientWidth + 1).length""")
            assert wider == 0, f"{url}: a table needs scrolling sideways at 1,366 pixels"
        if name:
            page.screenshot(path=str(screenshots / f"{name}.png"), full_page=False)
    shot(page, screenshots, "25-decision-history-1366")
    page.goto("/models/claude-mythos-preview/")
    page.locator("#coverage-heading").scroll_into_view_if_needed()
    matrix = page.locator("section", has=page.locator("#coverage-heading"))
    matrix.screenshot(path=str(screenshots / "26-coverage-matrix.png"))
    page.locator("figure.timeline-figure").screenshot(path=str(screenshots / "27-timeline.png"))
    page.goto("/risks/")
    page.locator(".heatmaps").screenshot(path=str(screenshots / "28-heat-maps.png"))
    # issue 18: an auditor proves the approval of ILLUS-1 against the signed checkpoint
    from riskreg.audit.models import AuditEvent

    approval = AuditEvent.objects.get(model="decisions.ReleaseDecision", object_id=str(decision.pk),
                                      reason__startswith="approved")  # fmt: skip
    page.goto(f"/audit/?model=decisions.ReleaseDecision&object_id={decision.pk}")
    page.get_by_role("link", name=f"Prove event {approval.seq}").click()
    assert page.locator("pre.proof").last.inner_text().startswith("riskreg inclusion proof")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.screenshot(path=str(screenshots / "29-prove-approval-1366.png"), full_page=True)
