"""Responses and conversation items as the types of ``events.py``: tool calls, approvals and history.

Items come from ``llama-stack-client`` (pydantic objects, whose unknown fields stay
reachable as attributes) or as plain dicts; ``get`` reads both. Imports no SDK.
"""

from dataclasses import replace
from typing import Any

from herd.apps.agents.steps import get
from herd.apps.chat.events import ApprovalRequest, Decision, HistoryItem, ToolCall

TOOL_TYPES = ("mcp_call", "function_call", "file_search_call", "code_interpreter_call", "web_search_call")


def file_search_summary(results: list[Any]) -> str:
    """What a file_search found, as "3 passages from a.txt, b.md"."""
    if not results:
        return "no passages found"
    names = dict.fromkeys(get(r, "filename") or get(r, "file_id") or "?" for r in results)
    return f"{len(results)} passage{'s' if len(results) != 1 else ''} from {', '.join(names)}"


def _code_logs(item: Any) -> str:
    return "\n".join(get(o, "logs") or "" for o in get(item, "outputs") or [] if get(o, "type") == "logs")


def tool_call(item: Any, done: bool, duration_s: float | None = None) -> ToolCall:
    """A tool item (one of ``TOOL_TYPES``) as a ``ToolCall``, keyed by the item's id."""
    kind = get(item, "type")
    call_id = get(item, "id") or get(item, "call_id") or ""
    failed = get(item, "status") == "failed"
    if kind == "file_search_call":
        queries = ", ".join(get(item, "queries") or [])
        output = file_search_summary(get(item, "results") or []) if done else ""
        error = "the search failed" if failed else None
        return ToolCall(call_id, "file_search", queries, output, error, done, duration_s)
    if kind == "code_interpreter_call":
        logs = _code_logs(item)
        error = (logs or "the code failed") if failed else None
        return ToolCall(call_id, "code_interpreter", get(item, "code") or "", logs, error, done, duration_s)
    if kind == "web_search_call":
        query = get(get(item, "action"), "query") or ""
        return ToolCall(call_id, "web_search", query, "", "the search failed" if failed else None, done, duration_s)
    error = get(item, "error") or None
    name = get(item, "name") or str(kind)
    output = get(item, "output") or ""
    return ToolCall(
        call_id, name, get(item, "arguments") or "", str(output), error, done, duration_s, get(item, "server_label")
    )


def approval_request(item: Any) -> ApprovalRequest:
    """An ``mcp_approval_request`` item as an ``ApprovalRequest``."""
    return ApprovalRequest(
        str(get(item, "id") or ""),
        str(get(item, "name") or "?"),
        get(item, "arguments") or "",
        get(item, "server_label") or "",
    )


def request_item(request: ApprovalRequest) -> dict[str, Any]:
    """The ``mcp_approval_request`` item a ``decide`` sends back: llama-stack matches a decision
    to the call only through a request in the same input."""
    return {
        "type": "mcp_approval_request",
        "id": request.request_id,
        "name": request.name,
        "arguments": request.arguments,
        "server_label": request.server,
    }


def decision_item(decision: Decision) -> dict[str, Any]:
    item = {"type": "mcp_approval_response", "approval_request_id": decision.request.request_id}
    return {**item, "approve": decision.approve, **({"reason": decision.reason} if decision.reason else {})}


def _decided(out: list[HistoryItem], item: Any) -> None:
    """Puts an ``mcp_approval_response`` on the request it answers."""
    for index, shown in enumerate(out):
        if shown.approval is not None and shown.approval.request_id == get(item, "approval_request_id"):
            decision = Decision(shown.approval, bool(get(item, "approve")), get(item, "reason") or "")
            out[index] = replace(shown, decision=decision)


def _message(item: Any) -> HistoryItem | None:
    role = get(item, "role")
    content = get(item, "content") or []
    if role not in ("user", "assistant"):
        return None
    if isinstance(content, str):
        return HistoryItem(role, content)
    texts: list[str] = []
    images: list[str] = []
    refusal = False
    for part in content:
        kind = get(part, "type")
        if kind in ("input_text", "output_text"):
            texts.append(get(part, "text") or "")
        elif kind == "refusal":
            texts.append(get(part, "refusal") or "")
            refusal = True
        elif kind == "input_image":
            images.append(get(part, "filename") or f"image {len(images) + 1}")
    return HistoryItem(role, "".join(texts), tuple(images), refusal=refusal)


def history(items: list[Any]) -> list[HistoryItem]:
    """A conversation's items (oldest first) as the messages and tool calls the UI shows."""
    out: list[HistoryItem] = []
    function_calls: dict[str, int] = {}  # call_id -> index in out, to attach the client's output
    for item in items:
        kind = get(item, "type")
        if kind == "message":
            message = _message(item)
            out += [message] if message else []
        elif kind in TOOL_TYPES:
            if kind == "function_call":
                function_calls[get(item, "call_id") or ""] = len(out)
            out.append(HistoryItem("tool", "", tool=tool_call(item, done=True)))
        elif kind == "mcp_approval_request":  # kept once: a request sent again is upserted by its id
            out.append(HistoryItem("tool", "", approval=approval_request(item)))
        elif kind == "mcp_approval_response":
            _decided(out, item)
        elif kind == "function_call_output" and get(item, "call_id") in function_calls:
            index = function_calls[get(item, "call_id")]
            tool = out[index].tool
            if tool is not None:
                out[index] = replace(out[index], tool=replace(tool, output=str(get(item, "output") or "")))
    return out
