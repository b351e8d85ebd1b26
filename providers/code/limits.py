"""The limits every sandboxed call runs under; the tools provider's config fills them in."""

from pydantic import BaseModel, ConfigDict, Field

MiB = 2**20


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    wall_seconds: float = Field(default=20.0, gt=0, le=600, description="Wall-clock time per call.")
    cpu_seconds: int = Field(
        default=10, ge=1, le=600, description="CPU time per call: of each process (rlimit) and of all together."
    )
    memory_bytes: int = Field(
        default=1024 * MiB,
        ge=64 * MiB,
        description="Memory per call: each process's address space (rlimit), and all processes' memory together.",
    )
    processes: int = Field(default=32, ge=1, le=1024, description="Processes and threads the code may run at once.")
    output_bytes: int = Field(default=64 * 1024, ge=1024, description="Kept of stdout and of stderr each.")
    file_bytes: int = Field(default=16 * MiB, ge=1024, description="Largest file the code may write.")
    scratch_bytes: int = Field(default=64 * MiB, ge=MiB, description="Size of the scratch directory (a tmpfs).")
    tmp_bytes: int = Field(default=16 * MiB, ge=MiB, description="Size of /tmp (a tmpfs).")
    return_bytes: int = Field(default=32 * MiB, ge=MiB, description="Most file data returned from one call.")
    max_files: int = Field(default=20, ge=0, description="Most files returned from one call.")
    inline_bytes: int = Field(default=16 * 1024, ge=0, description="Text files up to this size come back inline.")

    def boot_settings(self) -> dict[str, int]:
        return {
            "cpu_seconds": self.cpu_seconds,
            "memory_bytes": self.memory_bytes,
            "file_bytes": self.file_bytes,
            "processes": self.processes,
        }
