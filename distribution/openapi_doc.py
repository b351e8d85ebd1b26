"""The document at /openapi.json, with every component its operations refer to.

llama-stack's routes point at ``#/components/responses/BadRequest400`` (and 429, 500,
default) and at response-body schemas such as ``OpenAIChatCompletionChunk`` that only its
offline spec generator defines: FastAPI's document leaves those references dangling, and
a client that resolves them (a code generator, schemathesis) rejects every such operation.
Herd fills them in when the document is first built: the error responses with the
OpenAI-shaped body ``http_errors`` sends, the schemas from ``llama_stack_api``'s types.
"""

import json
import re
from typing import Any

ERROR_RESPONSES = {
    "BadRequest400": "The request is invalid; the message says what to change",
    "TooManyRequests429": "The server is busy; retry after the seconds in Retry-After",
    "InternalServerError500": "The server failed; its log has the details",
    "DefaultError": "An error, as an OpenAI-shaped error object",
}
ERROR_SCHEMA = "OpenAIErrorResponse"
REFERENCE = re.compile(r'"\$ref": "#/components/(schemas|responses)/([^"/]+)"')


def dangling(document: dict[str, Any]) -> set[tuple[str, str]]:
    """(kind, name) of each ``#/components/...`` reference the document does not define."""
    components = document.get("components") or {}
    found = set(REFERENCE.findall(json.dumps(document)))
    return {(kind, name) for kind, name in found if name not in (components.get(kind) or {})}


def _schema_of(name: str) -> dict[str, Any] | None:
    import llama_stack_api
    from llama_stack_api.common.errors import OpenAIErrorResponse
    from pydantic import TypeAdapter

    kind = OpenAIErrorResponse if name == ERROR_SCHEMA else getattr(llama_stack_api, name, None)
    if kind is None:
        return None
    return TypeAdapter(kind).json_schema(ref_template="#/components/schemas/{model}", mode="serialization")


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Define the missing components in place; references nothing here knows stay as they are."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    responses = components.setdefault("responses", {})
    unknown: set[tuple[str, str]] = set()
    while missing := dangling(document) - unknown:
        for kind, name in sorted(missing):
            if kind == "responses" and name in ERROR_RESPONSES:
                body = {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
                responses[name] = {"description": ERROR_RESPONSES[name], "content": {"application/json": body}}
            elif kind == "schemas" and (schema := _schema_of(name)) is not None:
                for sub, definition in schema.pop("$defs", {}).items():
                    schemas.setdefault(sub, definition)
                schemas[name] = schema
            else:
                unknown.add((kind, name))
    return document


def install(app: Any) -> None:
    """Complete the document FastAPI builds (and caches) for ``app``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        document: dict[str, Any] = build()
        return complete(document) if first else document

    app.openapi = openapi
