"""A whole reply read for tool calls: prose apart, calls read and checked against their schemas."""

import json
from collections.abc import Iterable
from typing import Any

from .forcing import ToolDict, tool_names
from .guesses import undeclared_call
from .parse import read_piece
from .scan import Piece, cut
from .turns import make_call
from .types import Candidate, InvalidCall, Normalised
from .validate import check


class Catalog:
    """The declared tools of one request, as the readers need them."""

    def __init__(self, tools: list[ToolDict], json_reply: bool = False) -> None:
        self.tools = {t["function"]["name"]: t["function"] for t in tools if t.get("type") == "function"}
        self.names = tool_names(tools)
        # Parameter names in declared order, for pythonic calls with positional arguments.
        self.params = {
            name: list((fn.get("parameters") or {}).get("properties") or {}) for name, fn in self.tools.items()
        }
        self.json_reply = json_reply


Reading = tuple[Piece, list[Candidate] | None]  # a piece, and its calls (None: it is prose)


def normalise(text: str, tools: list[ToolDict], json_reply: bool = False, native: Iterable[Any] = ()) -> Normalised:
    """Read the calls in a complete reply (the stream reader gives the same result chunk by chunk).

    ``native``: calls the engine already returned structured (OpenAI-shaped), checked alike.
    """
    catalog = Catalog(tools, json_reply)
    pieces, _ = cut(text, 0, catalog.names, final=True)
    return assemble([read(p, catalog) for p in pieces], catalog, text, native)


def read(piece: Piece, catalog: Catalog) -> Reading:
    if piece.kind == "text":
        return piece, None
    found = read_piece(piece, catalog.params, catalog.json_reply)
    if found is None and not catalog.json_reply and undeclared_call(piece.raw, catalog.names):
        return piece, []  # a call, though to nothing declared: not prose
    return piece, found


def assemble(readings: Iterable[Reading], catalog: Catalog, text: str, native: Iterable[Any] = ()) -> Normalised:
    """The result of a reply read piece by piece, plus calls the engine already returned structured."""
    prose: list[str] = []
    calls: list[dict[str, Any]] = []
    invalid: list[InvalidCall] = []
    stray: list[str] = []
    for piece, found in readings:
        if found is None:
            prose.append(piece.raw)
        elif not found:
            stray.append(undeclared_call(piece.raw, catalog.names) or "")
        for candidate in found or []:
            _sort(candidate, catalog, calls, invalid)
    for call in native:
        _sort(_from_native(call), catalog, calls, invalid)
    content = "".join(prose).lstrip()
    if calls or invalid or stray:
        content = content.rstrip()
    return Normalised(content or None, calls, invalid, text, stray)


def _sort(candidate: Candidate, catalog: Catalog, calls: list[dict[str, Any]], invalid: list[InvalidCall]) -> None:
    name, problem = candidate.name, candidate.problem
    if name is not None and name not in catalog.tools:  # only the engine's own parser gets here
        name, problem = None, f"'{name}' is not a declared function"
    if problem is None and name is not None:
        arguments, problem = check(candidate.arguments, catalog.tools[name].get("parameters"))
        if arguments is not None:
            calls.append(make_call(name, arguments))
            return
        problem = f"the arguments of '{name}' do not fit its schema: {problem}"
    invalid.append(InvalidCall(name, candidate.raw, problem or "unreadable call"))


def _from_native(call: dict[str, Any]) -> Candidate:
    """A call the engine parsed itself (OpenAI-shaped), checked like the ones read from text."""
    fn = call.get("function") or {}
    name, given = fn.get("name"), fn.get("arguments") or "{}"
    # As the model might have written it: what the reply shows if the call is given up.
    raw = json.dumps({"name": name, "arguments": given}, ensure_ascii=False)
    if not isinstance(name, str):
        return Candidate(None, None, "a tool call without a function name", raw)
    try:
        arguments = json.loads(given) if isinstance(given, str) else given
    except ValueError as exc:
        return Candidate(name, None, f"the arguments of '{name}' are not valid JSON ({exc})", raw)
    if not isinstance(arguments, dict):
        return Candidate(name, None, f"the arguments of '{name}' are not an object", raw)
    return Candidate(name, arguments, None, raw)
