"""Shields on what a request brings: the user's latest messages and the tool results it carries.

Only the trailing run of one role is judged: the user messages after the model's last
turn (earlier ones were judged when they were new), or the tool results a client sends
back. Each is judged in the context of the conversation before it. A flagged user
message refuses the request; a flagged tool result is replaced by a notice, so the model
still answers but never reads the injected text. PII redaction rewrites the text.
"""

from typing import Any

from herd.distribution.screening import Screening, notice
from herd.providers.shields.messages import turns_from_input, turns_from_messages
from herd.providers.shields.verdict import Verdict


def _role(item: dict[str, Any]) -> str:
    if item.get("type") == "function_call_output":
        return "tool"
    role = str(item.get("role", ""))
    return "tool" if role in ("tool", "function") else role


def _trailing(items: list[Any]) -> list[int]:
    if not items or not isinstance(items[-1], dict):
        return []
    role = _role(items[-1])
    if role not in ("user", "tool"):
        return []
    out: list[int] = []
    for i in range(len(items) - 1, -1, -1):
        if not isinstance(items[i], dict) or _role(items[i]) != role:
            break
        out.append(i)
    return out[::-1]


def _set_text(item: dict[str, Any], text: str, responses: bool) -> None:
    key = "output" if item.get("type") == "function_call_output" else "content"
    value = item.get(key)
    if isinstance(value, list):
        kept = [p for p in value if not (isinstance(p, dict) and p.get("type") in ("text", "input_text"))]
        item[key] = [{"type": "input_text" if responses else "text", "text": text}, *kept]
    else:
        item[key] = text


async def screen_items(screening: Screening, items: list[Any], responses: bool) -> Verdict | None:
    """Judge the trailing user messages or tool results of ``items`` (changed in place)."""
    policy = screening.policy
    to_turns = turns_from_input if responses else turns_from_messages
    for index in _trailing(items):
        item = items[index]
        conversation = to_turns(items[: index + 1])
        if not conversation:
            continue
        tool = _role(item) == "tool"
        shields = policy.tool_results if tool else policy.input
        judgement = await screening.judge(shields, conversation, "tool_result" if tool else "input")
        if judgement.flagged is not None and not tool:
            return judgement.flagged
        if judgement.flagged is not None:
            _set_text(item, notice(judgement.flagged), responses)
        elif judgement.redacted is not None:
            _set_text(item, judgement.redacted, responses)
    return None


async def screen_request(screening: Screening, path: str, body: dict[str, Any]) -> Verdict | None:
    """The flagged verdict that refuses this request, or None (the body may have been rewritten)."""
    if path == "/v1/chat/completions" and isinstance(body.get("messages"), list):
        return await screen_items(screening, body["messages"], responses=False)
    if path == "/v1/responses":
        if isinstance(body.get("input"), str):
            body["input"] = [{"type": "message", "role": "user", "content": body["input"]}]
        if isinstance(body.get("input"), list):
            return await screen_items(screening, body["input"], responses=True)
    return None
