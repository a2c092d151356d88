from django.core.management.base import BaseCommand, CommandError

from riskreg.audit.export import csv_lines, jsonl_lines
from riskreg.audit.filters import AuditEventFilter
from riskreg.audit.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Stream the audit trail as CSV (for people) or JSON Lines (with the hash chain, for verify.py). "
        "Memory stays flat whatever the number of events."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--format", choices=["csv", "jsonl"], default="jsonl", help="Output format (default jsonl)."
        )
        parser.add_argument("--since", help="Only events at or after this ISO date or date-time (UTC unless given).")
        parser.add_argument("--until", help="Only events before this ISO date or date-time.")
        parser.add_argument("--user", help="Only events by this username.")
        parser.add_argument("--model", help="Only events of this record type, e.g. decisions.ReleaseDecision.")
        parser.add_argument("--object", dest="object_id", help="Only events of the record with this id.")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args, **options):
        data = {key: options[key] for key in ("since", "until", "user", "model", "object_id") if options[key]}
        events = AuditEventFilter(data, queryset=AuditEvent.objects.all())
        if not events.is_valid():
            problems = "; ".join(
                f"--{field.replace('_id', '')}: {' '.join(errors)}" for field, errors in events.errors.items()
            )
            raise CommandError(problems)
        lines = csv_lines(events.qs) if options["format"] == "csv" else jsonl_lines(events.qs)
        if not options["output"]:
            try:
                for line in lines:
                    self.stdout.write(line, ending="")
            except BrokenPipeError:  # e.g. piped into `head`
                pass
            return
        try:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                for line in lines:
                    out.write(line)
        except OSError as error:
            raise CommandError(f"cannot write {options['output']}: {error.strerror}") from None
        self.stderr.write(f"Wrote {lines.rows} events to {options['output']}.")
