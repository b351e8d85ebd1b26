"""Guesses in a small model's calls: values it invents rather than reads from the conversation.

Measured with the default 1.5B model (``bench/tool_calls.py``): offered tools, it calls
them for a greeting or a general-knowledge question with values nobody gave
(``get_weather`` for "Paris" when asked how it is), and fills optional arguments with
empty or made-up values (``"folder": ""``, an attendee ``user@example.com``).

- An optional free-text argument (a string without ``enum``/``const``, or a list of
  them) that is empty, or that the conversation never mentions (``History.mentions``
  with ``strict``: a sentence or an address must appear whole), is dropped, so the
  tool applies its own default. Of a list, the unmentioned items go.
- A call none of whose free values (free-text strings, numbers) the conversation
  mentions is a guess: ``settle`` drops it, and asks for the answer with tools off
  when nothing else is left.

Enum values and booleans are the schema's words, not the user's, and strings with a
digit may be computed (a date from "tomorrow"), so none of these is judged. A call
with nothing to judge (no arguments, only enums) is never a guess.
"""

import json
import re
from typing import Any

from .history import History

Schema = dict[str, Any]
_DIGIT = re.compile(r"\d")
_WRAPPING = re.compile(r"^(?:```[\w-]*|<tool_call>|<\|python_tag\|>)\s*|\s*(?:```|</tool_call>)$")


def _free_text(schema: Schema) -> bool:
    return schema.get("type") == "string" and "enum" not in schema and "const" not in schema


def _judged(value: Any, schema: Schema) -> bool:
    """Whether a leaf value is the user's to give (and so must come from the conversation)."""
    if isinstance(value, bool) or "enum" in schema or "const" in schema:
        return False
    if isinstance(value, str):
        return not _DIGIT.search(value)
    return isinstance(value, int | float)


def trim(arguments: Any, schema: Schema | None, history: History) -> Any:
    """``arguments`` without the optional free-text values nobody gave."""
    schema = schema or {}
    if isinstance(arguments, dict):
        props = schema.get("properties") or {}
        required = set(schema.get("required") or [])
        out = {}
        for key, value in arguments.items():
            sub = props.get(key) or {}
            kept = trim(value, sub, history)
            if key not in required:
                kept = _mentioned_part(kept, sub, history)
                if kept is _DROP:
                    continue
            out[key] = kept
        return out
    if isinstance(arguments, list):
        items = schema.get("items") or {}
        return [trim(item, items, history) for item in arguments]
    return arguments


_DROP = object()


def _mentioned_part(value: Any, schema: Schema, history: History) -> Any:
    """An optional value as far as the conversation gave it; ``_DROP`` when empty or never mentioned."""
    if value in ("", [], {}):
        return _DROP
    if isinstance(value, str) and _free_text(schema):
        return _DROP if _judged(value, schema) and not history.mentions(value, strict=True) else value
    items = schema.get("items") or {}
    if isinstance(value, list) and _free_text(items):
        kept = [v for v in value if not _judged(v, items) or history.mentions(v, strict=True)]
        return kept or _DROP
    return value


def is_guess(arguments: Any, schema: Schema | None, history: History) -> bool:
    """Whether a call has values to judge and the conversation mentions none of them."""
    judged = [v for v, s in _leaves(arguments, schema or {}) if _judged(v, s)]
    return bool(judged) and not any(history.mentions(v) for v in judged)


def _leaves(value: Any, schema: Schema) -> list[tuple[Any, Schema]]:
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        return [leaf for key, item in value.items() for leaf in _leaves(item, props.get(key) or {})]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item, schema.get("items") or {})]
    return [(value, schema)]


def undeclared_call(text: str, declared: list[str]) -> str | None:
    """The function name when ``text`` (fenced or tagged, or bare) is a JSON call to a function nobody declared."""
    body = _WRAPPING.sub("", text.strip())
    try:
        found = json.loads(body)
    except ValueError:
        return None
    calls = found if isinstance(found, list) else [found]
    names = [c.get("name") for c in calls if isinstance(c, dict) and ("arguments" in c or "parameters" in c)]
    if not names or len(names) != len(calls) or not all(isinstance(n, str) for n in names):
        return None
    stray = [n for n in names if n not in declared]
    return stray[0] if stray else None
