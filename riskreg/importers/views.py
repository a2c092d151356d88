"""The upload page: choose one or more logs, see what each will record, then confirm them together.

The uploaded files wait between preview and confirmation in a staging folder, under a random token
that only the uploader's session knows; confirming imports them from there and removes them.
"""

import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View

from riskreg.accounts.access import RoleRequiredMixin
from riskreg.evaluations.models import Evaluation, Outcome, Snapshot
from riskreg.frameworks.models import ThreatCategory
from riskreg.sources import SourceMark

from .evalsets import check_members, is_listing, listing_of
from .forms import ConfirmForm, ImportForm
from .inspect import InspectLogError, RequestBudget, read_log
from .service import check_size, import_log, plan, sha256_of, written_atomically
from .slots import RETRY_AFTER, ImportBusy, import_slot

SESSION_KEY = "inspect_staged"
STAGING_HOURS = 24


def staging_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "import-staging"


def _clear_old_staging() -> None:
    root = staging_root()
    if not root.is_dir():
        return
    cutoff = time.time() - STAGING_HOURS * 3600
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def upload_name(upload) -> str:
    """The uploaded file's own base name, as Inspect named it (e.g. `…T10-00-00+01-00_task_id.eval`):
    shown, recorded and matched against an eval set's logs.json. It never names a file on disk here."""
    name = Path(str(upload.name or "").replace("\\", "/")).name
    name = "".join(char for char in name if char.isprintable())[-255:]
    return name if name.strip(". ") else "log"


def command_line_context() -> dict:
    """What the command line and the API need: each snapshot's id and name, each category's short name."""
    return {
        "cli_snapshots": Snapshot.objects.select_related("model").order_by("model__name", "name")[:200],
        "cli_categories": ThreatCategory.objects.order_by("slug")[:200],
    }


def busy_page(request, busy: ImportBusy, form=None):
    """The upload page with the refusal of a slot (429): nothing was read or written."""
    if form is not None:
        form.add_error(None, str(busy))
    else:
        form = ImportForm()
        messages.error(request, str(busy))
    response = render(request, "importers/import_form.html", {"form": form, **command_line_context()}, status=429)
    response["Retry-After"] = str(RETRY_AFTER)
    return response


# Reading logs takes an import slot (slots.py), outside any transaction: the views run outside
# ATOMIC_REQUESTS and open their own inside the slot.
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class ImportView(RoleRequiredMixin, View):
    permission_required = "evaluations.import_evaluation_logs"
    template_name = "importers/import_form.html"

    def _form_page(self, request, form, status=200):
        return render(request, self.template_name, {"form": form, **command_line_context()}, status=status)

    def get(self, request):
        return self._form_page(request, ImportForm())

    def post(self, request):
        """Read the uploaded logs, stage them, and show what each would record (the confirm form)."""
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._form_page(request, form, status=400)
        try:
            with import_slot(request.user), transaction.atomic():
                return self._preview(request, form)
        except ImportBusy as busy:
            return busy_page(request, busy, form)

    def _preview(self, request, form):
        snapshot, category, rule = (form.cleaned_data[k] for k in ("snapshot", "category", "rule"))
        uploads = [(upload, upload_name(upload)) for upload in form.cleaned_data["log"]]
        rows, listing_files = [], {}
        budget = RequestBudget()  # the JSON values all the files of this preview may parse (issue 27)
        for upload, name in uploads:
            if is_listing(name):
                listing_files[name] = upload
                continue
            try:
                budget.before_reading()
                check_size(upload.size, name)
                log = read_log(upload, name, budget=budget)
                decided = plan(log, sha256_of(upload), snapshot=snapshot, category=category, rule=rule,
                               allow_other_model=True)  # fmt: skip
                # The record as it will be made, unsaved: its provenance (imported from a log; the outcome is the
                # rule's classification, riskreg's reading) is drawn by the same tags as on every page (issue 28).
                record = Evaluation(source_mark=SourceMark.IMPORTED, source_section=f"Inspect log {log.eval_id}"[:100],
                                    outcome=decided.outcome)  # fmt: skip
                rows.append({"name": name, "upload": upload, "log": log, "plan": decided, "record": record,
                             "outcome": Outcome(decided.outcome).label})  # fmt: skip
            except InspectLogError as error:
                rows.append({"name": name, "error": str(error)})
        notes = []
        try:
            listing = listing_of(listing_files, budget)
        except InspectLogError as error:
            form.add_error("log", str(error))
            return self._form_page(request, form, status=400)
        if listing is not None:
            missing, notes = check_members(listing, [row["name"] for row in rows])
            rows += [{"name": name, "error": why} for name, why in missing]
        if not any("log" in row for row in rows):
            for row in rows:
                form.add_error("log", f"{row['name']}: {row['error']}")
            if not rows:
                form.add_error("log", "No Inspect logs among the files (logs.json and eval-set.json list the "
                                      "members; choose the logs too).")  # fmt: skip
            return self._form_page(request, form, status=400)

        _clear_old_staging()
        # One preview waits per session: an earlier unconfirmed one is dropped with its files.
        for earlier in request.session.get(SESSION_KEY, {}):
            shutil.rmtree(staging_root() / earlier, ignore_errors=True)
        request.session[SESSION_KEY] = {}
        token = uuid.uuid4().hex
        folder = staging_root() / token
        folder.mkdir(parents=True)
        staged_names = []
        for number, row in enumerate(rows):
            if "log" in row and row["plan"].action != "skip":
                stored = f"{number}{Path(row['name']).suffix.lower()}"  # on disk: a name nobody steers
                with (folder / stored).open("wb") as staged:
                    for chunk in row["upload"].chunks():
                        staged.write(chunk)
                staged_names.append([stored, row["name"]])
        request.session[SESSION_KEY] = {**request.session.get(SESSION_KEY, {}), token: staged_names}
        confirm = ConfirmForm(initial={
            "token": token, "snapshot": snapshot.pk, "category": category.pk, "rule": rule.text() if rule else "",
        })  # fmt: skip
        context = {
            "rows": rows, "confirm": confirm, "snapshot": snapshot, "category": category, "rule": rule,
            "notes": notes, "staged": staged_names,
            "mismatch": any("log" in r and r["plan"].model_mismatch and r["plan"].action == "import" for r in rows),
        }  # fmt: skip
        return render(request, "importers/import_preview.html", context)


