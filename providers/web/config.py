"""Configuration of Herd's web provider (tool group ``herd::web``), which no distribution enables by default."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WebConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allow_private: bool = Field(
        default=False, description="Let fetch_page reach loopback and private addresses (off: a guard against SSRF)."
    )

    @classmethod
    def sample_run_config(cls, **_: Any) -> dict[str, Any]:
        return {}
