"""Forcing a call: ``tool_choice`` "required" or a named function becomes a JSON schema.

The engine enforces the schema by grammar-constrained decoding, so even a 135M model
returns a well-formed call; the same schema drives the one repair retry of a bad call.
"""

import json
from typing import Any

ToolDict = dict[str, Any]


def tool_names(tools: list[ToolDict]) -> list[str]:
    return [t["function"]["name"] for t in tools if t.get("type") == "function"]


def forced_name(tool_choice: Any) -> str | None:
    """The function a named tool_choice forces, or None."""
    if isinstance(tool_choice, dict):
        return (tool_choice.get("function") or {}).get("name")
    return None


def named_choice(name: str | None) -> Any:
    """The tool_choice that forces ``name``, or any declared tool when the name is unknown."""
    return {"type": "function", "function": {"name": name}} if name else "required"


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
        return "\n".join([*lines, *_AUTO])
    lines.append('{"name": <function name>, "arguments": <object of arguments>}')
    return "\n".join(lines)


# With tool_choice "auto". Measured on the default 1.5B model (bench/tool_calls.py), a
# JSON array makes it write one call per thing asked where a single object made it
# stop after the first. It still invents optional values at times despite the last
# line; ``guesses.trim`` drops those.
_AUTO = (
    "",
    "First decide whether the request needs one of these functions. If it does not (a greeting, thanks, general "
    "knowledge, code to write, arithmetic you can do yourself, or a question the conversation already answers), "
    "reply in plain text and do not mention the functions.",
    "If it does, reply with only a JSON array that holds one call for each thing the user asks for:",
    '[{"name": <function name>, "arguments": <object of arguments>}]',
    "Use only values the user gave; leave out optional arguments the user did not mention.",
)
