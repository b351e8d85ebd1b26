"""Chat and completion streams end with ``data: [DONE]``, as OpenAI's do.

llama-stack ends them by closing the stream: the OpenAI SDK copes, but a client that
waits for ``[DONE]`` (curl scripts, some JS clients) cannot tell a finished stream from
one cut short. The marker goes out only when the stream closes normally, after an
error event too; a server that dies mid-stream sends none, so a cut stays visible.
"""

from typing import Any

STREAMED_PATHS = ("/v1/chat/completions", "/v1/completions")
DONE = b"data: [DONE]"


class StreamEnd:
    """ASGI middleware: appends ``data: [DONE]`` to event-stream replies of ``STREAMED_PATHS``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in STREAMED_PATHS:
            return await self.app(scope, receive, send)
        streaming = False
        tail = b""

        async def marked(message: dict[str, Any]) -> None:
            nonlocal streaming, tail
            if message["type"] == "http.response.start":
                streaming = dict(message.get("headers", [])).get(b"content-type", b"").startswith(b"text/event-stream")
            elif message["type"] == "http.response.body" and streaming:
                body = message.get("body", b"")
                tail = (tail + body)[-len(DONE) - 4 :]
                if not message.get("more_body", False) and not tail.rstrip().endswith(DONE):
                    message = {**message, "body": body + DONE + b"\n\n"}
            await send(message)

        await self.app(scope, receive, marked)
