"""The release gate for pipelines: GET /api/decisions/<id>/gate/ with a per-user API token.

Authenticated by `Authorization: Bearer <token>` only — a browser session is not enough, so a
page visited in a browser can never trigger a pipeline's check on someone's behalf.
"""

from django.http import JsonResponse
from django.views import View

from riskreg.accounts.models import ApiToken

from .gate import gate
from .models import ReleaseDecision


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="riskreg"'
    return response


class GateApiView(View):
    http_method_names = ["get"]

    def get(self, request, pk):
        scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            return _error(401, "Send an API token: Authorization: Bearer <token> (make one on your settings page).")
        user = ApiToken.objects.user_for(raw.strip())
        if user is None:
            return _error(401, "The API token is unknown or revoked.")
        if not user.has_perm("decisions.view_releasedecision"):
            return _error(403, "This token's user may not read release decisions.")
        decision = ReleaseDecision.objects.filter(pk=pk).first()
        if decision is None:
            return _error(404, f"No release decision {pk}.")
        report = gate(decision)
        return JsonResponse(report.as_dict(), json_dumps_params={"ensure_ascii": False})
