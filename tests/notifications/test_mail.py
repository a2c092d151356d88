"""Notifications by mail (issue 16), sent through Django's SMTP backend to a real SMTP server the test
starts (aiosmtpd on loopback), and read back as a mail client reads them."""

import datetime
import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

import factories as make
from conftest import free_port
from riskreg.decisions import lifecycle
from riskreg.evaluations.models import Evaluation
from riskreg.frameworks.models import GovernanceTitle
from riskreg.notifications.models import MailPreference, Notification
from riskreg.risks.models import Risk

pytestmark = pytest.mark.django_db


def person(name, group="approver", **extra):
    user = make.user(name, email=f"{name}@example.org", first_name=name.capitalize(), **extra)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def world():
    ceo, rso = GovernanceTitle.objects.create(name="CEO"), GovernanceTitle.objects.create(name="RSO")
    version = make.framework_version()
    version.required_titles.set([ceo, rso])
    writer = person("writer", group="evaluator")
    decision = make.decision(version=version, author=writer, title="Limited access for partners")
    determination = make.determination(decision, reasoning="r")
    evaluation = make.evaluation(snap=decision.snapshot, cat=determination.category, title="Cyber range")
    determination.cited_evaluations.add(evaluation)
    carl, rosa = person("carl"), person("rosa")
    ceo.holders.add(carl)
    rso.holders.add(rosa)
    return {"decision": decision, "ceo": ceo, "rso": rso, "writer": writer, "carl": carl, "rosa": rosa,
            "evaluation": evaluation}  # fmt: skip


def body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_submitted_decision_mails_each_holder_of_a_required_title(world, smtp_server,
                                                                    django_capture_on_commit_callbacks):
    decision = world["decision"]
    # Not asked: a title holder who may not sign, the author though she holds a title, one who opted out.
    watcher = person("watcher", group="viewer")
    world["ceo"].holders.add(watcher, world["writer"])
    quiet = person("quiet")
    world["rso"].holders.add(quiet)
    with django_capture_on_commit_callbacks(execute=True):
        MailPreference.objects.create(user=quiet, send_mail=False)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.submit(decision, by=world["writer"])
    smtp_server.wait_for(2)
    assert sorted(m["To"] for m in smtp_server.messages) == ["carl@example.org", "rosa@example.org"]
    mail = smtp_server.to("carl@example.org")[0]
    assert mail["Subject"] == f"Sign-off asked: {decision}"
    text = body(mail)
    assert f"https://riskreg.example{decision.get_absolute_url()}#what-you-sign" in text
    assert "Why you get this: you hold CEO" in text and "Writer submitted" in text
    assert Notification.objects.filter(sent_at__isnull=False).count() == 2


def test_signing_rejecting_and_approval_tell_the_author_and_the_signers(world, smtp_server,
                                                                        django_capture_on_commit_callbacks):
    decision, writer, carl, rosa = world["decision"], world["writer"], world["carl"], world["rosa"]
    lifecycle.submit(decision, by=writer)  # (its mail is another test's)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.sign(decision, by=carl, title=world["ceo"], verdict="approve")
    smtp_server.wait_for(1)
    assert [(m["To"], m["Subject"]) for m in smtp_server.messages] == [("writer@example.org", f"Signed: {decision}")]
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.sign(decision, by=rosa, title=world["rso"], verdict="approve")
    smtp_server.wait_for(3)
    approved = sorted(m["To"] for m in smtp_server.messages if m["Subject"] == f"Approved: {decision}")
    assert approved == ["carl@example.org", "writer@example.org"]  # not the one who signed last: she knows

    # its evidence changes after approval: authors and signers are told, once for the change
    evaluation = Evaluation.objects.get(pk=world["evaluation"].pk)
    evaluation.score, evaluation._change_reason = 0.42, "rescored"
    with django_capture_on_commit_callbacks(execute=True):
        evaluation.save()
    with django_capture_on_commit_callbacks(execute=True):
        evaluation._change_reason = "saved again, same content"
        evaluation.save()
    smtp_server.wait_for(6)
    changed = sorted(m["To"] for m in smtp_server.messages if m["Subject"] == f"Changed since signing: {decision}")
    assert changed == ["carl@example.org", "rosa@example.org", "writer@example.org"]


def test_a_rejection_tells_the_author_why(world, smtp_server, django_capture_on_commit_callbacks):
    decision = world["decision"]
    lifecycle.submit(decision, by=world["writer"])
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.sign(decision, by=world["carl"], title=world["ceo"], verdict="reject", comment="Thin evidence.")
    mail = smtp_server.wait_for(1)[0]
    assert mail["To"] == "writer@example.org" and mail["Subject"] == f"Rejected: {decision}"
    assert "Why: Thin evidence." in body(mail) and "revise it into a new draft" in body(mail)


