"""Check a call's arguments against its tool's ``parameters`` schema.

A few harmless slips are mended rather than sent to a repair retry, each only at the
top level of the arguments and only when the mended arguments then fit the schema:
a number or boolean written as a string ("3" for an integer field, "true" for a
boolean), an integer where a string is wanted (a zip code), and ``None`` given for an
optional argument whose schema does not take null (the model meant "not given").
Anything else, say "kelvin" for an enum of celsius/fahrenheit, fails the check.
"""

import logging
import math
from typing import Any

log = logging.getLogger("herd.toolcalls")


def check(arguments: dict[str, Any], schema: dict[str, Any] | None) -> tuple[dict[str, Any] | None, str | None]:
    """(arguments that fit the schema, None), or (None, why they do not)."""
    schema = schema or {"type": "object"}
    problem = _problem(arguments, schema)
    if problem is None:
        return arguments, None
    mended = _mend(arguments, schema)
    if mended != arguments and _problem(mended, schema) is None:
        return mended, None
    return None, problem


def _problem(arguments: dict[str, Any], schema: dict[str, Any]) -> str | None:
    import jsonschema  # imported when first needed: the package stays light to import

    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    except jsonschema.exceptions.SchemaError as exc:  # the client's schema, not the model's call, is wrong
        log.warning("tool schema is not valid JSON Schema, arguments left unchecked: %s", exc.message)
        return None
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message} (at '{where}')" if where else error.message


def _mend(arguments: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    mended: dict[str, Any] = {}
    for key, value in arguments.items():
        types = _types(properties.get(key))
        if value is None and key not in required and types and "null" not in types:
            continue
        mended[key] = _mend_value(value, types)
    return mended


def _types(prop: Any) -> set[str]:
    if not isinstance(prop, dict):
        return set()
    kind = prop.get("type")
    return set(kind) if isinstance(kind, list) else {kind} if isinstance(kind, str) else set()


def _mend_value(value: Any, types: set[str]) -> Any:
    if isinstance(value, str) and not types & {"string"}:
        text = value.strip()
        if "boolean" in types and text.lower() in ("true", "false"):
            return text.lower() == "true"
        if "integer" in types and text.lstrip("+-").isdigit():
            return int(text)
        if "number" in types:
            try:
                number = float(text)
            except ValueError:
                return value
            return number if math.isfinite(number) else value
    if isinstance(value, int) and not isinstance(value, bool) and types == {"string"}:
        return str(value)
    return value
