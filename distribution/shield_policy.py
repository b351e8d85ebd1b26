"""Where shields run: the server's policy (``herd.shields`` in the run config) and an agent's.

Server-wide shields apply to every chat and Responses request; an agent adds its own.
``on_error`` says what happens when a shield cannot judge (its backend is down):
``closed`` (the default) refuses the request, ``open`` lets it through and says so in
the reply's ``herd_shields``. A stream is held back until a sentence or paragraph ends,
or ``max_hold_chars`` characters are waiting, then checked and released.
"""

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ShieldPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: list[str] = Field(default_factory=list, description="Shields on user messages (text and images).")
    output: list[str] = Field(default_factory=list, description="Shields on the model's replies, streamed or not.")
    tool_results: list[str] = Field(
        default_factory=list,
        description="Shields on tool results and retrieved file_search chunks before the model reads them.",
    )
    on_error: Literal["closed", "open"] = "closed"
    max_hold_chars: int = Field(
        default=300, ge=20, le=4000, description="The most streamed text held back while a sentence is unfinished."
    )

    @property
    def active(self) -> bool:
        return bool(self.input or self.output or self.tool_results)


class AgentShields(BaseModel):
    """An agent's shields: added to the server's, with its own ``on_error`` if set."""

    model_config = ConfigDict(extra="forbid")

    input: list[str] = Field(default_factory=list)
    output: list[str] = Field(default_factory=list)
    tool_results: list[str] = Field(default_factory=list)
    on_error: Literal["closed", "open"] | None = None


def combine(server: ShieldPolicy, agent: AgentShields | None, guardrails: Sequence[str] = ()) -> ShieldPolicy:
    """The policy of one request: the server's, the agent's, and a request's ``guardrails`` (input and output)."""
    agent = agent or AgentShields()

    def union(*lists: list[str]) -> list[str]:
        return list(dict.fromkeys(s for shields in lists for s in shields))

    return ShieldPolicy(
        input=union(server.input, agent.input, list(guardrails)),
        output=union(server.output, agent.output, list(guardrails)),
        tool_results=union(server.tool_results, agent.tool_results),
        on_error=agent.on_error or server.on_error,
        max_hold_chars=server.max_hold_chars,
    )
