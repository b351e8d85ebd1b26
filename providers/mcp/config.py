"""Configuration of Herd's MCP client provider (tool group ``herd::mcp``): the MCP servers it runs or reaches."""

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


class McpServer(BaseModel):
    """One MCP server: a command Herd starts (stdio) or a URL it connects to (streamable HTTP)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Lowercase letters, digits and dashes; tools appear as `<name>__<tool>`.")
    command: list[str] | None = Field(default=None, description="The server's command line (stdio transport).")
    url: str | None = Field(default=None, description="The server's streamable-HTTP URL.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment for a stdio server.")
    cwd: str | None = Field(default=None, description="Working directory of a stdio server.")
    timeout_seconds: float = Field(default=30.0, gt=0, le=3600, description="Longest a call may take.")
    requires_approval: list[str] | Literal["side-effects", "all", "none"] = Field(
        default="side-effects",
        description="Tools whose calls wait for a user's approval: a list of tool names, `all`, `none`, or "
        "`side-effects` (those the server does not mark read-only).",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not NAME.match(name):
            raise ValueError(f"{name!r}: use lowercase letters, digits and dashes, starting with a letter")
        return name

    @model_validator(mode="after")
    def _one_transport(self) -> "McpServer":
        if (self.command is None) == (self.url is None):
            raise ValueError(f"MCP server {self.name!r}: give exactly one of `command` (stdio) or `url` (HTTP)")
        if self.command is not None and not self.command:
            raise ValueError(f"MCP server {self.name!r}: `command` is empty")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"MCP server {self.name!r}: `url` must be http:// or https://")
        return self


class McpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    servers: list[McpServer] = Field(default_factory=list)
    restarts_per_minute: int = Field(default=5, ge=0, description="Restarts of one server before it is reported down.")

    @field_validator("servers")
    @classmethod
    def _unique(cls, servers: list[McpServer]) -> list[McpServer]:
        names = [s.name for s in servers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"MCP server names must be unique; {', '.join(twice)} appear more than once")
        return servers

    @classmethod
    def sample_run_config(cls, **_: Any) -> dict[str, Any]:
        return {"servers": []}
