"""Configuration of Herd's files provider: llama-stack's local-filesystem one, typos refused."""

from typing import Any

from llama_stack.providers.inline.files.localfs.config import LocalfsFilesImplConfig
from pydantic import ConfigDict


class HerdFilesConfig(LocalfsFilesImplConfig):
    """Uploaded files in ``storage_dir``, their records in the ``metadata_store`` sql table."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def sample_run_config(cls, __distro_dir__: str = "~/.herd/embedded", **_: Any) -> dict[str, Any]:
        return {
            "storage_dir": f"{__distro_dir__}/files",
            "metadata_store": {"table_name": "files_metadata", "backend": "sql_default"},
        }
