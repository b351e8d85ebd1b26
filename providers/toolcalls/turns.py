"""OpenAI-shaped call objects, and tool turns rewritten for templates that know no tool role."""

import json
import secrets
from typing import Any


def make_call(name: str, arguments: Any) -> dict[str, Any]:
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)
    return {
        "id": f"call_{secrets.token_hex(8)}",
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def call_from_json(text: str) -> dict[str, Any]:
    """The call in a grammar-constrained reply (always one valid object)."""
    obj = json.loads(text)
    return make_call(obj["name"], obj.get("arguments", {}))


def flatten_tool_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rewrite tool-call turns as plain text, for Herd's tool prompt or templates with no tool role.

    The results of one round of calls become one user turn that names each result's
    function and ends by asking for the answer to the request they serve: shown a bare
    result as a user turn, the default 1.5B model would answer it as if the user had
    said it ("Thank you.") instead of answering the question.
    """
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    results: list[str] = []
    request = ""
    for msg in messages:
        if msg.get("role") == "tool":
            name = names.get(str(msg.get("tool_call_id")), "function")
            results.append(f"{name}: {text_of(msg.get('content'))}")
            continue
        if results:
            out.append(_results_turn(results, request))
            results = []
        if msg.get("role") == "user":
            request = text_of(msg.get("content"))
        if msg.get("role") == "assistant" and msg.get("tool_calls"):
            names.update({str(c.get("id")): c["function"]["name"] for c in msg["tool_calls"]})
            # In the form the instructions ask for, arguments as objects: a model shown
            # them as JSON strings writes its next calls double-encoded.
            calls = [
                {"name": c["function"]["name"], "arguments": _parsed(c["function"]["arguments"])}
                for c in msg["tool_calls"]
            ]
            text = "\n".join(filter(None, [text_of(msg.get("content")), json.dumps(calls, ensure_ascii=False)]))
            out.append({"role": "assistant", "content": text})
        else:
            out.append(msg)
    if results:
        out.append(_results_turn(results, request))
    return out


_QUOTED_REQUEST = 300  # characters of the request quoted after the results; a longer one is referred to


def _results_turn(results: list[str], request: str) -> dict[str, Any]:
    asked = f'"{request.strip()}"' if 0 < len(request.strip()) <= _QUOTED_REQUEST else "my request above"
    lines = ["Function results:", *results, f"Use them to answer {asked}."]
    return {"role": "user", "content": "\n".join(lines)}


def _parsed(arguments: Any) -> Any:
    if isinstance(arguments, str):
        try:
            return json.loads(arguments or "{}")
        except ValueError:
            return arguments
    return arguments


def text_of(content: Any) -> str:
    """The text of a message's content, whether a string or a list of parts."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def with_system(messages: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """``messages`` with ``text`` added to the system prompt (a new one when there is none)."""
    if messages and messages[0].get("role") in ("system", "developer"):
        first = dict(messages[0])
        first["content"] = f"{text_of(first.get('content'))}\n\n{text}"
        return [first, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]
