"""How request errors reach clients: OpenAI-shaped JSON whose message says what to fix.

Herd registers these on llama-stack's app. Client errors are logged as one line, not
a traceback; llama-stack's own handler keeps serving everything else.
"""

import logging
import re
import sqlite3
from typing import Any

from herd.distribution.disk_full import is_disk_full, storage_full
from herd.distribution.home import herd_home
from herd.errors import HerdError

log = logging.getLogger("herd.http")
MAX_LISTED = 5


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
    if exc.status_code == 500:
        log.error("%s %s -> %d", request.method, request.url.path, exc.status_code, exc_info=exc)
    elif exc.status_code > 500:
        # Busy, unreachable, full: states the message explains. A traceback per refusal would
        # flood the log and, rendered by rich, cost the loaded server ~10 ms of CPU each.
        log.warning("%s %s -> %d %s", request.method, request.url.path, exc.status_code, exc)
    else:
        log.info("%s %s -> %d %s", request.method, request.url.path, exc.status_code, exc)
    kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return _response(exc.status_code, str(exc), kind, headers)


# llama-stack's files and vector stores raise a plain ValueError for an id they do not hold
# (or that belongs to another key's owner), which its handler answers 400.
_NOT_FOUND = re.compile(r"^\w+ '[^']+' not found\b")


async def _value_error(request: Any, exc: ValueError) -> Any:
    from llama_stack.core.server.server import global_exception_handler

    if _NOT_FOUND.match(str(exc)):
        log.info("%s %s -> 404 %s", request.method, request.url.path, exc)
        return _response(404, str(exc), "invalid_request_error")
    return await global_exception_handler(request, exc)


async def _not_implemented(request: Any, exc: NotImplementedError) -> Any:
    # llama-stack raises it for options it accepts in its schema but does not serve (e.g.
    # `include` on a response's input items) and answers 501: the client has to change.
    message = f"not supported by this server: {str(exc) or type(exc).__name__}. Leave that option out of the request"
    log.info("%s %s -> 400 %s", request.method, request.url.path, message)
    return _response(400, message, "invalid_request_error")


async def _integrity_error(request: Any, exc: Any) -> Any:
    from llama_stack.core.server.server import global_exception_handler

    # Ids a client chooses (a conversation item's `id`) are primary keys across the whole
    # store: one already used, in any conversation, fails the insert.
    detail = str(getattr(exc, "orig", exc))
    if "UNIQUE" not in detail.upper():
        return await global_exception_handler(request, exc)
    message = f"an id in the request is already in use ({detail}): give each item a new id, or leave `id` out"
    log.info("%s %s -> 409 %s", request.method, request.url.path, message)
    return _response(409, message, "invalid_request_error")


async def _maybe_disk_full(request: Any, exc: Exception) -> Any:
    """A full disk as a 507 naming Herd's state folder; any other such error as llama-stack answers it."""
    from llama_stack.core.server.server import global_exception_handler

    if is_disk_full(exc):
        return await _herd_error(request, storage_full(exc, str(herd_home())))
    return await global_exception_handler(request, exc)


# FastAPI's functions that validate a request's body and parameters against the route's models.
_REQUEST_VALIDATION = frozenset({"request_body_to_args", "request_params_to_args"})


def _raised_validating_request(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_name in _REQUEST_VALIDATION:
            return True
        frame = frame.tb_next
    return False


async def _type_error(request: Any, exc: TypeError) -> Any:
    from llama_stack.core.server.server import global_exception_handler

    # Some of llama-stack's `mode="before"` validators iterate a field before pydantic checks
    # its type (`items: 0` on a conversation): the TypeError is the client's wrong type.
    if not _raised_validating_request(exc):
        return await global_exception_handler(request, exc)
    message = f"invalid request: a field has the wrong type ({exc}). The request schemas are at /docs"
    log.info("%s %s -> 400 %s", request.method, request.url.path, message)
    return _response(400, message, "invalid_request_error")


def install(app: Any) -> None:
    from fastapi.exceptions import RequestValidationError
    from llama_stack.core.server.server import global_exception_handler
    from llama_stack_api.common.errors import LlamaStackError
    from sqlalchemy.exc import IntegrityError

    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HerdError, _herd_error)
    # llama-stack answers errors it has no specific handler for through Starlette's
    # catch-all `Exception` handler, which re-raises after answering: uvicorn then
    # drops the connection and a keep-alive client's next request on it fails.
    # Registering them by class answers them and keeps the connection usable.
    app.add_exception_handler(LlamaStackError, global_exception_handler)
    app.add_exception_handler(ValueError, _value_error)
    app.add_exception_handler(NotImplementedError, _not_implemented)
    # Writes the stores make through llama-stack (conversations, responses, the kv store).
    from sqlalchemy.exc import OperationalError

    for error in (OSError, sqlite3.OperationalError, OperationalError):
        app.add_exception_handler(error, _maybe_disk_full)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(TypeError, _type_error)
