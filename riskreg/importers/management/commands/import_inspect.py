from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from riskreg.importers.evalsets import collect
from riskreg.importers.inspect import InspectLogError, RequestBudget
from riskreg.importers.service import OutcomeRule, find_category, find_snapshot, import_log


class Command(BaseCommand):
    help = (
        "Import UK AISI Inspect evaluation logs (.json or .eval), eval-set folders, or an eval set's logs.json: "
        "each log becomes one evaluation of the given snapshot and category, with the log attached as evidence. "
        "Re-importing a log changes nothing, unless it is a later state of a run recorded unfinished. "
        "Exits 1 if any file was refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="PATH",
                            help="Inspect log files, eval-set folders, or logs.json / eval-set.json.")  # fmt: skip
        parser.add_argument("--snapshot", required=True,
                            help="The snapshot the runs evaluated: its id or its name (shown on the model page).")
        parser.add_argument("--category", required=True, help="Short name of the threat category, e.g. cyber.")
        parser.add_argument("--rule", default="",
                            help="Optional outcome rule on a metric's full name, e.g. 'match/accuracy>=0.5' ⇒ "
                                 "signal met (a bare metric name is accepted where only one metric has it).")
        parser.add_argument("--allow-other-model", action="store_true",
                            help="Record logs whose model is not among the snapshot's known identifiers (the "
                                 "confirmation is recorded with each evaluation).")
        parser.add_argument("--user", default="", help="Username recorded as the importer (default: the seed user).")

    def handle(self, *args, files, snapshot, category, rule, allow_other_model, user, **options):
        try:
            found_snapshot = find_snapshot(snapshot)
            found_category = find_category(category)
            outcome_rule = OutcomeRule.parse(rule)
        except InspectLogError as error:
            raise CommandError(str(error)) from None
        importer = self._user(user)

        collected = collect(files)
        for note in collected.notes:
            self.stdout.write(note)
        counts = {"imported": 0, "updated": 0, "skipped": 0, "refused": 0}
        refused = [f"{name}: {why}" for name, why in collected.missing]
        counts["refused"] += len(refused)
        total = len(collected.files)
        budget = RequestBudget()  # one run of the command is bounded in work as one request is (issue 27)
        for number, path in enumerate(collected.files, start=1):
            if not path.is_file():
                status, message = "refused", "no such file"
            else:
                with path.open("rb") as handle:
                    handle.size = path.stat().st_size
                    result = import_log(handle, path.name, snapshot=found_snapshot, category=found_category,
                                        user=importer, rule=outcome_rule,
                                        allow_other_model=allow_other_model, budget=budget)  # fmt: skip
                status, message = result.status, result.message
                if result.evaluation is not None and status != "refused":
                    message += f" [{result.evaluation.get_absolute_url()}]"
            counts[status] += 1
            if status == "refused":
                refused.append(f"{path}: {message}")
            self.stdout.write(f"[{number}/{total}] {Path(path)}: {status} — {message}")
        summary = (f"Imported {counts['imported']}, updated {counts['updated']}, skipped {counts['skipped']}, "
                   f"refused {counts['refused']}.")  # fmt: skip
        if refused:
            self.stderr.write("Refused:\n  " + "\n  ".join(refused))
            raise CommandError(summary, returncode=1)
        if not total:
            raise CommandError("No Inspect logs found in what was given.", returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))

    def _user(self, username):
        from django.contrib.auth import get_user_model

        from riskreg.accounts.models import system_account
        from riskreg.demo.loader import SEED_USERNAME

        User = get_user_model()
        if username:
            found = User.objects.filter(username=username).first() if "\x00" not in username else None
            if found is None:
                raise CommandError(f"No user {username!r}.")
            return found
        return system_account(SEED_USERNAME, "Demo data loader")
