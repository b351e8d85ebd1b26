"""Herd's ASGI middleware in front of llama-stack's app.

- a request-size limit that answers 413 from the headers, before the body is read;
- ``GET /v1/herd/status``, ``/v1/herd/agents``, ``/v1/herd/shields`` (and ``.../check``),
  ``/v1/herd/tools`` (and ``POST .../invoke``), ``/v1/herd/conversations`` (the list the
  Conversations API lacks, ``conversation_routes.py``), and the tool groups as MCP servers at
  ``/v1/herd/mcp/<group>`` (``mcp_routes.py``);
- the gateway (agents by name, the privacy policy) on inference and Responses requests;
- shields on chat and Responses requests (``screening.py``), file citations on Responses
  that used ``file_search`` (``citations.py``), the ``code_interpreter`` tool on Responses
  (``code_interpreter.py``).
"""

import json
import time
from typing import Any

from herd.distribution import approvals, citations, code_interpreter, own_tools, request_limits, shield_refusals
from herd.distribution.asgi import error_payload, json_messages, read_body, replay, send_json, with_length
from herd.distribution.guard import CALLER, Caller, send_error
from herd.distribution.mcp_routes import PREFIX as MCP_PREFIX
from herd.distribution.request_limits import RequestLimits
from herd.distribution.screen_input import screen_request
from herd.distribution.screened_send import Api, ScreenedSend
from herd.distribution.screening import CURRENT, Screening
from herd.errors import HerdError, InvalidRequest

# Requests the gateway (agents by name, privacy policy) sees before llama-stack does.
GATEWAY_PATHS = ("/v1/responses", "/v1/chat/completions", "/v1/completions", "/v1/embeddings")
SCREENED_PATHS = ("/v1/responses", "/v1/chat/completions")


