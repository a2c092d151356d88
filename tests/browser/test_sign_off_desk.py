"""The sign-off desk in a real browser, with the mail read from a real SMTP server (issue 16):

an evaluator finishes a draft and submits it → both approvers are mailed and find it in My work → one
rejects it → the evaluator is mailed, revises it into a new draft and submits that → both sign after
the confirmation step → the author is mailed that it is approved. Each mail's link is followed."""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from riskreg.decisions.models import DecisionStatus, ReleaseDecision
from riskreg.demo.loader import DemoSeeder
from riskreg.frameworks.models import GovernanceTitle

from .test_release_flow import PASSWORD, log_in, shot

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(committed_db, smtp_server):
    DemoSeeder().run(with_accounts=False)
    User = get_user_model()

    @transaction.atomic
    def person(username, group, title=None):
        user = User.objects.create_user(username, password=PASSWORD, email=f"{username}@example.org",
                                        first_name=username.capitalize())  # fmt: skip
        user.groups.add(Group.objects.get(name=group))
        if title:
            GovernanceTitle.objects.get(name=title).holders.add(user)
        return user

    person("dana", "evaluator")
    person("rosa", "approver", "Responsible Scaling Officer")
    person("carl", "approver", "CEO")
    return smtp_server


def mail_for(inbox, address, subject, count_before=0):
    """The newest mail to `address` with this subject, waiting for the server to receive it."""
    for _ in range(200):
        found = [m for m in inbox.messages if address in m["To"] and m["Subject"] == subject]
        if found:
            return found[-1]
        inbox.wait_for(len(inbox.messages) + 1, timeout=0.05)
    raise AssertionError(f"no mail “{subject}” to {address}; got {[(m['To'], m['Subject']) for m in inbox.messages]}")


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def follow(page, message):
    """Open the mail's link, as the reader would (its host is the configured SITE_URL)."""
    link = re.search(r"Open it: https://riskreg\.example(\S+)", text_of(message)).group(1)
    page.goto(link)
    return link


def keep(message, folder: Path, name: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(f"To: {message['To']}\nSubject: {message['Subject']}\n\n{text_of(message)}")


def submit(page):
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_role("button", name="Yes, submit it").click()
    assert page.locator(".badge.status-in_review").first.is_visible()


def sign(page, title, verdict, comment):
    page.get_by_label("Signing as").select_option(label=title)
    page.get_by_label(verdict).check()
    page.get_by_label("Comment").fill(comment)
    page.get_by_role("button", name="Sign").click()
    button = "Yes, sign it" if verdict == "Approve" else "Yes, reject it"
    page.get_by_label("Your password").fill(PASSWORD)  # signing is a fresh authentication
    page.get_by_role("button", name=button).click()


def test_draft_submit_reject_revise_and_sign_with_mail(page, desk, screenshots):
    mail_folder = screenshots.parent / "mail"
    draft = ReleaseDecision.objects.get(reference="GA-DRAFT")

    # The evaluator finishes the draft (the cyber gap is the one thing the gate asks for) and submits it.
    log_in(page, "dana")
    page.goto(draft.get_absolute_url())
    page.get_by_role("link", name="Acknowledge a coverage gap").click()
    page.get_by_label("Category").select_option(label="Cyber operations")
    page.get_by_label("Rationale").fill("No RSP cyber threshold; general release waits for the cyber safeguards.")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"**{draft.get_absolute_url()}")
    submit(page)

    # Both approvers are mailed; the mail says why and links to what they are asked to sign.
    asked = mail_for(desk, "rosa@example.org", f"Sign-off asked: {draft}")
    mail_for(desk, "carl@example.org", f"Sign-off asked: {draft}")
    assert "Why you get this: you hold Responsible Scaling Officer" in text_of(asked)
    keep(asked, mail_folder, "01-sign-off-asked")
    assert not [m for m in desk.messages if "dana@" in m["To"]]  # the author is not asked

    # Rosa finds it in My work too; she follows the mail's link and rejects it, with a reason.
    log_in(page, "rosa")
    page.wait_for_url("**/my-work/")
    named = f"{draft} (Illustration (not in the source))"  # My work names an illustration as one (issue 28)
    assert page.locator("#sign").get_by_text(f"Sign {named} as Responsible Scaling Officer").is_visible()
    assert page.locator(".task-count").inner_text() == "1"
    follow(page, asked)
    assert page.locator("#what-you-sign").is_visible()
    sign(page, "Responsible Scaling Officer", "Reject", "General availability needs the cyber safeguards in place.")
    assert page.locator(".badge.status-rejected").first.is_visible()

    # The evaluator is told why, finds it in My work, and revises it into a new draft.
    rejected = mail_for(desk, "dana@example.org", f"Rejected: {draft}")
    assert "Why: General availability needs the cyber safeguards in place." in text_of(rejected)
    keep(rejected, mail_folder, "02-rejected")
    log_in(page, "dana")
    page.wait_for_url("**/my-work/")
    task = page.locator("#returned li").filter(has_text=f"{named} was rejected")
    task.get_by_role("link", name="Read why and revise").click()
    page.get_by_role("button", name="Revise into a new draft").click()
    page.get_by_label("Title").fill("General availability once the cyber safeguards are in place")
    page.get_by_role("button", name="Save draft").click()
    revision = ReleaseDecision.objects.get(revises=draft)
    page.wait_for_url(f"**{revision.get_absolute_url()}")
    assert page.get_by_text(f"Revises the rejected {draft}").is_visible()
    assert revision.gap_acknowledgements.count() == draft.gap_acknowledgements.count()
    submit(page)

    # Both sign the revision after the confirmation step, each following their mail.
    for username, title in (("rosa", "Responsible Scaling Officer"), ("carl", "CEO")):
        asked = mail_for(desk, f"{username}@example.org", f"Sign-off asked: {revision}")
        log_in(page, username)
        follow(page, asked)
        sign(page, title, "Approve", f"Signed as {title} in the browser.")
        assert page.get_by_text(f"Signed as {title}.").is_visible()
    revision.refresh_from_db()
    assert revision.status == DecisionStatus.APPROVED

    # The author is told it is approved.
    approved = mail_for(desk, "dana@example.org", f"Approved: {revision}")
    assert "it is approved" in text_of(approved)
    keep(approved, mail_folder, "03-approved")
    log_in(page, "dana")
    page.goto(follow(page, approved))
    assert page.locator(".badge.status-approved").first.is_visible()
    shot(page, screenshots, "18-revision-approved")
