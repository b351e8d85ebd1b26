"""A character-level acceptor for JSON that fits a schema, for constrained decoding. Pure Python.

``transformers`` has no grammar engine, so tool calls forced by ``tool_choice`` and
``response_format`` JSON schemas are decoded through this: a state is a set of parser
stacks (a set, because ``anyOf``, ``enum`` and type lists are alternatives), each char
advances every stack, and a stack that cannot take the char dies. ``cost`` is the fewest
chars that finish a state, so the decoder never starts what ``max_tokens`` cannot close.

The subset: object (properties, required, additionalProperties), string (enum, const),
integer, number, boolean, null, array (items, minItems, maxItems), anyOf/oneOf, type
lists, and ``{}`` for any value. JSON is written compact, one optional space after ``:``
and ``,``. ``check_schema`` refuses anything else with a message that names it.
"""

import json
from dataclasses import dataclass, replace
from typing import Any

from herd.errors import InvalidRequest

Schema = dict[str, Any]
_KNOWN = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "oneOf",
    "minItems", "maxItems", "title", "description", "default", "examples", "$schema", "format", "strict",
}  # fmt: skip
_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
_DIGITS = "0123456789"


def check_schema(schema: Any, where: str = "schema") -> None:
    """Raise InvalidRequest for a schema outside the supported subset."""
    if not isinstance(schema, dict):
        raise InvalidRequest(f"{where} must be a JSON object")
    unknown = sorted(set(schema) - _KNOWN)
    if unknown:
        raise InvalidRequest(
            f"{where} uses {', '.join(unknown)}, which this provider's constrained decoder does not support "
            f"(it supports: object, array, string, integer, number, boolean, null, enum, const, anyOf); simplify it"
        )
    types = schema.get("type")
    for t in types if isinstance(types, list) else [types] if types else []:
        if t not in _TYPES:
            raise InvalidRequest(f"{where} has type {t!r}; use one of {', '.join(sorted(_TYPES))}")
    for name, sub in (schema.get("properties") or {}).items():
        check_schema(sub, f"{where}.properties.{name}")
    for key in ("anyOf", "oneOf"):
        for i, sub in enumerate(schema.get(key) or []):
            check_schema(sub, f"{where}.{key}[{i}]")
    if isinstance(schema.get("items"), dict):
        check_schema(schema["items"], f"{where}.items")
    if isinstance(schema.get("additionalProperties"), dict):
        check_schema(schema["additionalProperties"], f"{where}.additionalProperties")


# -- frames: immutable, so a stack is a tuple and copying a state is free ---------------------


@dataclass(frozen=True, eq=False)  # holds a schema dict: compared by identity
class Value:  # a value is expected; it may start with one space
    schema: Schema
    space: bool = False


@dataclass(frozen=True)
class Lit:  # the rest of a literal: true, null, an enum or const member, a property name
    rest: str


@dataclass(frozen=True)
class Quote:  # a free string's opening quote
    pass


@dataclass(frozen=True)
class Str:  # inside a free string
    escape: int = 0  # 0 none, 1 after backslash, 2..5 hex digits of \u still due (5 = four due)


@dataclass(frozen=True)
class Num:
    integer: bool
    phase: str = "start"  # start, minus, zero, int, dot, frac, e, esign, exp


@dataclass(frozen=True, eq=False)  # holds a schema dict: compared by identity
class Obj:
    schema: Schema
    phase: str = "open"  # open, first, key, keyin, colon, next
    used: tuple[str, ...] = ()
    key: str = ""  # the key typed so far (phase keyin) or the key whose value comes (colon)
    space: bool = False


@dataclass(frozen=True, eq=False)  # holds a schema dict: compared by identity
class Arr:
    schema: Schema
    phase: str = "open"  # open, first, next
    count: int = 0


Frame = Value | Lit | Quote | Str | Num | Obj | Arr
Stack = tuple[Frame, ...]
_NUM_ACCEPT = {"zero", "int", "frac", "exp"}


def _alternatives(schema: Schema) -> list[Schema]:
    """A schema split into schemas of one type each (anyOf, type lists, untyped)."""
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return [alt for sub in schema[key] for alt in _alternatives(sub)]
    if "const" in schema or "enum" in schema:
        return [schema]
    types = schema.get("type")
    if types is None:
        types = ["object"] if "properties" in schema else list(_TYPES)
    if isinstance(types, list):
        return [{**schema, "type": t} for t in types]
    return [schema]


def _start(schema: Schema) -> list[Frame]:
    """The frames that may begin a value of ``schema`` (before its first char)."""
    if "const" in schema:
        return [Lit(json.dumps(schema["const"], ensure_ascii=False, separators=(",", ":")))]
    if "enum" in schema:
        return [Lit(json.dumps(v, ensure_ascii=False, separators=(",", ":"))) for v in schema["enum"]]
    t = schema.get("type")
    if t == "object":
        return [Obj(schema)]
    if t == "array":
        return [Arr(schema)]
    if t == "string":
        return [Quote()]
    if t in ("integer", "number"):
        return [Num(t == "integer")]
    if t == "boolean":
        return [Lit("true"), Lit("false")]
    return [Lit("null")]


