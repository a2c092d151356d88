"""Queue the risk reviews and incident report deadlines that came due, then send every notification still in the outbox.

Run it from cron, e.g. every ten minutes: it retries mail that failed after its change committed.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from riskreg.notifications import events
from riskreg.notifications.models import Notification
from riskreg.notifications.outbox import MAX_ATTEMPTS, WITHDRAWN_MARK, send_pending


class Command(BaseCommand):
    help = "Queue mail for risk reviews that came due, then send (or retry) every unsent notification."

    def add_arguments(self, parser):
        parser.add_argument("--retry-failed", action="store_true",
                            help=f"Also retry notifications that failed {MAX_ATTEMPTS} times (after fixing the "
                                 "settings).")  # fmt: skip

    def handle(self, *args, **options):
        with transaction.atomic():
            queued = events.reviews_due()
        with transaction.atomic():
            deadlines = events.incident_deadlines()
        sent, failed = send_pending(retry_failed=options["retry_failed"])
        given_up = (Notification.objects.filter(sent_at__isnull=True, attempts__gte=MAX_ATTEMPTS)
                    .exclude(last_error__startswith=WITHDRAWN_MARK).count())  # fmt: skip
        self.stdout.write(f"{queued} risk review reminder(s) and {deadlines} incident deadline reminder(s) queued; "
                          f"{sent} mail(s) sent, {failed} failed.")
        if given_up:
            self.stdout.write(f"{given_up} notification(s) failed {MAX_ATTEMPTS} times and are no longer retried: "
                              "check the mail settings, then run send_notifications --retry-failed.")  # fmt: skip
        if failed:
            raise SystemExit(1)  # cron mails the operator
