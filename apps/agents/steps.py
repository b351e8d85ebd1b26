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


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _tool_call(item: Any) -> str:
    kind = _get(item, "type")
    if kind == "file_search_call":
        return f"file_search({', '.join(_get(item, 'queries') or [])})"
    name = _get(item, "name") or kind
    args = _get(item, "arguments") or ""
    return f"{name}({args})"


def _tool_result(item: Any) -> str | None:
    kind = _get(item, "type")
    if kind == "file_search_call":
        results = _get(item, "results") or []
        names = sorted({_get(r, "filename") or _get(r, "file_id") or "?" for r in results})
        return f"file_search found {len(results)} passages in {', '.join(names) or 'no files'}"
    if kind == "mcp_call":
        error = _get(item, "error")
        return f"{_get(item, 'name')} -> {error or _get(item, 'output')}"
    return None


def steps(event: Any) -> list[Step]:
    kind = _get(event, "type")
    if kind == "response.created":
        metadata = _get(_get(event, "response"), "metadata") or {}
        out = [Step("route", metadata["herd_route"])] if metadata.get("herd_route") else []
        if metadata.get("herd_vision"):
            out.append(Step("vision", metadata["herd_vision"]))
        return out
    if kind == "response.reasoning_text.delta":
        return [Step("vision", _get(event, "delta") or "")]
    if kind == "response.output_text.delta":
        return [Step("text", _get(event, "delta") or "")]
    if kind == "response.refusal.delta":
        return [Step("refusal", _get(event, "delta") or "")]
    item = _get(event, "item")
    if kind == "response.output_item.done" and _get(item, "type") in ("function_call", "mcp_call", "file_search_call"):
        out = [Step("tool_call", _tool_call(item), item)]
        result = _tool_result(item)
        return out + ([Step("tool_result", result, item)] if result else [])
    if kind == "response.completed":
        return [Step("done", _usage(_get(event, "response")), _get(event, "response"))]
    if kind in ("response.failed", "response.incomplete"):
        response = _get(event, "response")
        error = _get(response, "error") or _get(response, "incomplete_details") or "no reason given"
        reason = _get(error, "message") or _get(error, "reason") or error
        return [Step("failed", str(reason), response)]
    return []


def _usage(response: Any) -> str:
    usage = _get(response, "usage")
    if usage is None:
        return "done"
    return f"done: {_get(usage, 'input_tokens')} tokens in, {_get(usage, 'output_tokens')} out"


def output_text(response: Any) -> str:
    """The final message text of a Responses object."""
    texts = []
    for item in _get(response, "output") or []:
        if _get(item, "type") == "message":
            texts += [_get(p, "text") or "" for p in _get(item, "content") or [] if _get(p, "type") == "output_text"]
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
