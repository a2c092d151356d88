"""A new user's path through riskreg in a real browser: record an evaluation with a file, draft
and submit a decision, and have two approvers sign it while the author's own sign-off is refused;
then change an evaluation it cites (warned, with a reason) and have both re-affirm."""

import hashlib
import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from riskreg.decisions.models import DecisionStatus, ReleaseDecision
from riskreg.demo.loader import DemoSeeder
from riskreg.evaluations.models import Evaluation
from riskreg.frameworks.models import GovernanceTitle

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-pw"
PDF = b"%PDF-1.7\n% riskreg browser test\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def people(committed_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    DemoSeeder().run(with_accounts=False)
    User = get_user_model()
    rso = GovernanceTitle.objects.get(name="Responsible Scaling Officer")
    ceo = GovernanceTitle.objects.get(name="CEO")

    @transaction.atomic  # accounts are tracked: written inside a transaction, like every record
    def person(username, groups, titles=()):
        user = User.objects.create_user(username, password=PASSWORD)
        user.groups.add(*Group.objects.filter(name__in=groups))
        for title in titles:
            title.holders.add(user)
        return user

    return {
        # drafts decisions and also holds a signing title: the one sign-off the app must refuse
        "dana": person("dana", ["evaluator", "approver"], [rso]),
        "rosa": person("rosa", ["approver"], [rso]),
        "carl": person("carl", ["approver"], [ceo]),
    }


def log_in(page, username):
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


