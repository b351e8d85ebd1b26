"""Tool calls for models that have no native tool-call format, or do not follow it.

Two halves:
- forcing: ``tool_choice`` "required" or a named function becomes a JSON schema that
  the engine enforces by grammar-constrained decoding, so even a 135M model returns
  a well-formed call;
- reading: a reply written as text (``<tool_call>`` tags, fenced or bare JSON naming a
  declared tool) becomes OpenAI-shaped ``tool_calls``.

Imports no provider and no engine; works on plain OpenAI-shaped dicts.
"""

import json
import re
import secrets
from typing import Any

ToolDict = dict[str, Any]


def tool_names(tools: list[ToolDict]) -> list[str]:
    return [t["function"]["name"] for t in tools if t.get("type") == "function"]


def forced_name(tool_choice: Any) -> str | None:
    """The function a named tool_choice forces, or None."""
    if isinstance(tool_choice, dict):
        return (tool_choice.get("function") or {}).get("name")
    return None


def is_forced(tool_choice: Any) -> bool:
    return tool_choice == "required" or forced_name(tool_choice) is not None


def _call_schema(tool: ToolDict) -> dict[str, Any]:
    fn = tool["function"]
    params = fn.get("parameters") or {"type": "object", "properties": {}}
    return {
        "type": "object",
        "properties": {"name": {"const": fn["name"]}, "arguments": params},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def forced_schema(tools: list[ToolDict], tool_choice: Any) -> dict[str, Any]:
    """JSON schema of one call to the forced function, or to any declared function."""
    name = forced_name(tool_choice)
    chosen = [t for t in tools if t.get("type") == "function" and (name is None or t["function"]["name"] == name)]
    if not chosen:
        from herd.errors import InvalidRequest

        raise InvalidRequest(
            f"tool_choice names function '{name}', which is not among the declared tools "
            f"({', '.join(tool_names(tools)) or 'none'}); declare it in `tools` or change tool_choice"
        )
    if len(chosen) == 1:
        return _call_schema(chosen[0])
    return {"anyOf": [_call_schema(t) for t in chosen]}


def instructions(tools: list[ToolDict], tool_choice: Any) -> str:
    """A system-prompt section that lists the tools and how to call them."""
    lines = ["You can call these functions. Each is given as a JSON schema:"]
    for tool in tools:
        if tool.get("type") == "function":
            lines.append(json.dumps(tool["function"], ensure_ascii=False))
    name = forced_name(tool_choice)
    if name:
        lines.append(f'Call the function "{name}" now.')
    elif tool_choice == "required":
        lines.append("Call one of these functions now.")
    else:
        lines.append("To call a function, reply only with a JSON object on one line:")
    lines.append('{"name": <function name>, "arguments": <object of arguments>}')
    return "\n".join(lines)


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


_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.S)


def _loads(candidate: str) -> Any:
    try:
        return json.loads(candidate)
    except ValueError:
        # Qwen2.5's chat template shows the call format as `{{"name": ..., "arguments": ...}}`
        # (a Jinja escape that reaches the prompt as is), and its models copy the doubled braces.
        if candidate.startswith("{{") and candidate.endswith("}}"):
            return json.loads(candidate[1:-1])
        raise


def _as_call(candidate: str, names: set[str]) -> dict[str, Any] | None:
    try:
        obj = _loads(candidate)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("name") not in names:
        return None
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return None
    return make_call(obj["name"], args) if isinstance(args, dict) else None


def extract_calls(text: str, tools: list[ToolDict]) -> tuple[str | None, list[dict[str, Any]]]:
    """Split a text reply into (remaining content, tool calls) when it calls declared tools."""
    names = set(tool_names(tools))
    for pattern in (_TAGGED, _FENCED):
        matches = pattern.findall(text)
        calls = [c for c in (_as_call(m, names) for m in matches) if c]
        if calls:
            rest = pattern.sub("", text).strip()
            return (rest or None), calls
    call = _as_call(text.strip(), names)
    if call:
        return None, [call]
    return text, []


def flatten_tool_turns(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rewrite tool-call turns as plain text for chat templates that know no tool role."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        if msg.get("role") == "assistant" and msg.get("tool_calls"):
            calls = [
                json.dumps({"name": c["function"]["name"], "arguments": c["function"]["arguments"]})
                for c in msg["tool_calls"]
            ]
            text = "\n".join(filter(None, [msg.get("content") or "", *calls]))
            out.append({"role": "assistant", "content": text})
        elif msg.get("role") == "tool":
            out.append({"role": "user", "content": f"Function result: {_text(msg.get('content'))}"})
        else:
            out.append(msg)
    return out


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")
