"""What a shield says about a piece of content: the types shared by the shields provider,
the server's screening layer and the CLI. Imports no provider and nothing heavy.

A conversation is checked as a list of ``Turn`` (role, text, images); the role of the
last turn says what is being judged (a user prompt, a model reply, a tool result).
"""

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["user", "assistant", "tool"]
ScoreSource = Literal["logprobs", "label", "model", "rules", "error"]


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str
    images: tuple[bytes, ...] = ()
    unread: int = 0  # images given by URL: shields read data URLs only


@dataclass
class Verdict:
    """One shield's judgement of the last turn of a conversation.

    ``score`` is the shield's probability that the content is unsafe (0-1):
    Llama Guard's from its first-token logprobs where the backend gives them
    (``score_source="logprobs"``), else 1.0/0.0 from its label (``"label"``).
    ``error`` means the shield could not judge; ``flagged`` then follows the
    caller's fail-open/fail-closed policy, not the content.
    """

    shield: str
    flagged: bool
    categories: list[str] = field(default_factory=list)
    reason: str = ""
    score: float = 0.0
    score_source: ScoreSource = "model"
    latency_ms: float = 0.0
    error: bool = False
    redacted: str | None = None  # the text with PII replaced, when the rules redacted something
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["score"] = round(self.score, 4)
        out["latency_ms"] = round(self.latency_ms, 3)
        if self.redacted is None:
            out.pop("redacted")
        return out

    def message(self) -> str:
        """What the user sees: which shield, which categories, why."""
        what = ", ".join(self.categories) or "unsafe content"
        return f"Blocked by shield '{self.shield}' ({what}): {self.reason}"