class HerdMiddleware:
    """Refuses oversized bodies early, serves /v1/herd/status and /v1/herd/agents, runs the gateway."""

    def __init__(
        self,
        app: Any,
        max_bytes: int,
        started: float,
        gateway: Any = None,
        safety: Any = None,
        mcp: Any = None,
        limits: RequestLimits | None = None,
    ) -> None:
        self.app = app
        self.limits = limits or RequestLimits()
        self.gateway = gateway
        self.safety = safety
        self.mcp = mcp
        self.max_bytes = max_bytes
        self.started = started
        self.ready_seconds: float | None = None

    def _too_large(self, size: int | None) -> list[dict[str, Any]]:
        what = f"{size} bytes" if size is not None else "larger than allowed"
        message = (
            f"request body is {what}; the limit is {self.max_bytes} bytes. Send less (for images, resize them "
            "or upload them through /v1/files), or start the server with a larger --max-request-bytes"
        )
        return json_messages(413, {"error": {"message": message, "type": "request_too_large", "code": 413}})

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return await self.app(scope, self._lifespan_receive(receive), send)
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == "/v1/herd/status":
            return await send_json(send, 200, self.status())
        if scope["path"] == "/v1/herd/agents" and self.gateway is not None:
            return await send_json(send, 200, {"object": "list", "data": self.gateway.listing()})
        if scope["path"].startswith("/v1/herd/shields") and self.gateway is not None:
            return await self._shield_route(scope, receive, send)
        if scope["path"].startswith("/v1/herd/tools") and self.gateway is not None:
            return await self._tool_route(scope, receive, send)
        if scope["path"] == "/v1/herd/conversations" and self.gateway is not None:
            return await self._conversation_route(scope, send)
        if scope["path"].startswith(MCP_PREFIX) and self.mcp is not None:
            return await self.mcp.handle(scope, receive, send)
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            for message in self._too_large(int(length)):
                await send(message)
            return None
        receive = self._capped_receive(receive, send)
        if self.gateway is not None and scope["method"] == "POST" and scope["path"] in GATEWAY_PATHS:
            return await self._through_gateway(scope, receive, send)
        if scope["method"] == "GET" and scope["path"].startswith("/v1/responses/"):
            send = code_interpreter.InterpreterSend(send)  # a stored response shows code_interpreter as it was sent
        return await self.app(scope, receive, send)

    async def _through_gateway(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raw = await read_body(receive)
        if raw is None:
            return None
        try:
            body = json.loads(raw)
        except ValueError:
            body = None  # llama-stack's validation answers malformed JSON
        screening = None
        caller: Caller | None = scope.get(CALLER)
        if isinstance(body, dict):
            try:
                request_limits.check(body, self.limits)
                body = await self.gateway.rewrite(scope["path"], body)
                screening = await self._screen(scope["path"], body, send)
            except HerdError as exc:
                return await send_error(send, exc)
            if screening is False:
                return None  # refused: the refusal is sent
            if scope["path"] == "/v1/responses" and code_interpreter.requested(body):
                try:
                    body = code_interpreter.to_mcp(body, _own_url(scope))
                except HerdError as exc:
                    return await send_error(send, exc)
                send = code_interpreter.InterpreterSend(send)
            if scope["path"] == "/v1/responses" and approvals.denials(body):
                body = await approvals.tell_model(body, self.gateway.impls)
            if scope["path"] == "/v1/responses" and own_tools.uses_own(body):
                body = await own_tools.resolve(body, _own_url(scope), self.gateway.impls)
            if caller is not None:
                body, send = caller.admit(scope["path"], body, send, _own_url(scope) + MCP_PREFIX)
            raw = json.dumps(body).encode()
            if scope["path"] == "/v1/responses" and citations.uses_file_search(body):
                send = citations.CitingSend(send)
        release = None
        if caller is not None and isinstance(body, dict) and body.get("stream"):
            try:
                release = caller.access.open_stream(caller.owner)
            except HerdError as exc:
                return await send_error(send, exc)
        try:
            return await self._send_on(scope, receive, send, raw, screening)
        finally:
            if release is not None:
                release()

    async def _send_on(self, scope: dict[str, Any], receive: Any, send: Any, raw: bytes, screening: Any) -> None:
        if not screening:
            return await self.app(with_length(scope, len(raw)), replay(raw, receive), send)
        api: Api = "responses" if scope["path"] == "/v1/responses" else "chat"
        token = CURRENT.set(screening)
        try:
            send = ScreenedSend(send, screening, screening.context, api)
            return await self.app(with_length(scope, len(raw)), replay(raw, receive), send)
        finally:
            CURRENT.reset(token)

    async def _screen(self, path: str, body: dict[str, Any], send: Any) -> Any:
        """The request's ``Screening``; False when its input was refused (the refusal is sent); None when no shields."""
        if self.safety is None or path not in SCREENED_PATHS:
            return None
        policy = self.gateway.shield_policy(body)
        if not policy.active:
            return None
        if body.get("background") and (policy.output or policy.tool_results):
            raise InvalidRequest(
                "background responses run after this request ends, where Herd's shields cannot check their tool "
                "results and output; send the request without `background`, or stream it"
            )
        screening = Screening(self.safety, policy)
        verdict = await screen_request(screening, path, body)
        if verdict is None:
            return screening
        await shield_refusals.send_refusal(send, path, body, verdict, screening.report())
        return False

    async def _shield_route(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from herd.distribution import shield_routes

        if self.safety is None:
            return await send_json(send, 404, error_payload(404, "this distribution has no shields (no `safety` API)"))
        try:
            if scope["path"] == "/v1/herd/shields" and scope["method"] == "GET":
                return await send_json(send, 200, await shield_routes.listing(self.safety, self.gateway.shields))
            if scope["path"] == "/v1/herd/shields/check" and scope["method"] == "POST":
                return await send_json(send, 200, await shield_routes.check(self.safety, await _json_body(receive)))
        except HerdError as exc:
            return await send_error(send, exc)
        message = "use GET /v1/herd/shields or POST /v1/herd/shields/check"
        return await send_json(send, 404, error_payload(404, message))

    async def _tool_route(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from herd.distribution import tool_routes

        impls = self.gateway.impls
        try:
            if scope["path"] == "/v1/herd/tools" and scope["method"] == "GET":
                types = {pid: ptype for pid, (ptype, _config) in self.gateway.providers.items()}
                return await send_json(send, 200, await tool_routes.listing(impls, types))
            if scope["path"] == "/v1/herd/tools/invoke" and scope["method"] == "POST":
                return await send_json(send, 200, await tool_routes.invoke(impls, await _json_body(receive)))
        except HerdError as exc:
            return await send_error(send, exc)
        return await send_json(send, 404, error_payload(404, "use GET /v1/herd/tools or POST /v1/herd/tools/invoke"))

    async def _conversation_route(self, scope: dict[str, Any], send: Any) -> None:
        from llama_stack_api import Api

        from herd.distribution import conversation_routes

        conversations = self.gateway.impls.get(Api.conversations)
        if conversations is None:
            message = "this distribution has no conversations (no `conversations` API in its run config)"
            return await send_json(send, 404, error_payload(404, message))
        if scope["method"] != "GET":
            message = f"{scope['method']} is not allowed here; use GET /v1/herd/conversations?limit=N to list them"
            return await send_json(send, 405, error_payload(405, message))
        try:
            return await send_json(
                send, 200, await conversation_routes.listing(conversations, scope.get("query_string", b""))
            )
        except HerdError as exc:
            return await send_error(send, exc)

    def _lifespan_receive(self, receive: Any) -> Any:
        async def wrapped() -> Any:
            message = await receive()
            if message.get("type") == "lifespan.startup" and self.ready_seconds is None:
                self.ready_seconds = time.perf_counter() - self.started
            if message.get("type") == "lifespan.shutdown" and self.mcp is not None:
                await self.mcp.close()
            return message

        return wrapped

    def _capped_receive(self, receive: Any, send: Any) -> Any:
        seen = 0

        async def wrapped() -> Any:
            nonlocal seen
            message = await receive()
            if message.get("type") == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # A chunked body with no length: stop reading and answer now.
                    for reply in self._too_large(None):
                        await send(reply)
                    return {"type": "http.disconnect"}
            return message

        return wrapped

    def status(self) -> dict[str, Any]:
        loaded: dict[str, Any] = {}
        for impl in inference_providers(self.app):
            pool = getattr(impl, "pool", None)
            if pool is not None:
                loaded.update(pool.loaded())
        return {
            "status": "ok",
            "uptime_seconds": round(time.perf_counter() - self.started, 3),
            "startup_seconds": self.ready_seconds,
            "models_loaded": loaded,
        }


async def _json_body(receive: Any) -> Any:
    """The request's JSON body; None when it is not JSON (the route says what to send)."""
    try:
        return json.loads(await read_body(receive) or b"")
    except ValueError:
        return None


def _own_url(scope: dict[str, Any]) -> str:
    """This server's own address, as the socket the request came in on."""
    host, port = scope.get("server") or ("127.0.0.1", 8321)
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def inference_providers(app: Any) -> list[Any]:
    from llama_stack_api import Api

    router = app.stack.impls.get(Api.inference)
    table = getattr(router, "routing_table", None)
    return list(getattr(table, "impls_by_provider_id", {}).values())
