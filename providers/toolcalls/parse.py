"""Format readers: is a candidate piece a call to a declared function, and with what arguments?

JSON shapes read: ``{"name", "arguments"|"parameters"}`` (arguments possibly a JSON
string, or given flat beside the name), ``{"function": {...}}`` with or without
``"type": "function"``, ``{"tool_calls": [...]}``, a ``["name", {arguments}]`` pair,
a list of these, several in a row
(JSON lines), and Qwen's doubled braces ``{{...}}``. Pythonic calls are read in
``pythonic.py``. A piece that names an undeclared function is not a call; a broken
one that names a declared function is a call that needs repair.
"""

import ast
import json
import re
from collections.abc import Mapping
from typing import Any

from .pythonic import read_pythonic
from .scan import FENCE, PYTHON_TAG, TAG_CLOSE, TAG_OPEN, Piece
from .types import Candidate

_LANG = re.compile(r"[\w+.-]*")
_END_TOKENS = ("<|eom_id|>", "<|eot_id|>")
_JSON_NAME = re.compile(r'"name"\s*:\s*"([^"]+)"')
_CALL_NAME = re.compile(r"^\W*([A-Za-z_]\w*)\s*\(")
_PAIR_NAME = re.compile(r'^\[\s*"([A-Za-z_]\w*)"\s*,')
_SKIP = re.compile(r"[\s,;]*")


def read_piece(piece: Piece, params: Mapping[str, list[str]], json_reply: bool = False) -> list[Candidate] | None:
    """The calls a candidate piece holds, or None when it is prose after all.

    ``json_reply``: the client asked for a JSON reply, so bare or fenced JSON is the
    answer, not a call; only explicit markup (tags, python tag) still marks calls.
    """
    marked = piece.kind in ("tagged", "python_tag")
    if json_reply and not marked:
        return None
    body = _body(piece)
    found = read_json(body, params)
    if found is None:
        found = read_pythonic(body, params)
    return found if found is not None else _broken(body, params, marked)


def _body(piece: Piece) -> str:
    raw = piece.raw
    if piece.kind == "tagged":
        raw = raw.removeprefix(TAG_OPEN).removesuffix(TAG_CLOSE)
    elif piece.kind == "python_tag":
        raw = raw.removeprefix(PYTHON_TAG).strip()
        while raw.endswith(_END_TOKENS):
            raw = raw[: raw.rfind("<|")].rstrip()
    elif piece.kind == "fenced":
        raw = raw[len(FENCE) :].removesuffix(FENCE)
        raw = raw[_LANG.match(raw).end() :]  # type: ignore[union-attr]  # matches the empty string at least
    return raw.strip()


def read_json(body: str, params: Mapping[str, Any]) -> list[Candidate] | None:
    values = _json_values(body)
    if values is None:
        return None
    items: list[Any] = []
    for value in map(_pair, values):
        items.extend(value if isinstance(value, list) else [value])
    items = [c for item in map(_pair, items) for c in (item.get("tool_calls") if _is_wrapper(item) else [item])]
    candidates = [_candidate(item, params) for item in items]
    if not candidates or any(c is None for c in candidates):
        return None
    return [c for c in candidates if c is not None]


def _pair(item: Any) -> Any:
    """``["name", {arguments}]``, as a model shown a JSON array of calls sometimes writes one, as a call object."""
    if isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], dict):
        return {"name": item[0], "arguments": item[1]}
    return item


def _is_wrapper(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("tool_calls"), list)


def _json_values(body: str) -> list[Any] | None:
    for text in (body, body[1:-1] if body.startswith("{{") and body.endswith("}}") else None):
        if text is None:
            continue
        try:
            return [json.loads(text)]
        except ValueError:
            pass
    # Several values in a row: JSON lines, or objects separated by commas or semicolons.
    decoder, values, i = json.JSONDecoder(), [], 0
    while i < len(body):
        try:
            value, i = decoder.raw_decode(body, i)
        except ValueError:
            return None
        values.append(value)
        i = _SKIP.match(body, i).end()  # type: ignore[union-attr]  # matches the empty string at least
    return values or None


def _candidate(item: Any, params: Mapping[str, Any]) -> Candidate | None:
    if not isinstance(item, dict):
        return None
    inner = item["function"] if isinstance(item.get("function"), dict) else item
    name = inner.get("name")
    if not isinstance(name, str) or name not in params:
        return None
    raw = json.dumps(item, ensure_ascii=False)
    if "arguments" in inner or "parameters" in inner:
        arguments = inner.get("arguments", inner.get("parameters"))
    else:
        arguments = {k: v for k, v in inner.items() if k not in ("name", "type", "id")}
    if arguments is None:
        arguments = {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except ValueError as exc:
            return Candidate(name, None, f"the arguments of '{name}' are not valid JSON ({exc})", raw)
    if not isinstance(arguments, dict):
        return Candidate(name, None, f"the arguments of '{name}' are not an object", raw)
    return Candidate(name, arguments, None, raw)


def _broken(body: str, params: Mapping[str, Any], marked: bool) -> list[Candidate] | None:
    """A piece that is not a readable call: one to repair if it is broken and names a declared function."""
    match = _JSON_NAME.search(body) or _CALL_NAME.match(body) or _PAIR_NAME.match(body)
    if match and match.group(1) not in params:
        return None
    name = match.group(1) if match else None
    if name is None and not marked:
        return None
    error = _syntax_error(body)
    if error is None:  # well formed, just not a call to a declared function
        return None
    return [Candidate(name, None, f"the call to '{name or 'a function'}' is broken: {error}", body)]


def _syntax_error(body: str) -> str | None:
    try:
        json.loads(body)
        return None
    except ValueError as exc:
        error = f"not JSON ({exc})"
    try:
        ast.parse(body)
        return None
    except (SyntaxError, ValueError) as exc:
        return f"{error}, nor Python ({getattr(exc, 'msg', exc)})"
