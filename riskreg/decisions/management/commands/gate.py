import json
import sys

from django.core.management.base import BaseCommand, CommandError

from riskreg.decisions.gate import BLOCK, RECORDED, WARN, gate
from riskreg.decisions.models import ReleaseDecision

SYMBOL = {"pass": "PASS ", "warn": "WARN ", "block": "BLOCK"}


class Command(BaseCommand):
    help = (
        "Ask the release gate about one decision. Exit 0 if it passes (warnings allowed); 1 if anything "
        "blocks, or the decision was only recorded from a published source (never a gate pass); 2 for bad "
        "arguments or an unknown decision."
    )

    def add_arguments(self, parser):
        parser.add_argument("decision", help="The decision's id, or its reference (e.g. D8) if that is unique.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON (as the API returns it).")

    def handle(self, *args, decision, **options):
        found = self._find(decision)
        report = gate(found)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        else:
            self.stdout.write(f"Release gate for decision {found.pk}: {report.decision} ({report.framework_version})")
            self.stdout.write(f"Status: {found.get_status_display()} — {report.headline}")
            if report.material_change:
                self.stdout.write(f"Changed since {report.material_change.since[:10]}:")
                for change in report.material_change.changes:
                    self.stdout.write(f"  - {change.text}")
            for check in report.checks:
                self.stdout.write(f"  {SYMBOL[check.status]} {check.title}")
                self.stdout.write(f"        {check.reason}")
            verdict = {
                BLOCK: "BLOCKED", WARN: "PASSES, with warnings",
                RECORDED: "RECORDED from a published source; no sign-off data (not a gate pass)",
            }.get(report.status, "PASSES")  # fmt: skip
            if report.passed and not report.release_allowed:
                verdict = f"NOT RELEASABLE: the decision is {found.get_status_display().lower()}, not approved"
            self.stdout.write(f"Result: {verdict}")
        if not report.release_allowed:
            sys.exit(1)

    def _find(self, value: str) -> ReleaseDecision:
        if "\x00" in value:  # no such key can exist
            raise CommandError(f"No release decision {value!r}.", returncode=2)
        if value.isascii() and value.isdigit():
            found = ReleaseDecision.objects.filter(pk=int(value)).first()
        else:
            matches = list(ReleaseDecision.objects.filter(reference=value)[:2])
            if len(matches) > 1:
                raise CommandError(f"More than one decision has the reference {value!r}; give its id.", returncode=2)
            found = matches[0] if matches else None
        if found is None:
            raise CommandError(f"No release decision {value!r}.", returncode=2)
        return found
