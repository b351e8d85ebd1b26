"""Pythonic calls: ``[get_weather(city="Seoul"), get_time(timezone='UTC')]``, read with ``ast``, never run.

Values may be Python or JSON literals (``True``/``true``, ``None``/``null``), lists,
tuples and dicts. Positional arguments take the declared parameters in order.
"""

import ast
from collections.abc import Mapping
from typing import Any

from .types import Candidate

_NAMED = {"True": True, "true": True, "False": False, "false": False, "None": None, "null": None}


class _NotLiteral(ValueError):
    pass


def read_pythonic(body: str, params: Mapping[str, list[str]]) -> list[Candidate] | None:
    """The calls in ``body`` when it is nothing but calls to declared functions, else None.

    ``params`` maps each declared function to its parameter names, in order.
    """
    try:
        tree = ast.parse(body.strip(), mode="exec")
    except (SyntaxError, ValueError):
        return None
    nodes: list[ast.expr] = []
    for stmt in tree.body:
        if not isinstance(stmt, ast.Expr):
            return None
        value = stmt.value
        nodes.extend(value.elts if isinstance(value, ast.List | ast.Tuple) else [value])
    calls = [_call(node, params) for node in nodes]
    if not calls or any(c is None for c in calls):
        return None
    return [c for c in calls if c is not None]


def _call(node: ast.expr, params: Mapping[str, list[str]]) -> Candidate | None:
    if not isinstance(node, ast.Call):
        return None
    name = _name(node.func)
    if name is None or name not in params:
        return None
    raw = ast.unparse(node)
    order = params[name]
    try:
        if len(node.args) > len(order) or any(isinstance(a, ast.Starred) for a in node.args):
            raise _NotLiteral(f"{len(node.args)} positional arguments for {len(order)} parameters")
        arguments = {order[i]: _literal(a) for i, a in enumerate(node.args)}
        for kw in node.keywords:
            if kw.arg is None:
                raise _NotLiteral("**kwargs")
            arguments[kw.arg] = _literal(kw.value)
    except _NotLiteral as exc:
        return Candidate(name, None, f"the call to '{name}' has an argument that is not a plain value ({exc})", raw)
    return Candidate(name, arguments, None, raw)


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):  # Llama's built-in tools: brave_search.call(query=...)
        return _name(func.value) if func.attr == "call" else func.attr
    return None


def _literal(node: ast.expr) -> Any:
    if isinstance(node, ast.Name) and node.id in _NAMED:
        return _NAMED[node.id]
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise _NotLiteral("**mapping")
        return {_key(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise _NotLiteral(ast.unparse(node)) from exc
    if value is not None and not isinstance(value, str | int | float):  # bytes, complex: no JSON for them
        raise _NotLiteral(ast.unparse(node))
    return value


def _key(node: ast.expr) -> str:
    key = _literal(node)
    return key if isinstance(key, str) else str(key)