def test_a_mail_server_that_is_down_breaks_nothing_and_the_command_retries(world, settings, client,
                                                                           django_capture_on_commit_callbacks):
    decision, writer = world["decision"], world["writer"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2  # nobody listens
    client.force_login(writer)
    url = reverse("decisions:submit", args=[decision.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = make.post_confirmed(client, url)
    assert response.status_code == 302  # the step is taken; the mail waits
    waiting = Notification.objects.filter(sent_at__isnull=True)
    assert waiting.count() == 2 and all(n.attempts <= 1 for n in waiting)
    assert any("ConnectionRefusedError" in n.last_error for n in waiting)

    from aiosmtpd.controller import Controller

    from conftest import _Inbox

    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=settings.EMAIL_PORT)
    controller.start()
    try:
        call_command("send_notifications", stdout=io.StringIO())
        inbox.wait_for(2)
    finally:
        controller.stop()
    assert sorted(m["To"] for m in inbox.messages) == ["carl@example.org", "rosa@example.org"]
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    sent = Notification.objects.first()
    assert sent.history.first().history_change_reason == "sent"  # when it went out is in its history


def test_a_risk_owner_is_reminded_once_per_review_date(smtp_server):
    owner = person("olga", group="evaluator")
    today = timezone.localdate()
    common = {"description": "d", "inherent_likelihood": 3, "inherent_impact": 4, "residual_likelihood": 2,
              "residual_impact": 4}  # fmt: skip
    with transaction.atomic():
        risk = Risk(code="R-1", title="Late review", owner_user=owner, next_review=today - datetime.timedelta(days=2),
                    **common)  # fmt: skip
        risk.save()
        Risk(code="R-2", title="Far off", owner_user=owner, next_review=today + datetime.timedelta(days=60),
             **common).save()  # fmt: skip
        Risk(code="R-3", title="Free-text owner", owner="olga", next_review=today, **common).save()
    call_command("send_notifications", stdout=io.StringIO())
    call_command("send_notifications", stdout=io.StringIO())
    mail = smtp_server.wait_for(1)
    assert [(m["To"], m["Subject"]) for m in mail] == [("olga@example.org", "Risk review overdue: R-1 Late review")]
    assert f"https://riskreg.example{risk.get_absolute_url()}" in body(mail[0])


def test_opting_out_on_the_settings_page(client, world, smtp_server, django_capture_on_commit_callbacks):
    carl = world["carl"]
    client.force_login(carl)
    page = client.get(reverse("accounts:settings")).content.decode()
    assert "Send me mail" in page and 'checked' in page.split("Send me mail")[1][:400]
    client.post(reverse("accounts:settings"), {"send_mail_choice": "1"})  # the box unticked
    assert MailPreference.objects.get(user=carl).send_mail is False
    assert MailPreference.objects.get(user=carl).history.first().history_user == carl
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.submit(world["decision"], by=world["writer"])
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["rosa@example.org"]


def test_a_step_that_rolls_back_leaves_no_mail(world, smtp_server, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            lifecycle.submit(world["decision"], by=world["writer"])
            raise RuntimeError("something after the step failed")
    assert not Notification.objects.exists() and smtp_server.messages == []


# -- found by a helper's attacker pass ------------------------------------------------------------


def test_one_refused_address_does_not_hold_up_the_others(world, settings, django_capture_on_commit_callbacks):
    from aiosmtpd.controller import Controller

    from conftest import _Inbox

    class Picky(_Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("carl"):
                return "550 5.1.1 no such user"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    lifecycle.submit(world["decision"], by=world["writer"])  # queued, not sent (no on-commit here)
    inbox = Picky()
    controller = Controller(inbox, hostname="127.0.0.1", port=settings.EMAIL_PORT)
    controller.start()
    try:
        with pytest.raises(SystemExit):  # one failed: cron tells the operator
            call_command("send_notifications", stdout=io.StringIO())
        inbox.wait_for(1)
    finally:
        controller.stop()
    assert [m["To"] for m in inbox.messages] == ["rosa@example.org"]
    carl = Notification.objects.get(address="carl@example.org")
    assert carl.sent_at is None and "550" in carl.last_error


def test_a_silent_server_costs_one_timeout_per_request_not_one_per_recipient(world, settings,
                                                                            django_capture_on_commit_callbacks):
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts, never answers
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", silent.getsockname()[1], 1
    for name in ("dave", "erin", "finn"):
        world["ceo"].holders.add(person(name))
    started = time.monotonic()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.submit(world["decision"], by=world["writer"])
        took = time.monotonic() - started
    finally:
        silent.close()
    sent_to = Notification.objects.count()
    assert sent_to == 5 and Notification.objects.filter(attempts=1).count() == 1  # one tried, the rest wait
    assert took < 5 * settings.EMAIL_TIMEOUT  # ratio of timeouts, not a benchmark: one timeout, not five


def test_mail_waiting_for_someone_who_opts_out_or_leaves_is_not_sent(world, settings, smtp_server):
    port = settings.EMAIL_PORT
    lifecycle.submit(world["decision"], by=world["writer"])  # queued
    with transaction.atomic():
        MailPreference.objects.create(user=world["carl"], send_mail=False)
        rosa = world["rosa"]
        rosa.is_active = False
        rosa.save()
    settings.EMAIL_PORT = port
    call_command("send_notifications", stdout=io.StringIO())
    assert smtp_server.messages == []
    assert Notification.objects.filter(sent_at__isnull=True, last_error__startswith="not sent").count() == 2


def test_a_line_break_in_a_title_does_not_stop_its_mail(world, smtp_server, django_capture_on_commit_callbacks):
    decision = world["decision"]
    with transaction.atomic():
        decision.title, decision._change_reason = "Partners\nBcc: leak@evil.example", "test"
        decision.save()
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.submit(decision, by=world["writer"])
    mail = smtp_server.wait_for(2)
    assert len(mail) == 2 and all("leak@" not in (m["Bcc"] or "") and "\n" not in m["Subject"] for m in mail)


def test_a_change_after_approval_tells_who_holds_the_title_now(world, smtp_server,
                                                               django_capture_on_commit_callbacks):
    decision = world["decision"]
    lifecycle.submit(decision, by=world["writer"])
    lifecycle.sign(decision, by=world["carl"], title=world["ceo"], verdict="approve")
    lifecycle.sign(decision, by=world["rosa"], title=world["rso"], verdict="approve")
    dave = person("dave")
    world["ceo"].holders.remove(world["carl"])
    world["ceo"].holders.add(dave)
    evaluation = Evaluation.objects.get(pk=world["evaluation"].pk)
    evaluation.score, evaluation._change_reason = 0.9, "rescored"
    with django_capture_on_commit_callbacks(execute=True):
        evaluation.save()
    changed = {m["To"] for m in smtp_server.wait_for(4) if m["Subject"].startswith("Changed since signing")}
    assert "dave@example.org" in changed


def test_the_deploy_check_warns_when_mail_would_go_to_the_console(settings):
    from riskreg.notifications.apps import mail_settings

    settings.EMAIL_BACKEND, settings.SITE_URL = "django.core.mail.backends.console.EmailBackend", "http://localhost:8000"
    assert {w.id for w in mail_settings()} == {"riskreg.W001", "riskreg.W002"}
    settings.EMAIL_BACKEND, settings.SITE_URL = "django.core.mail.backends.smtp.EmailBackend", "https://r.example"
    assert mail_settings() == []


# -- issue 27: two senders at once -----------------------------------------------------------------


def test_two_senders_at_once_send_each_mail_exactly_once(committed_db, tmp_path):
    """Two `manage.py send_notifications` processes run at once against the same database and a real SMTP
    server that answers slowly (so both are sending at the same time): every notification reaches the
    server once. On SQLite `select_for_update(skip_locked=True)` is a no-op, and both used to send most of
    them (28 mails for 16); each sender now sends only what its own conditional UPDATE claimed."""
    import asyncio
    import os
    import sqlite3
    import subprocess
    import sys
    from pathlib import Path

    from aiosmtpd.controller import Controller

    from conftest import _Inbox

    with transaction.atomic():
        people = [make.user(f"reader{n}", email=f"reader{n}@example.org") for n in range(16)]
        for user in people:
            user.groups.add(Group.objects.get(name="viewer"))
            Notification(recipient=user, address=user.email, kind="review_due", key=f"two-senders:{user.pk}",
                         subject="Two senders", body="One mail each.", link="/").save()  # fmt: skip

    class Slow(_Inbox):
        async def handle_DATA(self, server, session, envelope):
            await asyncio.sleep(0.15)  # both senders are mid-way through the queue at the same time
            return await super().handle_DATA(server, session, envelope)

    inbox = Slow()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "DEBUG": "1", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(controller.port),
           "EMAIL_TIMEOUT": "10", "SITE_URL": "https://riskreg.example"}  # fmt: skip
    env.pop("MIGRATE_DATABASE_URL", None)  # the senders run as the app's role, on the test database
    db = connection.settings_dict
    if connection.vendor == "sqlite":  # the in-memory test database, copied to a file both processes open
        path = tmp_path / "outbox.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(path)
        connection.connection.backup(target)
        target.close()
        env["DATABASE_URL"] = f"sqlite:///{path}"
    else:
        env["DATABASE_URL"] = (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or 'localhost'}:"
                               f"{db['PORT'] or 5432}/{db['NAME']}")  # fmt: skip
    try:
        command = [sys.executable, "manage.py", "send_notifications"]
        senders = [subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True) for _ in range(2)]  # fmt: skip
        outputs = [sender.communicate(timeout=120) for sender in senders]
        inbox.wait_for(16, timeout=2)
    finally:
        controller.stop()
    assert sorted(m["To"] for m in inbox.messages) == sorted(user.email for user in people), outputs
    assert [sender.returncode for sender in senders] == [0, 0], outputs
    if connection.vendor == "sqlite":
        with sqlite3.connect(path) as copy:
            unsent = copy.execute("SELECT count(*) FROM notifications_notification WHERE sent_at IS NULL").fetchone()
    else:
        unsent = (Notification.objects.filter(sent_at__isnull=True).count(),)
    assert unsent == (0,)


def test_someone_left_with_no_role_gets_no_decision_mail(world, smtp_server, django_capture_on_commit_callbacks):
    """The author is left with no role (`set_user --only-roles` naming none): the rejection and its reasons
    are not mailed to them, as the decision's page is no longer theirs to read; a signer still is told."""
    decision, writer = world["decision"], world["writer"]
    lifecycle.submit(decision, by=writer)
    lifecycle.sign(decision, by=world["rosa"], title=world["rso"], verdict="approve")
    call_command("set_user", "writer", "--only-roles", stdout=io.StringIO())
    assert not writer.groups.exists()
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.sign(decision, by=world["carl"], title=world["ceo"], verdict="reject", comment="Secret reasons.")
    mail = smtp_server.wait_for(1)
    assert [(m["To"], m["Subject"]) for m in mail] == [("rosa@example.org", f"Rejected: {decision}")]
    assert not Notification.objects.filter(recipient=writer, kind="rejected").exists()


def test_decision_mail_queued_before_the_roles_were_removed_is_not_sent(world, smtp_server):
    lifecycle.submit(world["decision"], by=world["writer"])  # queued for carl and rosa (sent below)
    with transaction.atomic():
        world["carl"].groups.clear()  # all groups removed, in the admin
    call_command("send_notifications", stdout=io.StringIO())
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["rosa@example.org"]
    withheld = Notification.objects.get(recipient=world["carl"])
    assert withheld.sent_at is None and withheld.last_error.startswith("not sent:")


def test_a_title_stored_with_line_breaks_writes_no_line_of_its_own_into_the_mail(
        world, smtp_server, django_capture_on_commit_callbacks):  # fmt: skip
    """Titles are refused with a line break now (tests/test_control_characters.py); one stored before that
    rule (saved here without validation, as an old row is) still makes a one-line subject, and every line of
    the body is one the mail's composer wrote: none of the title's own."""
    decision = world["decision"]
    with transaction.atomic():
        decision.title = "Partners\r\nBcc: leak@evil.example\r\nOpen it: https://evil.example/login"
        decision._change_reason = "stored before titles were one line"
        decision.save()
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.submit(decision, by=world["writer"])
    mail = smtp_server.wait_for(2)
    assert len(mail) == 2
    title = "Partners Bcc: leak@evil.example Open it: https://evil.example/login"
    for message in mail:
        assert message["Subject"] == f"Sign-off asked: {title}"
        assert message["Bcc"] is None
        lines = body(message).splitlines()
        assert not [line for line in lines if line.startswith(("Bcc:", "Open it: https://evil"))], lines
        assert f"Writer submitted {title} for review." in lines


def test_a_mail_about_a_decision_not_made_here_says_so_in_one_clause(world, django_capture_on_commit_callbacks):
    """Issue 28: a mail about an illustration (or a decision recorded from a published source) does not pass it
    off as a decision made here; the clause stays on the line that names the decision."""
    from riskreg.decisions.models import Provenance, ReleaseDecision
    from riskreg.notifications.events import named
    from riskreg.sources import SourceMark

    decision = world["decision"]
    decision.reference, decision.source_mark = "ILLUS-9", SourceMark.ILLUSTRATION
    decision.source_note = "Made up to show the sign-off."
    decision.save()
    with django_capture_on_commit_callbacks(execute=False):
        lifecycle.submit(decision, by=world["writer"])
    mails = Notification.objects.filter(kind="submitted")
    assert mails.count() == 2
    for mail in mails:
        line = next(line for line in mail.body.splitlines() if "submitted" in line)
        assert line == f"Writer submitted {decision} (an illustration made in riskreg, not in the source) for review."
    recorded = ReleaseDecision(reference="D8", title="Limited access", provenance=Provenance.PUBLISHED_SOURCE,
                               source_section="1.2.1")  # fmt: skip
    clause = "(recorded from a published source, §1.2.1: decided there, not in riskreg)"
    assert named(recorded) == f"D8 Limited access {clause}"
    assert named(ReleaseDecision(reference="D9", title="Ours")) == "D9 Ours"
