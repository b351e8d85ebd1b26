"""Sync local files into a vector store by content hash, one file at a time.

Each store file carries the attributes ``path`` (absolute) and ``sha256`` (of its bytes).
A file whose completed record has the same hash is skipped; a changed file is uploaded
and attached first and its old records are deleted after, so a search never finds the
file missing, and an interrupted run leaves at worst an extra record that the next run
removes. One file at a time because the server's embedder is the bottleneck.
"""

import hashlib
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .client import Refused, StoreClient


@dataclass
class Progress:
    files_done: int
    files_total: int
    chunks: int
    seconds: float
    current: str = ""

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Summary:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    chunks: int = 0  # chunks of the files added or updated in this run
    kept: dict[str, str] = field(default_factory=dict)  # path -> the id of its current record


ProgressCallback = Callable[[Progress], None]
UNCHANGED = "unchanged"  # the reason of a skipped file whose store copy is current


def sync(client: StoreClient, store_id: str, files: list[Path], on_progress: ProgressCallback | None = None) -> Summary:
    """Bring ``files`` into the store: add new ones, replace changed ones, skip unchanged ones."""
    records = _records_by_path(client.files(store_id))
    summary, started = Summary(), time.monotonic()
    for done, path in enumerate(files):
        if on_progress:
            on_progress(Progress(done, len(files), summary.chunks, time.monotonic() - started, str(path)))
        _sync_file(client, store_id, path, records.get(str(path), []), summary)
    _drop_duplicates(client, store_id, summary.kept)
    if on_progress:
        on_progress(Progress(len(files), len(files), summary.chunks, time.monotonic() - started))
    return summary


def _records_by_path(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_path: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        path = (record.get("attributes") or {}).get("path")
        if isinstance(path, str):
            by_path[path].append(record)
    return by_path


def _sync_file(client: StoreClient, store_id: str, path: Path, records: list[dict[str, Any]], summary: Summary) -> None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        summary.failed.append((str(path), f"cannot read it ({exc.strerror or exc})"))
        return
    digest = hashlib.sha256(data).hexdigest()
    current = [r for r in records if r["status"] == "completed" and _sha256(r) == digest]
    if current:
        _remove(client, store_id, [r for r in records if r is not current[0]])
        summary.skipped.append((str(path), UNCHANGED))
        summary.kept[str(path)] = current[0]["id"]
        return
    attached, why = _add(client, store_id, path, data, digest)
    if attached is None:
        summary.failed.append((str(path), why))
        return
    summary.chunks += client.chunk_count(store_id, attached["id"])
    _remove(client, store_id, records)
    summary.kept[str(path)] = attached["id"]
    (summary.updated if records else summary.added).append(str(path))


def _drop_duplicates(client: StoreClient, store_id: str, kept: dict[str, str]) -> None:
    """Remove records of synced paths other than their current one.

    A run killed during an attach leaves the server finishing it, so a run started
    meanwhile attaches the same file again; both commit, and this keeps one.
    """
    for path, records in _records_by_path(client.files(store_id)).items():
        if path in kept:
            _remove(client, store_id, [r for r in records if r["id"] != kept[path]])


def _add(client: StoreClient, store_id: str, path: Path, data: bytes, digest: str) -> tuple[dict[str, Any] | None, str]:
    """Upload and attach; a failure is undone so that the next run tries again, and comes back with why."""
    try:
        upload = client.upload(path, data)
    except Refused as exc:
        return None, str(exc)
    try:
        attached = client.attach(store_id, upload["id"], {"path": str(path), "sha256": digest})
    except Refused as exc:
        client.delete_upload(upload["id"])
        return None, str(exc)
    if attached["status"] == "completed":
        return attached, ""
    client.detach(store_id, attached["id"])
    return None, (attached.get("last_error") or {}).get("message") or f"the attach ended {attached['status']}"


def _remove(client: StoreClient, store_id: str, records: list[dict[str, Any]]) -> None:
    for record in records:
        client.detach(store_id, record["id"])


def _sha256(record: dict[str, Any]) -> str | None:
    value = (record.get("attributes") or {}).get("sha256")
    return value if isinstance(value, str) else None
