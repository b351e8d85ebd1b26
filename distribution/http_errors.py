"""How request errors reach clients: OpenAI-shaped JSON whose message says what to fix.

Herd registers these on llama-stack's app. Client errors are logged as one line, not
a traceback; llama-stack's own handler keeps serving everything else.
"""

import logging
from typing import Any

from herd.errors import HerdError, ServerBusy

log = logging.getLogger("herd.http")
MAX_LISTED = 5
RETRY_AFTER_SECONDS = 1


def describe_validation(errors: list[dict[str, Any]]) -> str:
    """One sentence from pydantic's error list: which field, what is wrong."""
    parts = []
    for error in errors[:MAX_LISTED]:
        where = [str(p) for p in error.get("loc", []) if p != "body"]
        if error.get("type") == "json_invalid":
            parts.append(f"the body is not valid JSON (error at character {where[0] if where else '?'})")
        else:
            parts.append(f"{'.'.join(where) or 'body'}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - MAX_LISTED} more)" if len(errors) > MAX_LISTED else ""
    return f"invalid request: {'; '.join(parts)}{more}. The request schemas are at /docs"


def _response(status: int, message: str, kind: str, headers: dict[str, str] | None = None) -> Any:
    from fastapi.responses import JSONResponse
    from llama_stack_api.common.errors import OpenAIErrorResponse

    body = OpenAIErrorResponse.from_message(message, type=kind, code=str(status)).to_dict()
    return JSONResponse(status_code=status, content=body, headers=headers)


async def _validation_error(request: Any, exc: Any) -> Any:
    message = describe_validation(exc.errors())
    log.info("%s %s -> 400 %s", request.method, request.url.path, message)
    return _response(400, message, "invalid_request_error")


async def _herd_error(request: Any, exc: HerdError) -> Any:
    if exc.status_code >= 500:
        log.error("%s %s -> %d", request.method, request.url.path, exc.status_code, exc_info=exc)
    else:
        log.info("%s %s -> %d %s", request.method, request.url.path, exc.status_code, exc)
    kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if isinstance(exc, ServerBusy) else None
    return _response(exc.status_code, str(exc), kind, headers)


def install(app: Any) -> None:
    from fastapi.exceptions import RequestValidationError
    from llama_stack.core.server.server import global_exception_handler
    from llama_stack_api.common.errors import LlamaStackError

    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HerdError, _herd_error)
    # llama-stack answers errors it has no specific handler for through Starlette's
    # catch-all `Exception` handler, which re-raises after answering: uvicorn then
    # drops the connection and a keep-alive client's next request on it fails.
    # Registering them by class answers them and keeps the connection usable.
    for error in (LlamaStackError, ValueError):
        app.add_exception_handler(error, global_exception_handler)
