"""A Responses stream as the steps of an agent's run, for the CLI and the chat UI.

Events come from the official SDKs (``llama-stack-client`` or ``openai``) or as
plain dicts; only their ``type`` and a few fields are read, so both work.
"""

import json
from dataclasses import dataclass
from typing import Any, Literal

StepKind = Literal["route", "vision", "tool_call", "tool_result", "text", "refusal", "done", "failed"]


@dataclass(frozen=True)
class Step:
    kind: StepKind
    text: str
    data: Any = None


def get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of an SDK object or of the same thing as a plain dict."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _tool_call(item: Any) -> str:
    kind = get(item, "type")
    if kind == "file_search_call":
        return f"file_search({', '.join(get(item, 'queries') or [])})"
    name = get(item, "name") or kind
    args = get(item, "arguments") or ""
    return f"{name}({args})"


def _tool_result(item: Any) -> str | None:
    kind = get(item, "type")
    if kind == "file_search_call":
        results = get(item, "results") or []
        names = sorted({get(r, "filename") or get(r, "file_id") or "?" for r in results})
        return f"file_search found {len(results)} passages in {', '.join(names) or 'no files'}"
    if kind == "mcp_call":
        error = get(item, "error")
        return f"{get(item, 'name')} -> {error or get(item, 'output')}"
    return None


def steps(event: Any) -> list[Step]:
    kind = get(event, "type")
    if kind == "response.created":
        metadata = get(get(event, "response"), "metadata") or {}
        out = [Step("route", metadata["herd_route"])] if metadata.get("herd_route") else []
        if metadata.get("herd_vision"):
            out.append(Step("vision", metadata["herd_vision"]))
        return out
    if kind == "response.reasoning_text.delta":
        return [Step("vision", get(event, "delta") or "")]
    if kind == "response.output_text.delta":
        return [Step("text", get(event, "delta") or "")]
    if kind == "response.refusal.delta":
        return [Step("refusal", get(event, "delta") or "")]
    item = get(event, "item")
    if kind == "response.output_item.done" and get(item, "type") in ("function_call", "mcp_call", "file_search_call"):
        out = [Step("tool_call", _tool_call(item), item)]
        result = _tool_result(item)
        return out + ([Step("tool_result", result, item)] if result else [])
    if kind == "response.completed":
        return [Step("done", _usage(get(event, "response")), get(event, "response"))]
    if kind in ("response.failed", "response.incomplete"):
        response = get(event, "response")
        error = get(response, "error") or get(response, "incomplete_details") or "no reason given"
        reason = get(error, "message") or get(error, "reason") or error
        return [Step("failed", str(reason), response)]
    return []


def _usage(response: Any) -> str:
    usage = get(response, "usage")
    if usage is None:
        return "done"
    return f"done: {get(usage, 'input_tokens')} tokens in, {get(usage, 'output_tokens')} out"


def output_text(response: Any) -> str:
    """The final message text of a Responses object."""
    texts = []
    for item in get(response, "output") or []:
        if get(item, "type") == "message":
            texts += [get(p, "text") or "" for p in get(item, "content") or [] if get(p, "type") == "output_text"]
    return "".join(texts)


def structured(response: Any) -> dict[str, Any]:
    text = output_text(response).strip()
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"the agent's answer is not the JSON its schema asks for: {text[:200]!r}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"the agent's answer is JSON but not an object: {text[:200]!r}")
    return value
