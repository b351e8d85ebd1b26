"""Configuration of Herd's code provider (tool group ``herd::code``): the sandbox's limits."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from herd.providers.code.limits import Limits


class CodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limits: Limits = Field(default_factory=Limits)
    allow_weaker_isolation: bool = Field(
        default=False,
        description="Where bubblewrap is missing, run code under resource limits only (no filesystem or network "
        "isolation) instead of refusing. Only for machines where every user of the server may run code as Herd.",
    )
    store_files: bool = Field(
        default=True, description="Put figures and large files written by code in the Files API (else inline base64)."
    )

    @classmethod
    def sample_run_config(cls, **_: Any) -> dict[str, Any]:
        return {}
