"""Issue 19 in Chromium: a compliance officer records an incident and sees its clocks; the model report."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from riskreg.decisions.models import ReleaseDecision
from riskreg.demo.loader import DemoSeeder
from riskreg.filings.models import Incident

from .test_release_flow import PASSWORD, log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def officer(committed_db):
    DemoSeeder().run(with_accounts=False)
    with transaction.atomic():
        user = get_user_model().objects.create_user("carla", password=PASSWORD, first_name="Carla", last_name="Ruiz")
        user.groups.add(Group.objects.get(name="compliance"))
    return user


def test_an_officer_records_an_incident_sees_its_clocks_and_reads_the_model_report(page, officer, screenshots):
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "carla")
    page.get_by_role("link", name="Incidents").first.click()
    assert page.get_by_role("heading", name="Incident register").is_visible()
    page.get_by_role("link", name="Record an incident or near miss").click()
    page.locator("#id_title").fill("Model weights copied to an unknown host")
    page.locator("#id_statement").fill("Monitoring found a copy of the weights leaving the cluster.")
    page.get_by_label("Serious cybersecurity breach, including exfiltration of model weights").check()
    for regime in ("EU AI Act", "California SB 53", "New York RAISE Act"):
        page.get_by_label(regime).check()
    page.locator("#id_model").select_option(label="Claude Mythos Preview")
    aware = timezone.now() - datetime.timedelta(hours=30)
    page.locator("#id_aware_at").fill(aware.strftime("%Y-%m-%dT%H:%M"))
    page.locator("#id_source_mark").select_option("illustration")
    page.locator("#id_source_note").fill("An illustration made by the browser test; not in the card.")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("Incident recorded").is_visible()
    clocks = page.locator("table.clocks")
    assert "EU AI Act: initial report" in clocks.inner_text() and "due in" in clocks.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.screenshot(path=str(screenshots / "30-incident-clocks-1366.png"), full_page=True)
    page.goto("/incidents/?show=all")
    assert page.locator("table.incidents").inner_text().count("INC-") == Incident.objects.count() == 3
    page.screenshot(path=str(screenshots / "31-incident-register-1366.png"), full_page=False)

    decision = ReleaseDecision.objects.get(reference="D8")
    page.goto(decision.get_absolute_url())
    assert page.locator("#compliance-heading").is_visible()
    page.get_by_role("link", name="Model report (GPAI Code 7.1–7.5)").click()
    assert page.locator("h2", has_text="7.3").is_visible() and page.get_by_text("Gaps to fill").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert page.evaluate("document.fonts.ready.then(() => document.fonts.status)") == "loaded"  # the app's own fonts
    page.screenshot(path=str(screenshots / "32-model-report-1366.png"), full_page=True)