def _props(schema: Schema) -> dict[str, Schema]:
    return schema.get("properties") or {}


def _free_keys(schema: Schema) -> bool:
    extra = schema.get("additionalProperties")
    return extra is not False and (not _props(schema) or extra is not None)


def _prop_schema(schema: Schema, key: str) -> Schema:
    if key in _props(schema):
        return _props(schema)[key]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else {}


def _items(schema: Schema) -> Schema:
    items = schema.get("items")
    return items if isinstance(items, dict) else {}


def _missing(frame: Obj) -> list[str]:
    return [k for k in frame.schema.get("required") or [] if k not in frame.used]


def _step(stack: Stack, c: str) -> list[Stack]:
    """Every stack that ``stack`` becomes by taking ``c`` (none: ``c`` is not allowed here)."""
    if not stack:
        return []
    top, rest = stack[-1], stack[:-1]
    if isinstance(top, Value):
        if c == " " and top.space:
            return [(*rest, replace(top, space=False))]
        out: list[Stack] = []
        for alt in _alternatives(top.schema):
            for frame in _start(alt):
                out.extend(_step((*rest, frame), c))
        return out
    if isinstance(top, Lit):
        return [(*rest, Lit(top.rest[1:])) if len(top.rest) > 1 else rest] if top.rest[:1] == c else []
    if isinstance(top, Quote):
        return [(*rest, Str())] if c == '"' else []
    if isinstance(top, Str):
        after = _str(top, c)
        if after is None:
            return []
        return [(*rest, after)] if isinstance(after, Str) else [rest]
    if isinstance(top, Num):
        nxt = _num(top, c)
        if nxt is not None:
            return [(*rest, nxt)]
        return _step(rest, c) if top.phase in _NUM_ACCEPT else []  # the number ended before c
    if isinstance(top, Obj):
        return _obj(top, rest, c)
    return _arr(top, rest, c)


def _str(top: Str, c: str) -> Str | bool | None:
    """The string frame after ``c``: a Str, True when ``c`` closed it, None when not allowed (never False)."""
    if top.escape == 1:
        if c in '"\\/bfnrt':
            return Str()
        return Str(5) if c == "u" else None
    if top.escape >= 2:
        if c.lower() not in "0123456789abcdef":
            return None
        return Str(top.escape - 1) if top.escape > 2 else Str()
    if c == '"':
        return True
    if c == "\\":
        return Str(1)
    return None if ord(c) < 0x20 else top


def _num(top: Num, c: str) -> Num | None:
    p = top.phase
    if c == "-" and p == "start":
        return replace(top, phase="minus")
    if c in _DIGITS:
        nxt = {"start": "int", "minus": "int", "int": "int", "dot": "frac", "frac": "frac"}
        nxt.update(e="exp", esign="exp", exp="exp")
        if p in ("start", "minus") and c == "0":
            return replace(top, phase="zero")
        return replace(top, phase=nxt[p]) if p in nxt else None
    if top.integer:
        return None
    if c == "." and p in ("zero", "int"):
        return replace(top, phase="dot")
    if c in "eE" and p in ("zero", "int", "frac"):
        return replace(top, phase="e")
    if c in "+-" and p == "e":
        return replace(top, phase="esign")
    return None


def _keys_left(top: Obj) -> list[str]:
    return [k for k in _props(top.schema) if k not in top.used]


def _obj(top: Obj, rest: Stack, c: str) -> list[Stack]:
    p = top.phase
    if p == "open":
        return [(*rest, replace(top, phase="first"))] if c == "{" else []
    if p in ("first", "next") and c == "}":
        return [rest] if not _missing(top) else []
    if p == "next" and c == "," and (_keys_left(top) or _free_keys(top.schema)):
        return [(*rest, replace(top, phase="key", space=True))]
    if p == "key" and c == " " and top.space:
        return [(*rest, replace(top, space=False))]
    if p in ("first", "key") and c == '"':
        return [(*rest, replace(top, phase="keyin", key=""))]
    if p == "keyin":
        if c == '"':
            ok = top.key in _keys_left(top) or (_free_keys(top.schema) and top.key and top.key not in top.used)
            return [(*rest, replace(top, phase="colon"))] if ok else []
        typed = top.key + c
        if c in '\\"' or ord(c) < 0x20:
            return []
        if _free_keys(top.schema) or any(k.startswith(typed) for k in _keys_left(top)):
            return [(*rest, replace(top, key=typed))]
        return []
    if p == "colon" and c == ":":
        after = replace(top, phase="next", used=(*top.used, top.key), key="")
        return [(*rest, after, Value(_prop_schema(top.schema, top.key), space=True))]
    return []


