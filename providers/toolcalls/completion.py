"""A whole chat completion (OpenAI-shaped dict) with its calls read, checked and repaired."""

from typing import Any

from .forcing import ToolDict
from .history import History
from .normalise import normalise
from .repair import Retry, add_usage, settle


async def normalise_completion(
    result: dict[str, Any],
    tools: list[ToolDict],
    retry: Retry | None,
    json_reply: bool = False,
    history: History | None = None,
) -> dict[str, Any]:
    """``result`` rewritten in place: prose as content, calls as ``tool_calls``, finish_reason to match."""
    choice = result["choices"][0]
    message = choice["message"]
    native = message.pop("tool_calls", None) or ()
    found = normalise(message.get("content") or "", tools, json_reply, native=native)
    outcome = await settle(found, tools, retry, choice.get("finish_reason"), history)
    message["content"] = outcome.content
    if outcome.calls:
        message["tool_calls"] = outcome.calls
    choice["finish_reason"] = outcome.finish_reason
    result["usage"] = add_usage(result.get("usage"), outcome.usage)
    return result
