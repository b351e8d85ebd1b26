"""The reader's result types: plain data, shared by the parser, the stream reader and the providers."""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Candidate:
    """One call as written: its arguments when they could be read, else the problem."""

    name: str | None
    arguments: Any
    problem: str | None
    raw: str


@dataclass(frozen=True)
class InvalidCall:
    """A call to a declared function that cannot be used as written, and why."""

    name: str | None
    arguments: str
    reason: str


@dataclass(frozen=True)
class Normalised:
    """A reply read for tool calls.

    ``content`` is the prose around the calls (None when there is none); ``calls`` are
    OpenAI-shaped tool calls whose arguments fit their schema; ``invalid`` the calls
    that do not; ``text`` the reply exactly as the model wrote it; ``stray`` the names
    of undeclared functions the reply calls in JSON (held out of ``content``: a call
    written out is no answer).
    """

    content: str | None
    calls: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[InvalidCall] = field(default_factory=list)
    text: str = ""
    stray: list[str] = field(default_factory=list)
