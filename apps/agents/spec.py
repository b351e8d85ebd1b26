"""The schema of an agent definition (one YAML file per agent).

An agent is a name for a Responses request: instructions, a model with a routing
policy, server-side tools, shields, a turn limit and optionally a JSON-schema
output. Clients use it by sending ``model: "agent:NAME"``; the server fills in
the rest before llama-stack's Responses loop runs it.
"""

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from herd.distribution.shield_policy import AgentShields

PolicyMode = Literal["local-only", "prefer-local", "allow-remote"]


class FileSearchTool(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["file_search"]
    vector_stores: list[str] = Field(min_length=1, description="Vector store names or ids to search.")
    max_num_results: int = Field(default=5, ge=1, le=50)


class McpTool(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["mcp"]
    server_label: str
    server_url: str = Field(
        description="The MCP server's streamable-HTTP or SSE URL; `${env.NAME}` is expanded; `herd://<tool group>` "
        "is a tool group of this Herd server (herd://herd::builtin, herd://herd::mcp/<server>)."
    )
    allowed_tools: list[str] | None = None


class CodeInterpreterTool(BaseModel):
    """Python in Herd's sandbox, as the Responses API's code_interpreter tool."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["code_interpreter"]


class WebSearchTool(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["web_search"]


ToolSpec = FileSearchTool | McpTool | WebSearchTool | CodeInterpreterTool


class ContentRules(BaseModel):
    """What may leave this machine: the policy and the rules on a request's content."""

    model_config = ConfigDict(extra="forbid")

    policy: PolicyMode = Field(
        default="prefer-local",
        description="local-only: never a remote provider. prefer-local: the first local candidate, else a remote "
        "one the content rules allow. allow-remote: the first candidate the content rules allow.",
    )
    images_remote: bool = Field(default=False, description="May images go to a remote provider?")
    files_remote: bool = Field(default=False, description="May file contents (file_search results) go remote?")
    local_only_tools: list[str] = Field(
        default_factory=list, description="Tools whose use keeps the whole request on local providers."
    )


class RoutingPolicy(ContentRules):
    """An agent's routing: its content rules and the models to try after its own."""

    fallbacks: list[str] = Field(default_factory=list, description="Models to try after `model`, in order.")


class AgentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Lowercase letters, digits and dashes; clients use `agent:<name>`.")
    description: str = ""
    instructions: str
    model: str = Field(description="The preferred model id, as `herd models list` / GET /v1/models shows it.")
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_choice: Literal["auto", "required", "none"] = Field(
        default="auto",
        description="`required`: the first step must call a tool (later steps choose freely). Small models "
        "that answer from memory instead of looking a fact up need it.",
    )
    shields: list[str] | AgentShields = Field(
        default_factory=list,
        description="Shield ids on input and output, or per place: `input`, `output`, `tool_results`, `on_error`.",
    )
    max_turns: int = Field(default=5, ge=1, le=50, description="Inference rounds per request (tool calls included).")
    temperature: float | None = Field(default=None, ge=0, le=2)
    output_schema: dict[str, Any] | None = Field(
        default=None, description="A JSON schema the final answer must follow (structured output)."
    )
    routing: RoutingPolicy = Field(default_factory=RoutingPolicy)

    @field_validator("name")
    @classmethod
    def _slug(cls, name: str) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", name):
            raise ValueError(f"agent name '{name}' must be lowercase letters, digits and dashes (e.g. 'chart-reader')")
        return name

    @property
    def shield_policy(self) -> AgentShields:
        if isinstance(self.shields, AgentShields):
            return self.shields
        return AgentShields(input=self.shields, output=self.shields)

    @property
    def candidates(self) -> list[str]:
        return [self.model, *[m for m in self.routing.fallbacks if m != self.model]]
