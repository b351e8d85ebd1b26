"""Tool calls for models that have no native tool-call format, or do not follow it.

- forcing (``forcing.py``): ``tool_choice`` "required" or a named function becomes a
  JSON schema the engine enforces while decoding;
- reading (``scan.py``, ``parse.py``, ``pythonic.py``): calls a model writes as text
  (pythonic, JSON, ``<tool_call>`` tags, ``<|python_tag|>``, fenced blocks) become
  OpenAI-shaped ``tool_calls``, whole (``normalise.py``) or chunk by chunk (``stream.py``,
  ``chunks.py``);
- checking (``validate.py``) against each tool's schema, and repair by one constrained
  retry (``repair.py``).

Imports no provider and no engine; works on plain OpenAI-shaped dicts.
"""

from typing import Any

from .chunks import normalise_stream
from .completion import normalise_completion
from .forcing import ToolDict, forced_name, forced_schema, instructions, is_forced, named_choice, tool_names
from .history import History
from .normalise import normalise
from .repair import Outcome, Retry, add_usage, read_forced, settle
from .repeats import answered_calls
from .stream import CallReader
from .turns import call_from_json, flatten_tool_turns, make_call, text_of, with_system
from .types import InvalidCall, Normalised


def extract_calls(text: str, tools: list[ToolDict]) -> tuple[str | None, list[dict[str, Any]]]:
    """Split a text reply into (remaining content, tool calls); the text as is when any call is bad."""
    found = normalise(text, tools)
    if found.invalid or not found.calls:
        return text, []
    return found.content, found.calls


__all__ = [
    "CallReader",
    "History",
    "InvalidCall",
    "Normalised",
    "Outcome",
    "Retry",
    "ToolDict",
    "add_usage",
    "answered_calls",
    "call_from_json",
    "extract_calls",
    "flatten_tool_turns",
    "forced_name",
    "forced_schema",
    "instructions",
    "is_forced",
    "make_call",
    "named_choice",
    "normalise",
    "normalise_completion",
    "normalise_stream",
    "read_forced",
    "settle",
    "text_of",
    "tool_names",
    "with_system",
]
