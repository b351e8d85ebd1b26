"""Tools in chat requests to llama.cpp: rewrite the request, then read the reply.

With ``tool_choice`` "required" or a named function, the request carries a JSON
schema of one call, which llama.cpp enforces while decoding. With "auto", tools go
to the chat template when it knows them (else into the system prompt), and calls
written as text are read back. A reply that may be a tool call is generated whole,
then sent as a short stream (``completion_as_chunks``).
"""

import time
from typing import Any

from herd.providers import toolcalls

Chunk = dict[str, Any]


class ToolPlan:
    """How one chat request uses tools: rewrites the request, then reads the reply."""

    def __init__(self, body: dict[str, Any], native_tools: bool) -> None:
        self.tools = body.pop("tools", None) or []
        self.choice = body.pop("tool_choice", None)
        messages = body["messages"]
        self.forced = bool(self.tools) and toolcalls.is_forced(self.choice)
        use_tools = bool(self.tools) and self.choice != "none"
        if not native_tools:
            messages = toolcalls.flatten_tool_turns(messages)
        if self.forced:
            body["json_schema"] = toolcalls.forced_schema(self.tools, self.choice)
            body.pop("response_format", None)
        if use_tools and (self.forced or not native_tools):
            messages = _with_system(messages, toolcalls.instructions(self.tools, self.choice))
        elif use_tools:
            body["tools"] = self.tools
        self.use_tools = use_tools
        body["messages"] = messages
        self.body = body

    def finish(self, result: dict[str, Any]) -> dict[str, Any]:
        result.pop("timings", None)
        if not self.use_tools:
            return result
        choice = result["choices"][0]
        message = choice["message"]
        if message.get("tool_calls"):
            choice["finish_reason"] = "tool_calls"
            return result
        text = message.get("content") or ""
        if self.forced:
            try:
                calls = [toolcalls.call_from_json(text)]
                rest = None
            except (ValueError, KeyError):  # cut off by max_tokens: return the text as it is
                return result
        else:
            rest, calls = toolcalls.extract_calls(text, self.tools)
        if calls:
            message["content"] = rest
            message["tool_calls"] = calls
            choice["finish_reason"] = "tool_calls"
        return result


def _with_system(messages: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    if messages and messages[0].get("role") in ("system", "developer"):
        first = dict(messages[0])
        content = first.get("content")
        if isinstance(content, list):
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        first["content"] = f"{content}\n\n{text}"
        return [first, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]


def completion_as_chunks(result: dict[str, Any], include_usage: bool) -> list[Chunk]:
    base = {
        "id": result.get("id") or f"chatcmpl-{int(time.time() * 1000)}",
        "created": result.get("created") or int(time.time()),
        "model": result.get("model", ""),
        "object": "chat.completion.chunk",
    }
    choice = result["choices"][0]
    message = choice["message"]
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": None}]
    if message.get("content"):
        deltas.append({"content": message["content"]})
    for index, call in enumerate(message.get("tool_calls") or []):
        deltas.append({"tool_calls": [{"index": index, **call}]})
    chunks = [{**base, "choices": [{"index": 0, "delta": d, "finish_reason": None}]} for d in deltas]
    chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": choice.get("finish_reason")}]})
    if include_usage and result.get("usage"):
        chunks.append({**base, "choices": [], "usage": result["usage"]})
    return chunks
