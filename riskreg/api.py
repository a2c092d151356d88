"""What every API endpoint shares: token authentication, JSON errors, and the OpenAPI description.

Authenticated by `Authorization: Bearer <token>` only — a browser session is not enough, so a page
visited in a browser can never make a pipeline's call on someone's behalf.
"""

from django.http import JsonResponse
from django.urls import reverse
from django.views import View

from riskreg.accounts.models import ApiToken


def error(status: int, message: str, **extra) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status, json_dumps_params={"ensure_ascii": False})
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="riskreg"'
    return response


def token_user(request):
    """(user, None) for a valid bearer token, else (None, the 401 response)."""
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None, error(401, "Send an API token: Authorization: Bearer <token> (make one on your settings page).")
    user = ApiToken.objects.user_for(raw.strip())
    if user is None:
        return None, error(401, "The API token is unknown or revoked.")
    return user, None


_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
_BEARER: list[dict[str, list[str]]] = [{"token": []}]


def openapi_document(server: str) -> dict:
    """The API as OpenAPI 3.1: the release gate and log ingestion."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "riskreg API",
            "version": "1",
            "description": "The release gate for pipelines and the ingestion of Inspect evaluation logs. Every "
            "call carries an API token made on the user's settings page: `Authorization: Bearer <token>`.",
        },
        "servers": [{"url": server}],
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "ImportResult": {
                    "type": "object",
                    "required": ["file", "status", "message"],
                    "properties": {
                        "file": {"type": "string"},
                        "status": {"type": "string", "enum": ["imported", "updated", "skipped", "refused"]},
                        "message": {"type": "string"},
                        "evaluation": {"type": ["integer", "null"]},
                        "url": {"type": ["string", "null"], "format": "uri"},
                    },
                },
            },
        },
        "security": _BEARER,
        "paths": {
            "/api/decisions/{id}/gate/": {
                "get": {
                    "operationId": "gate",
                    "summary": "The release gate's report on one decision",
                    "description": "`passed` is true only for an approved decision, decided here, whose checks "
                    "pass; `checks_pass` is the checks alone.",
                    "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                    "responses": {
                        "200": {"description": "The gate report", "content": {"application/json": {"schema": {
                            "type": "object", "required": ["decision", "status", "passed", "checks_pass", "checks"],
                            "properties": {
                                "decision": {"type": "object", "description": "id, label, framework_version, status, "
                                             "recorded_from_published_source, and provenance: where the decision "
                                             "comes from (origin: recorded, illustration or decided; mark; section; "
                                             "note), the same JSON shape as every report item's"},
                                "status": {"type": "string"},
                                "passed": {"type": "boolean"}, "checks_pass": {"type": "boolean"},
                                "headline": {"type": "string"}, "digest": {"type": "string"},
                                "material_change": {"type": ["object", "null"]},
                                "authors": {"type": "array", "items": {"type": "string"}},
                                "checks": {"type": "array", "items": {"type": "object"}},
                            }}}}},  # fmt: skip
                        "401": {"description": "No token, or an unknown or revoked one", "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                        "403": {"description": "The token's user may not read decisions", "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                        "404": {"description": "No such decision", "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    },
                }
            },
            "/api/imports/": {
                "post": {
                    "operationId": "importLogs",
                    "summary": "Import Inspect logs as evaluations",
                    "description": "Each file is imported on its own, as the command line does: a refused file "
                    "changes nothing, an identical file is skipped, a later state of a run recorded unfinished "
                    "updates it. Needs a user allowed to import logs (an evaluator). An eval set's logs.json / "
                    "eval-set.json may be sent with its logs: they are read to check that every member came. "
                    "All the files of one request share a budget of JSON values (IMPORT_MAX_REQUEST_JSON_VALUES): "
                    "past it, the file being read is refused naming the limit and the files after it are refused "
                    "unread ('Not read: …'); send those in another request.",
                    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                        "type": "object", "required": ["log", "snapshot", "category"],
                        "properties": {
                            "log": {"type": "array", "items": {"type": "string", "contentMediaType":
                                    "application/octet-stream"}, "description": "One or more .eval/.json logs"},
                            "snapshot": {"type": "string", "description": "The snapshot's id or name"},
                            "category": {"type": "string", "description": "The threat category's short name"},
                            "rule": {"type": "string", "description": "e.g. match/accuracy>=0.5"},
                            "allow_other_model": {"type": "boolean", "description": "Record logs whose model is "
                                                  "not among the snapshot's known identifiers"},
                        }}}}},  # fmt: skip
                    "responses": {
                        "200": {"description": "Every file imported, updated or skipped", "content": {
                            "application/json": {"schema": {"type": "object", "properties": {"results": {
                                "type": "array", "items": {"$ref": "#/components/schemas/ImportResult"}}}}}}},
                        "422": {"description": "At least one file was refused (the others are as listed)",
                                "content": {"application/json": {"schema": {"type": "object", "properties": {
                                    "results": {"type": "array", "items": {
                                        "$ref": "#/components/schemas/ImportResult"}}}}}}},  # fmt: skip
                        "400": {"description": "A missing or unknown snapshot, category or rule, or no files; "
                                "nothing imported", "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/Error"}}}},  # fmt: skip
                        "401": {"description": "No token, or an unknown or revoked one", "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                        "403": {"description": "The token's user may not import logs", "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                        "429": {"description": "Too many imports at once (for this user, or in all): the message names "
                                "the limit, nothing was read or written; try again after Retry-After seconds",
                                "content": {"application/json": {"schema": {
                                    "$ref": "#/components/schemas/Error"}}}},  # fmt: skip
                    },
                }
            },
        },
    }


class OpenApiView(View):
    """The API description, readable without a token (it describes, it reveals no record)."""

    http_method_names = ["get"]

    def get(self, request):
        server = request.build_absolute_uri(reverse("home")).rstrip("/")
        return JsonResponse(openapi_document(server), json_dumps_params={"ensure_ascii": False, "indent": 1})
