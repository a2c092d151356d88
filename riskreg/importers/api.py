"""Log ingestion for evaluation pipelines: POST /api/imports/ with an evaluator's API token.

multipart/form-data: `log` (one or more files), `snapshot` (id or name), `category` (short name),
optional `rule` and `allow_other_model`. Answers, per file, the evaluation's id and URL or the
reason it was refused; idempotent like the command line.
"""

from django.db import transaction
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from riskreg.api import error, token_user

from .evalsets import check_members, is_listing, listing_of
from .forms import MAX_FILES
from .inspect import InspectLogError, RequestBudget
from .service import OutcomeRule, find_category, find_snapshot, import_log, written_atomically
from .slots import RETRY_AFTER, ImportBusy, import_slot
from .views import upload_name

TRUE = {"1", "true", "yes", "on"}
FALSE = {"", "0", "false", "no", "off"}


@method_decorator(csrf_exempt, name="dispatch")  # a bearer token, never a cookie, authenticates this endpoint
@method_decorator(transaction.non_atomic_requests, name="dispatch")  # its own transaction: written_atomically()
class ImportApiView(View):
    http_method_names = ["post"]

    def post(self, request):
        user, refused = token_user(request)
        if refused:
            return refused
        if not user.has_perm("evaluations.import_evaluation_logs"):
            return error(403, "This token's user may not import evaluation logs (an evaluator's token is needed).")
        try:
            with import_slot(user):  # taken and released outside the transaction
                with written_atomically():  # as ATOMIC_REQUESTS would, and a rollback removes the files written
                    return self._post(request, user)
        except ImportBusy as busy:
            response = error(429, str(busy))
            response["Retry-After"] = str(RETRY_AFTER)
            return response

    def _post(self, request, user):
        if request.content_type != "multipart/form-data":
            return error(400, "Send multipart/form-data: log (one or more files), snapshot, category, [rule], "
                              "[allow_other_model].")  # fmt: skip
        unknown = sorted(set(request.POST) - {"snapshot", "category", "rule", "allow_other_model"})
        unknown_files = sorted(set(request.FILES) - {"log"})
        if unknown or unknown_files:
            return error(400, f"Unknown fields: {', '.join(unknown + unknown_files)}.")
        flag = request.POST.get("allow_other_model", "").strip().lower()
        if flag not in TRUE | FALSE:
            return error(400, f"allow_other_model must be true or false, not {flag[:40]!r}.")
        try:
            snapshot = find_snapshot(request.POST.get("snapshot"))
            category = find_category(request.POST.get("category"))
            rule = OutcomeRule.parse(request.POST.get("rule", ""))
        except InspectLogError as problem:
            return error(400, str(problem))
        uploads = request.FILES.getlist("log")
        if not uploads:
            return error(400, "Send at least one log file in the field 'log'.")
        if len(uploads) > MAX_FILES:
            return error(400, f"At most {MAX_FILES} files per request.")

        names = [upload_name(upload) for upload in uploads]
        listing_files = {n: u for n, u in zip(names, uploads, strict=True) if is_listing(n)}
        budget = RequestBudget()  # the JSON values all the files of this request may parse (issue 27)
        try:
            listing = listing_of(listing_files, budget)
        except InspectLogError as problem:
            return error(400, str(problem))
        results = []
        for name, upload in zip(names, uploads, strict=True):
            if is_listing(name):
                continue
            result = import_log(upload, name, snapshot=snapshot, category=category, user=user, rule=rule,
                                allow_other_model=flag in TRUE, budget=budget)  # fmt: skip
            evaluation = result.evaluation
            results.append({
                "file": name, "status": result.status, "message": result.message,
                "evaluation": evaluation.pk if evaluation else None,
                "url": request.build_absolute_uri(evaluation.get_absolute_url()) if evaluation else None,
            })  # fmt: skip
        if listing is not None:
            missing, notes = check_members(listing, [r["file"] for r in results])
            results += [{"file": name, "status": "refused", "message": why, "evaluation": None, "url": None}
                        for name, why in missing]  # fmt: skip
        else:
            notes = []
        status = 422 if any(r["status"] == "refused" for r in results) or not results else 200
        body = {"results": results, "notes": notes}
        if not results:
            body["error"] = "No Inspect logs among the files."
        return JsonResponse(body, status=status, json_dumps_params={"ensure_ascii": False})