@method_decorator(transaction.non_atomic_requests, name="dispatch")  # its own transaction: written_atomically()
class ImportConfirmView(RoleRequiredMixin, View):
    """Import the logs a preview staged for this session, then remove them from the staging folder."""

    permission_required = "evaluations.import_evaluation_logs"

    def post(self, request):
        form = ConfirmForm(request.POST)
        staged = request.session.get(SESSION_KEY, {})
        if not form.is_valid() or form.cleaned_data["token"] not in staged:
            messages.error(request, "That upload is no longer waiting to be confirmed; please upload it again.")
            return redirect("importers:upload")
        try:
            with import_slot(request.user):
                with written_atomically():  # as ATOMIC_REQUESTS would, and a rollback removes the files written
                    return self._confirm(request, form, staged)
        except ImportBusy as busy:  # the preview still waits: going back and confirming again works
            return busy_page(request, ImportBusy(f"{busy} Your preview is still waiting: go back and confirm it."))

    def _confirm(self, request, form, staged):
        token = form.cleaned_data["token"]
        folder = staging_root() / token
        results = []
        budget = RequestBudget()  # the staged files were read within one at the preview; read again within one
        try:
            for entry in staged[token]:
                stored, name = entry if isinstance(entry, list) else (entry, entry)
                path = folder / stored
                if not path.is_file():
                    continue
                with path.open("rb") as handle:
                    handle.size = path.stat().st_size
                    results.append(import_log(
                        handle, name, snapshot=form.cleaned_data["snapshot"], category=form.cleaned_data["category"],
                        user=request.user, rule=form.cleaned_data["rule"],
                        allow_other_model=form.cleaned_data["allow_other_model"], budget=budget,
                    ))  # fmt: skip
        finally:
            staged.pop(token, None)
            request.session[SESSION_KEY] = staged
            shutil.rmtree(folder, ignore_errors=True)
        if not results:
            messages.error(request, "That upload is no longer waiting to be confirmed; please upload it again.")
            return redirect("importers:upload")
        for result in results:
            if result.refused:
                messages.error(request, f"{result.name} was refused: {result.message}")
            else:
                (messages.success if result.status in ("imported", "updated") else messages.info)(
                    request, f"{result.name}: {result.message}"
                )
        recorded = [r.evaluation for r in results if r.evaluation is not None]
        if len(results) == 1 and recorded:
            return redirect(recorded[0])
        if recorded:
            return redirect("evaluations:list")
        return redirect("importers:upload")
