"""The release gate for pipelines: GET /api/decisions/<id>/gate/ with a per-user API token."""

from django.http import JsonResponse
from django.views import View

from riskreg.api import error, token_user

from .gate import gate
from .models import ReleaseDecision


class GateApiView(View):
    http_method_names = ["get"]

    def get(self, request, pk):
        user, refused = token_user(request)
        if refused:
            return refused
        if not user.has_perm("decisions.view_releasedecision"):
            return error(403, "This token's user may not read release decisions.")
        decision = ReleaseDecision.objects.filter(pk=pk).first()
        if decision is None:
            return error(404, f"No release decision {pk}.")
        report = gate(decision)
        return JsonResponse(report.as_dict(), json_dumps_params={"ensure_ascii": False})
