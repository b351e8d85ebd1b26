"""llama-stack's vector store filters, written as chromadb ``where`` clauses.

File attributes are chunk metadata in chromadb, so a filter on an attribute is a
metadata filter there. chromadb compares only numbers with gt/gte/lt/lte and wants
``in``/``nin`` lists of one type; those mistakes become an ``InvalidRequest`` that
names the filter, not an empty result.
"""

from typing import Any

from herd.errors import InvalidRequest

RESERVED_PREFIX = "_"
_OPERATORS = {
    "eq": "$eq",
    "ne": "$ne",
    "gt": "$gt",
    "gte": "$gte",
    "lt": "$lt",
    "lte": "$lte",
    "in": "$in",
    "nin": "$nin",
}
_ORDERED = {"gt", "gte", "lt", "lte"}


def to_where(filter_: Any) -> dict[str, Any]:
    """A ``ComparisonFilter`` or ``CompoundFilter`` (or their dict form) as a chromadb ``where``."""
    data = filter_ if isinstance(filter_, dict) else filter_.model_dump()
    kind = data.get("type")
    if kind in ("and", "or"):
        parts = [to_where(f) for f in data.get("filters") or []]
        if not parts:
            raise InvalidRequest(f"an '{kind}' filter needs at least one filter in `filters`")
        return parts[0] if len(parts) == 1 else {f"${kind}": parts}
    if kind not in _OPERATORS:
        raise InvalidRequest(f"unknown filter type {kind!r}; use one of {', '.join([*_OPERATORS, 'and', 'or'])}")
    key = _key(data.get("key"))
    return {key: {_OPERATORS[kind]: _value(kind, key, data.get("value"))}}


def _key(key: Any) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidRequest("a comparison filter needs a `key`: the name of a file attribute")
    if key.startswith(RESERVED_PREFIX):
        raise InvalidRequest(f"filter key {key!r}: keys starting with '_' are Herd's own; filter on file attributes")
    return key


def _value(kind: str, key: str, value: Any) -> Any:
    if kind in ("in", "nin"):
        if not isinstance(value, list) or not value:
            raise InvalidRequest(f"filter '{kind}' on {key!r} needs a non-empty list as `value`")
        if len({type(v) for v in value}) > 1:
            raise InvalidRequest(f"filter '{kind}' on {key!r}: the values must all be of one type")
        return value
    if kind in _ORDERED and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise InvalidRequest(f"filter '{kind}' on {key!r} compares numbers; got {value!r}")
    if not isinstance(value, str | int | float | bool):
        raise InvalidRequest(f"filter '{kind}' on {key!r}: `value` must be a string, number or boolean")
    return value
