"""Capped reading of a sandbox's pipes, and unpacking of the files it returned (trusting none of it)."""

import asyncio
import io
import mimetypes
import os
import tarfile
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from herd.providers.code.limits import Limits
from herd.providers.tools.spec import Attachment

if TYPE_CHECKING:
    from herd.providers.code.sandbox import SandboxResult

FIGURES = ".herd-figures"  # where sandbox_boot (which imports nothing of Herd) saves the figures
CHUNK = 65536


async def read_fd_capped(fd: int, cap: int, over: asyncio.Event | None = None) -> tuple[bytes, bool]:
    """Up to ``cap`` bytes from a pipe until its end, and whether there was more (then ``over`` is set,
    and the caller kills the sandbox). The rest is read and dropped: the writers end only once
    the pipe is drained or they are killed.
    """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=CHUNK)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    try:
        kept, cut = bytearray(), False
        while chunk := await reader.read(CHUNK):
            room = cap - len(kept)
            kept += chunk[: max(room, 0)]
            if len(chunk) > room and not cut:
                cut = True
                if over is not None:
                    over.set()
        return bytes(kept), cut
    finally:
        transport.close()


def _safe_name(name: str) -> str | None:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return str(path)


def unpack(data: bytes, cut: bool, limits: Limits, result: "SandboxResult") -> None:
    """Files and figures from the sandbox's tar stream into ``result``; anything malformed is noted and dropped."""
    if cut:
        result.notes.append(f"the files written exceed {limits.return_bytes} bytes; only the first are returned")
    if not data:
        return
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            members = [m for m in tar.getmembers() if m.isreg()]
            _collect(tar, members, limits, result)
    except (tarfile.TarError, EOFError, OSError) as exc:
        if not cut:
            result.notes.append(f"the files written could not be read back ({exc})")


def _collect(tar: tarfile.TarFile, members: list[tarfile.TarInfo], limits: Limits, result: "SandboxResult") -> None:
    skipped = 0
    for member in members:
        name = _safe_name(member.name)
        handle = tar.extractfile(member) if name else None
        if name is None or handle is None:
            continue
        if len(result.files) + len(result.images) >= limits.max_files:
            skipped += 1
            continue
        body = handle.read()
        if name.startswith(FIGURES + "/"):
            result.images.append(Attachment(name=PurePosixPath(name).name, mime="image/png", data=body))
        else:
            mime = mimetypes.guess_type(name)[0] or _sniff(body)
            result.files.append(Attachment(name=name, mime=mime, data=body))
    if skipped:
        result.notes.append(f"{skipped} more files were written; only {limits.max_files} are returned")


def _sniff(body: bytes) -> str:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"
