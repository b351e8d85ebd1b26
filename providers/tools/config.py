"""Configuration of Herd's built-in tools provider (tool group ``herd::builtin``)."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

BUILTIN_NAMES = ("calculator", "current_time", "convert_time", "convert_units", "create_invite")


class ToolsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tools: list[str] = Field(default_factory=lambda: list(BUILTIN_NAMES), description="The built-in tools to serve.")

    @field_validator("tools")
    @classmethod
    def _known(cls, tools: list[str]) -> list[str]:
        unknown = [t for t in tools if t not in BUILTIN_NAMES]
        if unknown:
            raise ValueError(f"unknown built-in tools {unknown}; the built-in tools are {', '.join(BUILTIN_NAMES)}")
        return tools

    @classmethod
    def sample_run_config(cls, **_: Any) -> dict[str, Any]:
        return {}
