from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from riskreg.evaluations.models import Snapshot
from riskreg.forms import id_in_range
from riskreg.frameworks.models import ThreatCategory
from riskreg.importers.inspect import InspectLogError
from riskreg.importers.service import OutcomeRule, import_log


class Command(BaseCommand):
    help = (
        "Import UK AISI Inspect evaluation logs (.json or .eval): each log becomes one evaluation of the "
        "given snapshot and category, with the log attached as evidence. Re-importing a log changes nothing. "
        "Exits 1 if any file was refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="Inspect log files (.json or .eval).")
        parser.add_argument("--snapshot", required=True, type=int, help="Id of the snapshot the runs evaluated.")
        parser.add_argument("--category", required=True, help="Slug of the threat category, e.g. cyber.")
        parser.add_argument("--rule", default="", help="Optional outcome rule, e.g. 'accuracy>=0.5' ⇒ signal met.")
        parser.add_argument("--user", default="", help="Username recorded as the importer (default: the seed user).")

    def handle(self, *args, files, snapshot, category, rule, user, **options):
        found_snapshot = Snapshot.objects.filter(pk=snapshot).first() if id_in_range(snapshot) else None
        if found_snapshot is None:
            raise CommandError(f"No snapshot with id {snapshot}.")
        found_category = ThreatCategory.objects.filter(slug=category).first() if "\x00" not in category else None
        if found_category is None:
            slugs = ", ".join(ThreatCategory.objects.values_list("slug", flat=True))
            raise CommandError(f"No threat category {category!r} (known: {slugs}).")
        try:
            outcome_rule = OutcomeRule.parse(rule)
        except InspectLogError as error:
            raise CommandError(str(error)) from None
        importer = self._user(user)

        counts = {"imported": 0, "skipped": 0, "refused": 0}
        refused = []
        for number, name in enumerate(files, start=1):
            path = Path(name)
            if not path.is_file():
                result_status, message = "refused", "no such file"
            else:
                with path.open("rb") as handle:
                    handle.size = path.stat().st_size
                    result = import_log(handle, path.name, snapshot=found_snapshot, category=found_category,
                                        user=importer, rule=outcome_rule)  # fmt: skip
                result_status, message = result.status, result.message
            counts[result_status] += 1
            if result_status == "refused":
                refused.append(f"{name}: {message}")
            self.stdout.write(f"[{number}/{len(files)}] {name}: {result_status} — {message}")
        summary = f"Imported {counts['imported']}, skipped {counts['skipped']}, refused {counts['refused']}."
        if refused:
            self.stderr.write("Refused:\n  " + "\n  ".join(refused))
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))

    def _user(self, username):
        from django.contrib.auth import get_user_model

        from riskreg.demo import SEED_USERNAME

        User = get_user_model()
        if username:
            found = User.objects.filter(username=username).first() if "\x00" not in username else None
            if found is None:
                raise CommandError(f"No user {username!r}.")
            return found
        found, created = User.objects.get_or_create(
            username=SEED_USERNAME, defaults={"first_name": "Demo data loader", "is_active": False}
        )
        if created:
            found.set_unusable_password()
            found.save(update_fields=["password"])
        return found
