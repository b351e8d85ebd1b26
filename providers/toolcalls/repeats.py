"""Calls a model repeats after their results are already in the conversation.

Small models, shown a tool's result, often call the same tool with the same
arguments again instead of answering (measured with the default 1.5B model: the
SDK's Agent then loops until its turn limit and the answer comes back empty). A
repeated call cannot bring anything new, so it is dropped; when nothing else is
left, the reply is asked for again with tools off, and the model answers from the
results it has. Arguments equal to their schema's ``default`` count as not given, so
``get_weather(city="Paris", unit="celsius")`` repeats ``get_weather(city="Paris")``.
"""

import json
from typing import Any

Key = tuple[str, str]
Schemas = dict[str, dict[str, Any]]  # function name → its parameters schema


def _key(name: str, arguments: Any, schemas: Schemas) -> Key:
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except ValueError:
            return name, arguments
    if isinstance(arguments, dict):
        props = (schemas.get(name) or {}).get("properties") or {}
        arguments = {
            k: v for k, v in arguments.items() if "default" not in (props.get(k) or {}) or props[k]["default"] != v
        }
    return name, json.dumps(arguments, sort_keys=True, ensure_ascii=False)


def answered_calls(messages: list[dict[str, Any]], schemas: Schemas | None = None) -> set[Key]:
    """(name, arguments) of every call in the conversation that a tool message answered."""
    answered_ids = {m.get("tool_call_id") for m in messages if m.get("role") == "tool"}
    keys = set()
    for message in messages:
        for call in message.get("tool_calls") or [] if message.get("role") == "assistant" else []:
            fn = call.get("function") or {}
            if call.get("id") in answered_ids and fn.get("name"):
                keys.add(_key(fn["name"], fn.get("arguments"), schemas or {}))
    return keys


def new_calls(
    calls: list[dict[str, Any]], answered: frozenset[Key] | set[Key], schemas: Schemas
) -> list[dict[str, Any]]:
    return [c for c in calls if _key(c["function"]["name"], c["function"]["arguments"], schemas) not in answered]
