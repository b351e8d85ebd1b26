"""Ingest progress on stderr: a bar on a terminal, one line per file otherwise (logs, CI)."""

import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:  # the ingest module brings httpx, which `herd --help` must not load
    from herd.apps.docs.ingest import Progress


class IngestProgress:
    """A context manager whose ``update`` is the ingest's progress callback."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.tty = sys.stderr.isatty()
        self.bar: Any = None

    def __enter__(self) -> "IngestProgress":
        if self.tty:
            self.bar = typer.progressbar(
                length=self.total, label="files", file=sys.stderr, show_pos=True, item_show_func=_describe
            ).__enter__()
        return self

    def update(self, progress: "Progress") -> None:
        steps, self.done = progress.files_done - self.done, progress.files_done
        if self.bar is not None:
            self.bar.current_item = progress  # typer's vendored click takes no item in update()
            self.bar.update(steps)
        elif steps:
            typer.echo(f"{progress.files_done}/{progress.files_total} files  {_describe(progress)}", err=True)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self.bar is not None:
            self.bar.__exit__(kind, error, tb)


def _describe(progress: "Progress | None") -> str:
    if progress is None:
        return ""
    return f"{progress.chunks} chunks, {progress.chunks_per_second:.1f} chunks/s"
