"""Streamed replies with tools: the engine's OpenAI-shaped chunks in, normalised chunks out.

Prose streams as it is generated; calls, read from the text or merged from the
engine's own ``tool_calls`` deltas, come as ``tool_calls`` deltas at the end, after
the one repair retry if a call was bad. Chunks are plain dicts, so any provider that
speaks OpenAI's chat format can use this.
"""

from collections.abc import AsyncIterator
from typing import Any

from .forcing import ToolDict
from .history import History
from .repair import Retry, add_usage, settle
from .stream import CallReader

Chunk = dict[str, Any]
_BASE_KEYS = ("id", "created", "model", "object", "system_fingerprint")


async def normalise_stream(
    chunks: AsyncIterator[Chunk],
    tools: list[ToolDict],
    reader: CallReader,
    retry: Retry | None,
    include_usage: bool,
    history: History | None = None,
) -> AsyncIterator[Chunk]:
    state = _Stream()
    async for chunk in chunks:
        for out in state.take(chunk, reader):
            yield out
    rest = reader.finish(list(state.native.values()))
    assert reader.result is not None
    outcome = await settle(reader.result, tools, retry, state.finish, history)
    text = rest
    if outcome.answer:
        text = outcome.content or ""
    elif outcome.gave_up:
        text = reader.unsent() if reader.text.strip() else outcome.content or ""
    if text:
        yield state.chunk({"content": text})
    for index, call in enumerate(outcome.calls):
        yield state.chunk({"tool_calls": [{"index": index, **call}]})
    yield state.chunk({}, outcome.finish_reason)
    usage = add_usage(state.usage, outcome.usage)
    if include_usage and usage:
        yield {**state.base, "choices": [], "usage": usage}


class _Stream:
    def __init__(self) -> None:
        self.base: Chunk = {"object": "chat.completion.chunk"}
        self.native: dict[int, dict[str, Any]] = {}
        self.finish: str | None = None
        self.usage: dict[str, Any] | None = None
        self.started = False

    def take(self, chunk: Chunk, reader: CallReader) -> list[Chunk]:
        """The chunks to pass on now for one chunk from the engine."""
        self.base.update({k: chunk[k] for k in _BASE_KEYS if chunk.get(k) is not None})
        self.usage = chunk.get("usage") or self.usage
        out: list[Chunk] = []
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if not self.started:
                self.started = True
                out.append(self.chunk({"role": "assistant", "content": None}))
            for part in delta.get("tool_calls") or []:
                self._merge(part)
            text = reader.feed(delta.get("content") or "")
            if text:
                out.append(self.chunk({"content": text}))
            self.finish = choice.get("finish_reason") or self.finish
        return out

    def chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> Chunk:
        return {**self.base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}

    def _merge(self, part: dict[str, Any]) -> None:
        call = self.native.setdefault(
            part.get("index") or 0, {"id": None, "type": "function", "function": {"name": None, "arguments": ""}}
        )
        call["id"] = part.get("id") or call["id"]
        fn = part.get("function") or {}
        call["function"]["name"] = fn.get("name") or call["function"]["name"]
        call["function"]["arguments"] += fn.get("arguments") or ""
