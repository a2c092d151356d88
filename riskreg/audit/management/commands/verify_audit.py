from django.core.management.base import BaseCommand, CommandError

from riskreg.audit.chain import verify_database


class Command(BaseCommand):
    help = (
        "Check the audit chain in the database: every event's hash and link, the head, and that each "
        "history row still matches its event (none edited, removed, or written without an event), and that "
        "every live row of a tracked model equals its newest history row (none written around history). "
        "Names the first problems found and exits 1 if there are any."
    )

    def handle(self, *args, **options):
        report = verify_database()
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(f"- {problem}")
            raise CommandError(f"The audit trail does not verify ({len(report.problems)} problem(s) shown).")
        self.stdout.write(
            self.style.SUCCESS(f"OK: {report.count} events verified, with every history row and live row.")
        )
