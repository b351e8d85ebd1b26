"""What a Herd tool is, apart from any provider: its name, parameters, side effects and result.

Tools are plain async callables taking validated keyword arguments. A bad argument raises
``ToolArgumentError``, whose message goes back to the model as the tool's result, so the
model can correct the call; it never becomes a server error.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from herd.errors import InvalidRequest


class ToolArgumentError(InvalidRequest):
    """A tool was called with arguments it cannot use; the message says which and what to send."""


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    type: str = "string"  # a JSON Schema type
    required: bool = True
    default: Any = None
    enum: tuple[str, ...] = ()
    items: str | None = None  # the JSON Schema type of an array's items


@dataclass(frozen=True)
class Attachment:
    """A file a tool produced: small text inline, anything else by bytes with its MIME type."""

    name: str
    mime: str
    data: bytes


@dataclass
class ToolOutput:
    text: str  # what the model reads
    data: dict[str, Any] | None = None  # the structured result, for clients
    attachments: list[Attachment] = field(default_factory=list)
    error: bool = False


@dataclass(frozen=True)
class HerdTool:
    name: str
    description: str
    params: tuple[Param, ...]
    run: Callable[..., Awaitable[ToolOutput]]
    side_effects: bool = False  # writes, sends or changes something outside the call
    requires_approval: bool = False

    def json_schema(self) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for p in self.params:
            prop: dict[str, Any] = {"type": p.type, "description": p.description}
            if p.enum:
                prop["enum"] = list(p.enum)
            if p.type == "array":
                prop["items"] = {"type": p.items or "string"}
            if not p.required and p.default is not None:
                prop["default"] = p.default
            properties[p.name] = prop
        required = [p.name for p in self.params if p.required]
        return {"type": "object", "properties": properties, "required": required}

    def check_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments with defaults filled in; unknown or missing ones raise ToolArgumentError."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            raise ToolArgumentError(
                f"{self.name} has no argument {', '.join(unknown)}; its arguments are {', '.join(known) or 'none'}"
            )
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name in arguments and arguments[p.name] is not None:
                out[p.name] = arguments[p.name]
            elif p.required:
                raise ToolArgumentError(f"{self.name} needs the argument {p.name!r}: {p.description}")
            else:
                out[p.name] = p.default
            if p.enum and out[p.name] is not None and out[p.name] not in p.enum:
                raise ToolArgumentError(
                    f"{self.name}: {p.name} must be one of {', '.join(p.enum)}, not {out[p.name]!r}"
                )
        return out
