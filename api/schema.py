"""The error responses every operation can give, in the schema (api.errors' one shape).

drf-spectacular documents the success responses from the views; this hook adds the
errors, so that a client (and schemathesis) knows every status the API answers with.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "description": "Stable, for programs."},
                "message": {"type": "string", "description": "For people."},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "The inputs at fault, each with its messages.",
                },
            },
        }
    },
}
ALWAYS = {
    "401": "No valid token or session.",
    "403": "Your role does not allow this.",
    "429": "Too many calls with this token; wait a minute.",
}
WRITES = {
    "400": "The input is not valid (see fields) or the service refused it.",
    "409": "The call conflicts with the current state.",
}
READS = {
    "400": "A filter or cursor is not valid.",
    # From the HTTP server in front (gunicorn), before the API: not in the error shape.
    "414": "The URL is too long.",
}
DETAIL = {"404": "No such object."}
BULK = {"413": "Too many URLs in one call."}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            errors = dict(ALWAYS)
            errors.update(READS if method == "get" else WRITES)
            if "{" in path:
                errors.update(DETAIL)
            if path.endswith("/bulk/"):
                errors.update(BULK)
            responses = operation.setdefault("responses", {})
            for code, description in errors.items():
                answer: dict[str, Any] = {"description": description}
                if code != "414":
                    answer["content"] = reference
                responses.setdefault(code, answer)
    return result
