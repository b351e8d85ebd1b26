"""Counting the tokens each key uses, from the replies it gets.

One count per HTTP request, from the usage the reply reports: ``usage.total_tokens`` of a
JSON reply, of a chat stream's usage chunk, or of a Responses stream's
``response.completed`` event. A chat or completion stream reports usage only when asked
(``stream_options.include_usage``), so Herd asks for it and drops that chunk again when
the client had not.
"""

import json
from typing import Any

from herd.distribution.access import TokenUsage
from herd.distribution.asgi import RewritingSend, Send

STREAM_USAGE_PATHS = ("/v1/chat/completions", "/v1/completions")


def ask_for_usage(path: str, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The body with stream usage requested, and whether the client had asked for it itself."""
    if path not in STREAM_USAGE_PATHS or not body.get("stream"):
        return body, True
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        return body, True
    if options is not None and not isinstance(options, dict):
        return body, True  # malformed: llama-stack's validation answers it
    return {**body, "stream_options": {**(options or {}), "include_usage": True}}, False


def _total(usage: Any) -> int:
    if not isinstance(usage, dict):
        return 0
    total = usage.get("total_tokens")
    if isinstance(total, int):
        return total
    parts = [usage.get(k) for k in ("prompt_tokens", "completion_tokens", "input_tokens", "output_tokens")]
    return sum(p for p in parts if isinstance(p, int))


class MeteredSend(RewritingSend):
    """Adds the tokens a reply reports to its owner's count for the day."""

    def __init__(self, send: Send, usage: TokenUsage, owner: str, keep_usage_chunk: bool) -> None:
        super().__init__(send)
        self.usage = usage
        self.owner = owner
        self.keep_usage_chunk = keep_usage_chunk

    async def rewrite_reply(self, body: bytes) -> bytes:
        try:
            reply = json.loads(body)
        except ValueError:
            return body
        if isinstance(reply, dict):
            self.usage.add(self.owner, _total(reply.get("usage")))
        return body

    async def rewrite_event(self, raw: bytes) -> list[bytes]:
        if b'"usage"' not in raw:
            return [raw]
        data = [line[6:] for line in raw.split(b"\n") if line.startswith(b"data: ")]
        try:
            event = json.loads(data[0]) if len(data) == 1 else None
        except ValueError:
            return [raw]
        if not isinstance(event, dict):
            return [raw]
        if event.get("type") == "response.completed" and isinstance(event.get("response"), dict):
            self.usage.add(self.owner, _total(event["response"].get("usage")))
        elif event.get("object") in ("chat.completion.chunk", "text_completion") and event.get("usage"):
            self.usage.add(self.owner, _total(event["usage"]))
            if not self.keep_usage_chunk and not event.get("choices"):
                return []
        return [raw]
