"""The upload page: choose a log, see what will be recorded, then confirm.

The uploaded file waits between preview and confirmation in a staging folder, under a random
token that only the uploader's session knows; confirming imports it from there and removes it.
"""

import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.text import get_valid_filename
from django.views import View

from riskreg.accounts.access import RoleRequiredMixin

from .forms import ConfirmForm, ImportForm
from .inspect import InspectLogError, read_log
from .service import check_size, import_log, outcome_for

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


class ImportView(RoleRequiredMixin, View):
    permission_required = "evaluations.import_evaluation_logs"
    template_name = "importers/import_form.html"

    def get(self, request):
        return render(request, self.template_name, {"form": ImportForm()})

    def post(self, request):
        if "token" in request.POST:
            return self.confirm(request)
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        upload = form.cleaned_data["log"]
        name = get_valid_filename(Path(upload.name).name) if upload.name else "log"
        try:
            check_size(upload.size, name)
            log = read_log(upload, name)
            outcome = outcome_for(log, form.cleaned_data["rule"])
        except InspectLogError as error:
            form.add_error("log", str(error))
            return render(request, self.template_name, {"form": form}, status=400)

        _clear_old_staging()
        token = uuid.uuid4().hex
        folder = staging_root() / token
        folder.mkdir(parents=True)
        with (folder / name).open("wb") as staged:
            for chunk in upload.chunks():
                staged.write(chunk)
        request.session[SESSION_KEY] = {**request.session.get(SESSION_KEY, {}), token: name}
        rule = form.cleaned_data["rule"]
        confirm = ConfirmForm(initial={
            "token": token, "snapshot": form.cleaned_data["snapshot"].pk,
            "category": form.cleaned_data["category"].pk, "rule": f"{rule.metric}>={rule.value}" if rule else "",
        })  # fmt: skip
        from riskreg.evaluations.models import ImportedRun, Outcome

        existing = ImportedRun.objects.filter(eval_id=log.eval_id).first()
        context = {
            "log": log, "name": name, "confirm": confirm, "snapshot": form.cleaned_data["snapshot"],
            "category": form.cleaned_data["category"], "rule": rule, "outcome": Outcome(outcome).label,
            "existing": existing,
        }  # fmt: skip
        return render(request, "importers/import_preview.html", context)

    def confirm(self, request):
        form = ConfirmForm(request.POST)
        staged = request.session.get(SESSION_KEY, {})
        if not form.is_valid() or form.cleaned_data["token"] not in staged:
            messages.error(request, "That upload is no longer waiting to be confirmed; please upload it again.")
            return redirect("importers:upload")
        token = form.cleaned_data["token"]
        name = staged[token]
        folder = staging_root() / token
        path = folder / name
        if not path.is_file():
            messages.error(request, "That upload is no longer waiting to be confirmed; please upload it again.")
            return redirect("importers:upload")
        try:
            with path.open("rb") as handle:
                handle.size = path.stat().st_size
                result = import_log(handle, name, snapshot=form.cleaned_data["snapshot"],
                                    category=form.cleaned_data["category"], user=request.user,
                                    rule=form.cleaned_data["rule"])  # fmt: skip
        finally:
            staged.pop(token, None)
            request.session[SESSION_KEY] = staged
            shutil.rmtree(folder, ignore_errors=True)
        if result.status == "refused":
            messages.error(request, f"{name} was refused: {result.message}")
            return redirect("importers:upload")
        (messages.success if result.status == "imported" else messages.info)(request, result.message)
        return redirect(result.evaluation)