def determine(page, category, verdict, evaluation, safeguards="", screenshots=None):
    page.get_by_role("link", name="Add a determination").click()
    # The picker first: only the category's evaluations are offered, each with what it found.
    page.get_by_label("Offer evaluations of").select_option(label=category)
    page.get_by_role("button", name="Show").click()
    assert page.locator("#id_category").input_value()  # preset from the picker
    page.get_by_label("Verdict").select_option(label=verdict)
    page.get_by_label("Find an evaluation to cite").fill(evaluation.split()[0])
    page.get_by_label(re.compile(re.escape(evaluation) + " · §")).check()
    if screenshots is not None:
        shot(page, screenshots, "15-citing-picker")
    if safeguards:
        page.get_by_label("Safeguards").fill(safeguards)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/decisions/*/")


def shot(page, screenshots, name):
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def test_record_evaluate_draft_submit_and_sign(page, people, screenshots, tmp_path):
    log_in(page, "dana")
    assert page.get_by_role("heading", name="Models and their release decisions").is_visible()
    assert page.locator("td.gap").first.inner_text().startswith("Not covered")
    shot(page, screenshots, "01-overview")

    # Record an evaluation.
    page.get_by_role("link", name="Evaluations", exact=True).click()
    page.get_by_role("link", name="Record an evaluation").click()
    page.get_by_label("Snapshot").select_option(label="Claude Mythos Preview — Final snapshot")
    page.get_by_label("Category").select_option(label="Cyber operations")
    page.get_by_label("Title").fill("Browser-recorded exploit benchmark")
    page.get_by_label("Kind").select_option(label="Automated benchmark")
    page.get_by_label("Run by").fill("Frontier Red Team")
    page.get_by_label("Finding").fill("Working exploits for most of the sampled crashes.")
    page.get_by_label("Score", exact=True).fill("0.72")
    page.get_by_label("Outcome").select_option(label="Alert / signal met")
    page.get_by_label("Source section").fill("3.3.3")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/evaluations/*/")
    assert page.get_by_role("heading", name="Browser-recorded exploit benchmark").is_visible()

    # Attach a file; its SHA-256 appears on the page and in the list.
    pdf = tmp_path / "exploit-report.pdf"
    pdf.write_bytes(PDF)
    page.get_by_text("Attach evidence").click()
    page.get_by_role("radio", name="File").check()
    page.get_by_label("Title").fill("Exploit report")
    page.locator("input[type=file]").set_input_files(str(pdf))
    page.get_by_role("button", name="Attach").click()
    digest = hashlib.sha256(PDF).hexdigest()
    assert page.locator("[data-sha256]").first.inner_text() == digest
    shot(page, screenshots, "02-evaluation")
    page.goto("/evaluations/?q=Browser-recorded")
    row = page.locator("table tbody tr", has_text="Browser-recorded exploit benchmark")
    assert row.count() == 1
    assert digest[:12] in row.inner_text()
    shot(page, screenshots, "03-evaluation-list")
    assert Evaluation.objects.get(title="Browser-recorded exploit benchmark").evidence.get().sha256 == digest

    # Draft a decision and submit it.
    page.get_by_role("link", name="Decisions", exact=True).click()
    page.get_by_role("link", name="Draft a decision").click()
    page.get_by_label("Snapshot").select_option(label="Claude Mythos Preview — Final snapshot")
    page.get_by_label("Framework version").select_option(label="Responsible Scaling Policy v3.0")
    page.get_by_label("Title").fill("Extend Glasswing access to more maintainers")
    page.locator("#id_scope").select_option(label="Limited-access programme")
    page.get_by_label("Rationale").fill("More critical-software maintainers asked for defensive access.")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_url("**/decisions/*/")
    # The gate blocks a submission until every formally covered category is determined and the
    # cyber gap is acknowledged.
    assert page.get_by_role("heading", name="Release gate: blocked").is_visible()
    determine(
        page,
        "Chemical and biological weapons",
        "Cannot rule out",
        "Sequence-to-function modelling and design",
        safeguards="Classifier guards stay on.",
        screenshots=screenshots,
    )
    determine(
        page, "Automated AI R&D", "Not crossed", "Staff survey: drop-in replacement for an entry-level researcher?"
    )
    determine(page, "Misalignment and sabotage", "Not crossed", "Automated offline monitoring of internal use")
    page.get_by_role("link", name="Acknowledge a coverage gap").click()
    page.get_by_label("Category").select_option(label="Cyber operations")
    page.get_by_label("Rationale").fill("No RSP cyber threshold; access stays limited to vetted defenders.")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/decisions/*/")
    shot(page, screenshots, "04-decision-draft")
    page.get_by_role("button", name="Submit for review").click()
    assert page.get_by_role("heading", name=re.compile("^Confirm: submit")).is_visible()
    page.get_by_role("button", name="Yes, submit it").click()
    assert page.locator(".badge.status-in_review").first.is_visible()
    decision = ReleaseDecision.objects.get(title="Extend Glasswing access to more maintainers")
    assert decision.status == DecisionStatus.IN_REVIEW

    # The author holds a signing title, yet may not sign what she drafted: no form, a note says why.
    assert page.get_by_text("You wrote this decision or one of its parts, so you cannot sign it off").is_visible()
    assert page.locator(".sign-form").count() == 0
    assert not decision.sign_offs.exists()

    # Two approvers, each holding one of the required titles, sign.
    for username, title in (("rosa", "Responsible Scaling Officer"), ("carl", "CEO")):
        log_in(page, username)
        # Logging in, the approver lands on My work, where the decision waits for their title.
        page.wait_for_url("**/my-work/")
        page.locator("#sign").get_by_text(f"Sign {decision} as {title}").wait_for(state="visible")
        if username == "rosa":
            shot(page, screenshots, "16-my-work")
        page.locator("#sign").get_by_role("link", name="Read and sign").first.click()
        page.wait_for_url(f"**{decision.get_absolute_url()}#what-you-sign")
        page.get_by_label("Signing as").select_option(label=title)
        page.get_by_label("Approve").check()
        page.get_by_label("Comment").fill(f"Signed in the browser as {title}.")
        summary = page.locator("#what-you-sign")
        assert "What you are signing" in summary.inner_text() and "Limited-access programme" in summary.inner_text()
        if username == "rosa":
            shot(page, screenshots, "17-what-you-are-signing")
        page.get_by_role("button", name="Sign").click()
        assert "Yes, sign it" in page.inner_text("main") and not decision.sign_offs.filter(signer__username=username)
        page.get_by_label("Your password").fill(PASSWORD)  # signing is a fresh authentication
        if username == "rosa":
            shot(page, screenshots, "17b-confirm-with-password")
        page.get_by_role("button", name="Yes, sign it").click()
        assert page.get_by_text(f"Signed as {title}.").is_visible()
    assert page.locator(".badge.status-approved").first.is_visible()
    shot(page, screenshots, "05-decision-approved")
    decision.refresh_from_db()
    assert decision.status == DecisionStatus.APPROVED
    assert set(decision.sign_offs.values_list("signer__username", flat=True)) == {"rosa", "carl"}

    # After approval an evaluator corrects an evaluation the decision cites: the form warns first,
    # naming the decision and who must re-affirm, and will not save without a reason.
    log_in(page, "dana")
    cited = Evaluation.objects.get(title="Automated offline monitoring of internal use")
    page.goto(cited.get_absolute_url())
    page.get_by_role("link", name="Edit").click()
    warning = page.locator(".cited-warning")
    assert "Extend Glasswing access to more maintainers" in warning.inner_text()
    assert "re-affirmation by CEO and Responsible Scaling Officer" in " ".join(warning.inner_text().split())
    page.get_by_label("Score", exact=True).fill("0.5")
    page.get_by_role("button", name="Save").click()
    assert page.get_by_text("say why you change it").is_visible()
    shot(page, screenshots, "06-cited-evaluation-warning")
    page.get_by_label("Reason for the change").fill("Rescored after a rerun (browser test)")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**{cited.get_absolute_url()}")
    assert cited.history.latest().history_change_reason == "Rescored after a rerun (browser test)"

    # The decision stays approved as a fact, and says in words what changed and who must re-affirm.
    page.goto(decision.get_absolute_url())
    change = page.locator(".material-change")
    assert change.get_by_role("heading", name="Changed since signing").is_visible()
    words = " ".join(change.inner_text().split())
    assert "Evaluation 'Automated offline monitoring of internal use'" in words and "→ 0.5" in words
    assert page.get_by_role("heading", name="Release gate: Approved — changed since signing").is_visible()
    shot(page, screenshots, "07-decision-changed-since-signing")

    # Its author may not re-affirm; the two signers do, and the gate passes again.
    assert page.locator(".reaffirm-form").count() == 0
    assert page.get_by_text("you cannot re-affirm it").is_visible()
    for username, title in (("rosa", "Responsible Scaling Officer"), ("carl", "CEO")):
        log_in(page, username)
        # My work asks them to re-affirm, with the change in words.
        page.wait_for_url("**/my-work/")
        task = page.locator("#reaffirm li").filter(has_text=f"Re-affirm {decision} as {title}")
        task.get_by_role("link", name="See the change and re-affirm").click()
        page.wait_for_url(f"**{decision.get_absolute_url()}#reaffirm-form")
        page.get_by_label("Re-affirming as").select_option(label=title)
        page.get_by_label("Comment").fill("Still holds with the corrected score.")
        page.get_by_role("button", name="Re-affirm").click()
        page.get_by_label("Your password").fill(PASSWORD)
        page.get_by_role("button", name="Yes, re-affirm it").click()
        page.wait_for_url(f"**{decision.get_absolute_url()}")
    assert page.get_by_role("heading", name="Release gate: Approved", exact=True).is_visible()
    assert page.locator(".material-change").count() == 0
    assert page.get_by_text("replaced: this title signed the changed content again").count() == 2
    shot(page, screenshots, "08-decision-reaffirmed")
    kinds = sorted(decision.sign_offs.values_list("signer__username", "kind"))
    assert kinds == [("carl", "reaffirm"), ("carl", "sign"), ("rosa", "reaffirm"), ("rosa", "sign")]


def test_the_main_pages_render_for_a_viewer(page, people, screenshots):
    with transaction.atomic():
        get_user_model().objects.create_user("vic", password=PASSWORD).groups.add(Group.objects.get(name="viewer"))
    log_in(page, "vic")
    page.goto("/models/claude-mythos-preview/")
    gap = page.locator("td.gap")
    assert gap.count() >= 1 and "gap" in gap.first.inner_text()
    shot(page, screenshots, "12-model")
    page.goto("/risks/")
    assert page.locator("svg.heatmap").count() == 2
    shot(page, screenshots, "13-risks")
    page.goto("/decisions/")
    shot(page, screenshots, "14-decisions")
    # a viewer sees no recording buttons, and the server refuses the page anyway
    assert page.get_by_role("link", name="Draft a decision").count() == 0
    response = page.goto("/decisions/new/")
    assert response.status == 403
    # keyboard: the skip link is the first stop
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
