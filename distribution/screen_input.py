"""Shields on what a request brings: the user's latest messages and the tool results it carries.

Only the trailing run of one role is judged: the user messages after the model's last
turn (earlier ones were judged when they were new), or the tool results a client sends
back. Each is judged in the context of the conversation before it. A flagged user
message refuses the request; a flagged tool result is replaced by a notice, so the model
still answers but never reads the injected text. PII redaction rewrites the text.
"""

from dataclasses import replace
from typing import Any

from herd.distribution.screening import Screening, notice
from herd.providers.shields.messages import input_turn, message_turn
from herd.providers.shields.verdict import Turn, Verdict


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
    """Judge the trailing user messages or tool results of ``items`` (changed in place).

    The items are read into turns once; what the shields leave the model to read becomes
    the context the output shields judge the reply in (``screening.context``).
    """
    policy = screening.policy
    to_turn = input_turn if responses else message_turn
    turns = [to_turn(item) for item in items]
    for index in _trailing(items):
        turn = turns[index]
        if turn is None:
            continue
        tool = turn.role == "tool"
        conversation = [t for t in turns[: index + 1] if t is not None]
        shields = policy.tool_results if tool else policy.input
        judgement = await screening.judge(shields, conversation, "tool_result" if tool else "input")
        if judgement.flagged is not None and not tool:
            return judgement.flagged
        text = notice(judgement.flagged) if judgement.flagged is not None else judgement.redacted
        if text is not None:
            _set_text(items[index], text, responses)
            turns[index] = replace(turn, text=text)
    screening.context = [Turn(t.role, t.text) for t in turns if t is not None and t.text]
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
