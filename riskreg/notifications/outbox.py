"""Queueing a notification inside the step's transaction, and sending the queue after it commits."""

import datetime
import logging
import smtplib
import time

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from riskreg.lib.text import one_line

from .models import MailPreference, Notification

log = logging.getLogger("riskreg.notifications")
MAX_ATTEMPTS = 10  # after that a notification waits for the operator (shown by send_notifications)
WITHDRAWN_MARK = "not sent:"  # withdrawn, not failed (the wording of older rows differs)
WITHDRAWN = "not sent: the recipient opted out, was deactivated, has no address or may no longer read it"


def absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def wants_mail_at_all(user) -> bool:
    """The user's own choice (opt-out): without a choice made, they get mail."""
    preference = MailPreference.objects.filter(user=user).first()
    return preference is None or preference.send_mail


# What a mail is about → the permission to read it. A mail carries what the record's page shows (a rejection's
# reasons, a decision's scope): it goes only to someone who may open that page now.
READS = {"decision": "decisions.view_releasedecision", "risk": "risks.view_risk"}


def may_read(user, **about) -> bool:
    """Whether `user` may read every record the mail is about (`decision=`, `risk=`: the record or its id).

    A user left with no role (every group removed, `set_user --only-roles` with none) reads nothing, so is
    told nothing; a superuser reads everything."""
    return all(user.has_perm(READS[name]) for name, record in about.items() if name in READS and record is not None)


def wants_mail(user, **about) -> bool:
    """The one rule for every mail, applied when it is queued and again when it is sent: an active user with
    an address, who did not opt out, and who may still read what it is about."""
    return user.is_active and bool(user.email) and may_read(user, **about) and wants_mail_at_all(user)


def queue(recipient, *, kind: str, key: str, subject: str, lines: list[str], why: str, link: str, **about):
    """Add one notification to the outbox, in the caller's transaction; sent after it commits.

    Nothing is queued for someone who opted out, has no address, is inactive or may not read what it is
    about (`about`: decision=, risk=), or twice for one key."""
    if not wants_mail(recipient, **about):
        return None
    # Every line is composed as one line: a record's title (or a name, a comment) stored with a line break
    # before titles were refused one would otherwise write lines of its author's choosing into the mail.
    name = one_line(recipient.get_full_name() or recipient.get_username())
    lines = [one_line(line) for line in lines]
    body = "\n".join([
        f"Hello {name},", "", *lines, "", f"Open it: {absolute(link)}", "", f"Why you get this: {one_line(why)}",
        f"To stop these mails, untick “Send me mail” in your settings: {absolute(reverse('accounts:settings'))}",
        "", "— riskreg",
    ])  # fmt: skip
    subject = one_line(subject)[:200]  # one header line, whatever the title holds
    notification = Notification(recipient=recipient, address=recipient.email, kind=kind, key=key[:200],
                                subject=subject, body=body, link=link, **about)  # fmt: skip
    try:
        with transaction.atomic():  # a savepoint: a duplicate key leaves the caller's transaction usable
            if Notification.objects.filter(key=notification.key).exists():
                return None
            notification.save()
    except IntegrityError:  # the same key queued by a concurrent step
        return None
    pk = notification.pk
    transaction.on_commit(lambda: send_pending([pk], after_commit=True))
    return notification


# When the server was found down or silent, sends after a commit wait this long before trying again, so a
# request that mails five people costs one timeout, not five; send_notifications (cron) always tries.
PAUSE_SECONDS = 60
_paused_until = 0.0


def resume() -> None:
    global _paused_until
    _paused_until = 0.0


# How long a claim holds: longer than any one SMTP exchange (each socket operation waits EMAIL_TIMEOUT at most).
# A sender that dies after claiming leaves its notification to the next run once this has passed.
CLAIM_SECONDS = 15 * 60


def _retrying(step, tries: int = 5):
    """Run a short write transaction again when the database was busy (SQLite's "database is locked")."""
    for attempt in range(tries):
        try:
            return step()
        except OperationalError:
            if attempt == tries - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    return None


