"""The outermost layer of Herd's server: draining on shutdown, API keys, and who the caller is.

``Guard`` answers before anything else runs:

- while the server drains (``lifecycle.py``), every request gets 503 with ``Retry-After``,
  ``/v1/health`` included, so a load balancer sends the next one elsewhere;
- with keys configured (``keys.py``), every route but ``/v1/health`` needs
  ``Authorization: Bearer KEY``; the key's name becomes llama-stack's principal (the
  owner its stores filter by) and Herd's own routes run in the same user context;
- per key: requests a minute and the day's token quota (``access.py``).

The request then goes on with a ``Caller`` in its scope, which Herd's middleware asks
for the checks that need the body: open streams, token metering, and a token for the
server's calls to its own MCP routes.
"""

from typing import Any

from herd.distribution.access import Access
from herd.distribution.asgi import Send, error_payload, send_json
from herd.distribution.lifecycle import Drain
from herd.distribution.metering import MeteredSend, ask_for_usage
from herd.errors import HerdError, ServerBusy, Unauthorized

CALLER = "herd.caller"
DRAINING_RETRY_AFTER = 5
PUBLIC_PATHS = ("/v1/health",)
METERED_PATHS = ("/v1/responses", "/v1/chat/completions", "/v1/completions", "/v1/embeddings")


async def send_error(send: Send, exc: HerdError) -> None:
    headers: list[tuple[bytes, bytes]] = []
    if exc.retry_after:
        headers.append((b"retry-after", str(exc.retry_after).encode()))
    if isinstance(exc, Unauthorized):
        headers.append((b"www-authenticate", b'Bearer realm="herd"'))
    await send_json(send, exc.status_code, error_payload(exc.status_code, str(exc)), headers)


class Caller:
    """The authenticated owner of one request, and the body-level checks for it."""

    def __init__(self, access: Access, owner: str) -> None:
        self.access = access
        self.owner = owner

    def admit(self, path: str, body: dict[str, Any], send: Send, own_mcp: str) -> tuple[dict[str, Any], Send]:
        """The body as sent on (usage asked for, own MCP tools authorised) and a metering ``send``."""
        tools = body.get("tools")
        if isinstance(tools, list):
            token = self.access.internal_token(self.owner)
            body = {**body, "tools": [_authorised(t, own_mcp, token) for t in tools]}
        if path not in METERED_PATHS:
            return body, send
        body, asked = ask_for_usage(path, body)
        return body, MeteredSend(send, self.access.usage, self.owner, keep_usage_chunk=asked)


def _authorised(tool: Any, own_mcp: str, token: str) -> Any:
    if isinstance(tool, dict) and tool.get("type") == "mcp" and str(tool.get("server_url", "")).startswith(own_mcp):
        return {**tool, "authorization": token}
    return tool


class Guard:
    def __init__(self, app: Any, drain: Drain, access: Access | None) -> None:
        self.app = app
        self.drain = drain
        self.access = access

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.drain.draining:
            draining = ServerBusy("the server is shutting down; retry on another replica or in a few seconds")
            draining.retry_after = DRAINING_RETRY_AFTER
            return await send_error(send, draining)
        if scope["path"] in PUBLIC_PATHS or self.access is None or not self.access.enabled:
            with self.drain.track():
                return await self.app(scope, receive, send)
        headers = dict(scope.get("headers", []))
        try:
            owner = self.access.authenticate(headers.get(b"authorization", b"").decode(errors="replace") or None)
            if scope["method"] == "POST" and scope["path"] in METERED_PATHS:
                self.access.check_tokens(owner)
        except HerdError as exc:
            return await send_error(send, exc)
        from llama_stack.core.datatypes import User
        from llama_stack.core.request_headers import request_provider_data_context

        scope = {**scope, "principal": owner, CALLER: Caller(self.access, owner)}
        text_headers = {k.decode(errors="replace"): v.decode(errors="replace") for k, v in headers.items()}
        with self.drain.track(), request_provider_data_context(text_headers, User(principal=owner, attributes=None)):
            return await self.app(scope, receive, send)