def _arr(top: Arr, rest: Stack, c: str) -> list[Stack]:
    lo, hi = top.schema.get("minItems", 0), top.schema.get("maxItems")
    items = _items(top.schema)
    if top.phase == "open":
        return [(*rest, replace(top, phase="first"))] if c == "[" else []
    if c == "]" and top.phase in ("first", "next"):
        return [rest] if top.count >= lo else []
    if top.phase == "next":
        if c != "," or (hi is not None and top.count >= hi):
            return []
        return [(*rest, replace(top, count=top.count + 1), Value(items, space=True))]
    if hi is not None and hi < 1:
        return []
    return _step((*rest, replace(top, phase="next", count=1), Value(items)), c)


# -- cost: the fewest chars that finish a stack ----------------------------------------------


def _value_cost(schema: Schema, depth: int = 0) -> int:
    if depth > 8:
        return 4
    costs = []
    for alt in _alternatives(schema):
        if "const" in alt or "enum" in alt:
            costs.append(min(len(lit.rest) for lit in _start(alt) if isinstance(lit, Lit)))
        elif alt.get("type") == "object":
            costs.append(_obj_rest(alt, _missing(Obj(alt)), depth) + 2)
        elif alt.get("type") == "array":
            items = _items(alt)
            n = alt.get("minItems", 0)
            costs.append(2 + n * (_value_cost(items, depth + 1) + 1) - (1 if n else 0))
        else:
            costs.append({"string": 2, "integer": 1, "number": 1, "boolean": 4}.get(alt.get("type", ""), 4))
    return min(costs) if costs else 4


def _obj_rest(schema: Schema, missing: list[str], depth: int) -> int:
    """Chars for the missing required members, comma-separated (without braces)."""
    parts = [len(json.dumps(k)) + 1 + _value_cost(_prop_schema(schema, k), depth + 1) for k in missing]
    return sum(parts) + max(0, len(parts) - 1)


def _frame_cost(frame: Frame) -> int:
    if isinstance(frame, Value):
        return _value_cost(frame.schema)
    if isinstance(frame, Lit):
        return len(frame.rest)
    if isinstance(frame, Quote):
        return 2
    if isinstance(frame, Str):
        return 1 + {0: 0, 1: 1}.get(frame.escape, frame.escape - 1)
    if isinstance(frame, Num):
        return 0 if frame.phase in _NUM_ACCEPT else 1
    if isinstance(frame, Arr):
        items = _items(frame.schema)
        short = max(0, frame.schema.get("minItems", 0) - frame.count)
        return (2 if frame.phase == "open" else 1) + short * (_value_cost(items) + 1)
    return _obj_cost(frame)


def _member(frame: Obj, key: str, typed_rest: int) -> int:
    """Chars to finish member ``key`` (its name has ``typed_rest`` chars to go), the others, and ``}``."""
    others = [k for k in _missing(frame) if k != key]
    tail = _obj_rest(frame.schema, others, 0) + 1 if others else 0
    return typed_rest + 1 + _value_cost(_prop_schema(frame.schema, key)) + tail + 1


def _obj_cost(frame: Obj) -> int:
    missing = _missing(frame)
    rest = _obj_rest(frame.schema, missing, 0)
    if frame.phase == "open":
        return rest + 2
    if frame.phase == "keyin":  # the rest of the name, its closing quote, then as in colon
        options = [_member(frame, k, len(k) - len(frame.key) + 1) for k in _keys_left(frame) if k.startswith(frame.key)]
        if _free_keys(frame.schema) and frame.key:
            options.append(_member(frame, frame.key, 1))
        return min(options) if options else 1
    if frame.phase == "colon":
        return _member(frame, frame.key, 0)
    if frame.phase == "key":  # a member must follow the comma
        if missing:
            return rest + 1
        options = [len(json.dumps(k)) + _member(frame, k, 0) for k in _keys_left(frame)]
        return min(options) if options else 6
    return rest + (1 if missing and frame.phase == "next" else 0) + 1


def _stack_cost(stack: Stack) -> int:
    return sum(_frame_cost(f) for f in stack)


# -- the state the decoder holds ---------------------------------------------------------------


class JsonState:
    """Where one constrained reply is: the stacks still alive after the text so far."""

    __slots__ = ("stacks",)

    def __init__(self, stacks: list[Stack]) -> None:
        self.stacks = stacks

    @classmethod
    def start(cls, schema: Schema) -> "JsonState":
        check_schema(schema)
        return cls([(Value(schema),)])

    def feed(self, text: str) -> "JsonState | None":
        """The state after ``text``, or None when no valid JSON of the schema begins so."""
        stacks = self.stacks
        for c in text:
            nxt: dict[Stack, None] = {}
            for stack in stacks:
                for s in _step(stack, c):
                    nxt[s] = None
            if not nxt:
                return None
            stacks = list(nxt)
        return JsonState(stacks)

    @property
    def complete(self) -> bool:
        """The text so far is a whole value of the schema (a number may still go on)."""
        return any(not s or (len(s) == 1 and isinstance(s[0], Num) and s[0].phase in _NUM_ACCEPT) for s in self.stacks)

    @property
    def closed(self) -> bool:
        """Nothing can follow: decoding stops here."""
        return any(not s for s in self.stacks)

    def cost(self) -> int:
        return min(_stack_cost(s) for s in self.stacks)