def _claim(pending, pk):
    """Take notification `pk` for this sender, or None when another sender has it or it was sent meanwhile.

    One conditional UPDATE (still unsent, under the attempt limit, and unclaimed or its claim lapsed) is the
    claim: on every database exactly one sender's UPDATE changes the row, so only that sender sends it.
    (`select_for_update(skip_locked=True)` did this on PostgreSQL only: on SQLite it locks nothing, and two
    senders at once sent most mails twice.) The UPDATE is the transaction's first statement, so SQLite takes
    its write lock at once instead of upgrading a read lock; the save after it, in the same transaction,
    writes the claim's history row and audit event: history is never bypassed."""

    def claim():
        now = timezone.now()
        with transaction.atomic():
            won = pending.filter(pk=pk).filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).update(
                claimed_until=now + datetime.timedelta(seconds=CLAIM_SECONDS))  # its history: the save below
            if not won:
                return None
            notification = Notification.objects.select_related("recipient").get(pk=pk)
            notification._change_reason = "claimed for sending"
            notification.save()
            return notification

    return _retrying(claim)


def _record(notification) -> None:
    """Record what became of a claimed notification (and release the claim), with its history row."""
    notification.claimed_until = None

    def record():
        with transaction.atomic():
            notification.save()  # an UPDATE first: SQLite takes its write lock at once

    _retrying(record)


def send_pending(ids=None, retry_failed: bool = False, after_commit: bool = False) -> tuple[int, int]:
    """Send unsent notifications (those of `ids`, or every one still under the attempt limit).

    Each is claimed first (_claim), and a sender sends only what it claimed, so two senders at once never
    send one twice; a failure is logged and counted, and the notification stays in the outbox for the next
    run. Returns (sent, failed). Never raises for a mail failure: a request that queued mail is never broken
    by the mail server."""
    pending = Notification.objects.filter(sent_at__isnull=True)
    if not retry_failed:
        pending = pending.filter(attempts__lt=MAX_ATTEMPTS)
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    sent = failed = 0
    global _paused_until
    if after_commit and time.monotonic() < _paused_until:
        return 0, 0  # the server was just found unreachable: cron sends these
    try:
        connection = get_connection(fail_silently=False)
    except Exception:  # a misconfigured backend: logged, retried later
        log.exception("Mail backend could not be set up")
        return 0, len(list(pending.values_list("pk", flat=True)))
    for pk in list(pending.order_by("id").values_list("pk", flat=True)):
        unreachable = False
        try:
            notification = _claim(pending, pk)
            if notification is None:
                continue  # sent meanwhile, or being sent by another sender
            about = {"decision": notification.decision_id, "risk": notification.risk_id}
            if not wants_mail(notification.recipient, **about):  # opted out, left, lost the role since queued
                notification.attempts = MAX_ATTEMPTS
                notification.last_error = WITHDRAWN
                notification._change_reason = "not sent: the recipient no longer takes mail"
                _record(notification)
                continue
            notification.address = notification.recipient.email  # the address as it is now
            try:
                EmailMessage(notification.subject, notification.body, settings.DEFAULT_FROM_EMAIL,
                             [notification.address], connection=connection).send()  # fmt: skip
            except Exception as error:  # SMTP, socket, TLS: all the same to the request
                log.warning("Notification %s to %s not sent: %s", pk, notification.address, error)
                notification.attempts += 1
                notification.last_error = f"{type(error).__name__}: {error}"[:500]
                notification._change_reason = "sending failed; retried by send_notifications"
                failed += 1
                # The server down (stop: the rest wait for the next run) or one address refused (go on).
                unreachable = isinstance(error, (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError)) or (
                    isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException))
            else:
                notification.attempts += 1
                notification.sent_at = timezone.now()
                notification.last_error = ""
                notification._change_reason = "sent"
                sent += 1
            _record(notification)
            if unreachable:  # the server is down: the rest wait for the next run instead of a timeout each
                _paused_until = time.monotonic() + PAUSE_SECONDS
                break
        except Exception:  # the database itself: leave it for the next run (a claim lapses after CLAIM_SECONDS)
            log.exception("Notification %s could not be sent or recorded", pk)
            failed += 1
    try:
        connection.close()
    except Exception:
        pass
    return sent, failed
