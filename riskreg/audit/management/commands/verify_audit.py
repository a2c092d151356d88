from django.core.management.base import BaseCommand, CommandError

from riskreg.audit import verifiers
from riskreg.audit.chain import verify_database


class Command(BaseCommand):
    help = (
        "Check the audit chain in the database: every event's hash and link, the head, and that each "
        "history row still matches its event (none edited, removed, or written without an event), and that "
        "every live row of a tracked model equals its newest history row (none written around history), "
        "and what the apps add: every sign-off signed with its signer's own key. "
        "Names the first problems found and exits 1 if there are any. Checkpoint rows and tree nodes the "
        "app's role planted are summarised apart (they never hide another problem); once checked, "
        "acknowledge them in the AUDIT_ACKNOWLEDGED_PLANTED setting, and only new ones fail the check."
    )

    def handle(self, *args, **options):
        report = verify_database()
        problems, notes = list(report.problems), list(report.notes)
        for check in verifiers.CHECKS:  # what the apps add: e.g. each sign-off's own signature
            found, noted = check()
            problems += found
            notes += noted
        for note in notes:
            self.stdout.write(f"Note: {note}")
        if problems:
            for problem in problems:
                self.stderr.write(problem if problem.startswith("  ") else f"- {problem}")
            if report.acknowledge_with:
                self.stderr.write("Once you have checked the planted rows, acknowledge them in the settings "
                                  f"(environment): AUDIT_ACKNOWLEDGED_PLANTED={report.acknowledge_with}")  # fmt: skip
            raise CommandError(f"The audit trail does not verify ({len(problems)} problem(s) shown).")
        looks = f" {len(notes)} note(s) above need a person's look." if notes else ""
        self.stdout.write(
            self.style.SUCCESS(f"OK: {report.count} events verified, with every history row and live row.{looks}")
        )
