"""What the chat UI renders, as plain data: the contract between the client seam and the widgets.

A reply is a stream of ``ReplyEvent``: text deltas, tool calls (once when they start and
once when they end, with the same ``call_id``), ``ApprovalRequest``s (calls with side
effects the server holds until the user decides), then one ``Finished`` (with citations
and timings), ``Blocked`` (a shield refused the input or the output) or ``Failed``.
Nothing here imports an SDK or Textual.
"""

from dataclasses import dataclass, field
from typing import Literal

ErrorKind = Literal["down", "missing", "refused", "failed"]


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    """A tool call the server ran; ``done`` is False while it runs."""

    call_id: str
    name: str
    arguments: str = ""
    output: str = ""
    error: str | None = None
    done: bool = False
    duration_s: float | None = None
    server: str | None = None  # the MCP server label, for MCP calls


@dataclass(frozen=True)
class ApprovalRequest:
    """A tool call with side effects that the server runs only once the user approves it.

    The reply that asks ends (``Finished``) with the call not run; the user's ``Decision``s
    go back with ``ChatClient.decide``, whose reply runs the approved calls.
    """

    request_id: str
    name: str
    arguments: str = ""
    server: str = ""  # the MCP server label

    @property
    def label(self) -> str:
        return f"{self.server}.{self.name}" if self.server else self.name


@dataclass(frozen=True)
class Decision:
    request: ApprovalRequest
    approve: bool
    reason: str = ""  # why it was denied, told to the model


@dataclass(frozen=True)
class Citation:
    file_id: str
    filename: str
    passages: tuple[str, ...] = ()  # the retrieved chunks of this file the answer drew on


@dataclass(frozen=True)
class Finished:
    response_id: str
    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    ttft_s: float | None = None  # request sent to first token shown
    total_s: float = 0.0
    citations: tuple[Citation, ...] = ()
    stopped: bool = False  # the user stopped it; ``text`` is the partial answer

    @property
    def tokens_per_s(self) -> float | None:
        """Output tokens over the time after the first token (the decode rate the user saw)."""
        if not self.output_tokens or self.ttft_s is None or self.total_s <= self.ttft_s:
            return None
        return self.output_tokens / (self.total_s - self.ttft_s)


@dataclass(frozen=True)
class ShieldVerdict:
    shield: str
    stage: str  # "input", "output", "tool_result", ...
    categories: tuple[str, ...]  # as shown: "S2 Non-Violent Crimes"
    reason: str = ""


@dataclass(frozen=True)
class Blocked:
    """A shield refused the request (``stage`` "input") or the reply (``"output"``)."""

    message: str
    verdicts: tuple[ShieldVerdict, ...] = ()

    @property
    def stage(self) -> str:
        return self.verdicts[0].stage if self.verdicts else "input"


@dataclass(frozen=True)
class Failed:
    message: str
    kind: ErrorKind = "failed"


ReplyEvent = TextDelta | ToolCall | ApprovalRequest | Finished | Blocked | Failed


# -- what the server has -------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Per-conversation settings, kept in the conversation's metadata on the server."""

    model: str | None = None  # a model id, or "agent:<name>"
    instructions: str = ""
    temperature: float | None = None


@dataclass(frozen=True)
class ConversationInfo:
    id: str
    title: str
    created_at: int = 0
    settings: Settings = field(default_factory=Settings)


@dataclass(frozen=True)
class Target:
    """Something a message can go to: a model or an agent (``id`` "agent:<name>")."""

    id: str
    kind: Literal["model", "agent"]
    description: str = ""


@dataclass(frozen=True)
class Attachment:
    name: str
    mime: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class HistoryItem:
    """A message of a stored conversation, a tool call it made, or a call that asked for approval."""

    role: Literal["user", "assistant", "tool"]
    text: str
    images: tuple[str, ...] = ()  # what the user attached, by name where known
    tool: ToolCall | None = None
    refusal: bool = False
    approval: ApprovalRequest | None = None
    decision: Decision | None = None  # the user's answer to ``approval``; None while unanswered
