"""`herd docs add|search|list|stats|rm`: documents in a vector store of a running Herd server."""

import enum
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from herd.cli.options import DEFAULT_URL, ApiKeyOption, UrlOption
from herd.cli.table import table

if TYPE_CHECKING:
    from herd.apps.docs.ingest import Summary

app = typer.Typer(help="Documents in a vector store: add (synced by content hash), search, list, stats, rm.")
StoreOption = Annotated[str, typer.Option("--store", "-s", help="The vector store's name.")]


class Mode(enum.StrEnum):
    vector = "vector"
    keyword = "keyword"
    hybrid = "hybrid"


@app.command("add")
def add(
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders (recursive, .gitignore obeyed), glob patterns or file:// URLs.")
    ],
    store: StoreOption,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Add files to a store (created if missing): new files are added, changed ones replaced, the rest skipped.

    Exits 1 if any file failed, after trying all the others.
    """
    from herd.apps.docs.client import StoreClient
    from herd.apps.docs.ingest import sync
    from herd.apps.docs.walk import expand
    from herd.cli.progress import IngestProgress

    found = expand(paths)
    client = StoreClient(url)
    target = client.find_store(store)
    if target is None:
        target = client.create_store(store)
        typer.echo(f"created vector store {store} ({target['id']})", err=True)
    started = time.monotonic()
    with IngestProgress(len(found.files)) as progress:
        summary = sync(client, target["id"], found.files, progress.update)
    summary.skipped.extend((str(path), why) for path, why in found.ignored)
    _print_summary(summary, time.monotonic() - started)
    if summary.failed:
        raise typer.Exit(1)


def _print_summary(summary: "Summary", seconds: float) -> None:
    """A line per file added, updated, failed or left out (not per unchanged file), then the counts."""
    for word, items in (("added", summary.added), ("updated", summary.updated)):
        for path in items:
            typer.echo(f"{word:8} {_shown(path)}")
    from herd.apps.docs.ingest import UNCHANGED

    for word, pairs in (("skipped", summary.skipped), ("failed", summary.failed)):
        for path, why in pairs:
            if why != UNCHANGED:
                typer.echo(f"{word:8} {_shown(path)}: {why}")
    typer.echo(
        f"{len(summary.added)} added, {len(summary.updated)} updated, {len(summary.skipped)} skipped, "
        f"{len(summary.failed)} failed; {summary.chunks} chunks in {seconds:.1f} s"
        + (f" ({summary.chunks / seconds:.1f} chunks/s)" if summary.chunks and seconds > 0 else "")
    )


def _shown(path: str) -> str:
    """A path relative to the working folder when it is inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    store: StoreOption,
    k: Annotated[int, typer.Option("-k", help="How many chunks to show.", min=1)] = 5,
    mode: Annotated[
        Mode, typer.Option(help="hybrid (meaning and words, as the server does), vector or keyword.")
    ] = Mode.hybrid,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Search a store: the best chunks with their file, location and score (0-1)."""
    from herd.apps.docs.client import StoreClient

    client = StoreClient(url)
    hits = client.search(client.store(store)["id"], query, k, mode.value)
    if not hits:
        typer.echo(f"nothing in {store} matches {query!r}")
    for rank, hit in enumerate(hits, 1):
        attributes = hit.get("attributes") or {}
        where = attributes.get("location") or "-"
        typer.echo(f"{rank}. {hit.get('filename') or attributes.get('filename')}  {where}  {hit['score']:.3f}")
        typer.echo(f"   {_snippet(hit)}")


def _snippet(hit: dict[str, Any], width: int = 200) -> str:
    text = " ".join(" ".join(part.get("text", "") for part in hit.get("content") or []).split())
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


@app.command("list")
def list_files(store: StoreOption, url: UrlOption = DEFAULT_URL, api_key: ApiKeyOption = None) -> None:
    """List the files of a store: path, status, chunks and file id."""
    from herd.apps.docs.client import StoreClient

    client = StoreClient(url)
    store_id = client.store(store)["id"]
    files = client.files(store_id)
    if not files:
        typer.echo(f"{store} has no files; add some with `herd docs add PATH --store {store}`")
        return
    rows = [(_name(f), f["status"], _chunks(client, store_id, f), f["id"]) for f in files]
    typer.echo(table(("PATH", "STATUS", "CHUNKS", "ID"), sorted(rows)))


def _name(record: dict[str, Any]) -> str:
    attributes = record.get("attributes") or {}
    return _shown(str(attributes["path"])) if "path" in attributes else str(attributes.get("filename") or "-")


def _chunks(client: Any, store_id: str, record: dict[str, Any]) -> int | str:
    return client.chunk_count(store_id, record["id"]) if record["status"] == "completed" else "-"


@app.command("stats")
def stats(store: StoreOption, url: UrlOption = DEFAULT_URL, api_key: ApiKeyOption = None) -> None:
    """Counts of a store: files by status, chunks, and bytes of the uploads."""
    from herd.apps.docs.client import StoreClient

    client = StoreClient(url)
    target = client.store(store)
    files = client.files(target["id"])
    uploads = client.uploads()
    counts = target["file_counts"]
    chunks = sum(client.chunk_count(target["id"], f["id"]) for f in files if f["status"] == "completed")
    size = sum(uploads.get(f["id"], {}).get("bytes", 0) for f in files)
    typer.echo(f"store      {store} ({target['id']})")
    typer.echo("files      " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("completed", "failed", "in_progress")))
    typer.echo(f"chunks     {chunks}")
    typer.echo(f"bytes      {size}")


@app.command("rm")
def remove(
    targets: Annotated[list[str], typer.Argument(help="Paths (a folder means every file under it) or file ids.")],
    store: StoreOption,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Remove files from a store, with their uploads. Exits 1 if a target matches no file of the store."""
    from herd.apps.docs.client import StoreClient

    client = StoreClient(url)
    store_id = client.store(store)["id"]
    files = client.files(store_id)
    missing = []
    for target in targets:
        matched = _matching(files, target)
        missing += [] if matched else [target]
        for record in matched:
            client.detach(store_id, record["id"])
            typer.echo(f"removed  {_name(record)} ({record['id']})")
        files = [f for f in files if f not in matched]
    for target in missing:
        typer.echo(f"herd: {target} is not in {store}; see `herd docs list --store {store}`", err=True)
    if missing:
        raise typer.Exit(1)


def _matching(files: list[dict[str, Any]], target: str) -> list[dict[str, Any]]:
    by_id = [f for f in files if f["id"] == target]
    if by_id:
        return by_id
    from herd.apps.docs.walk import absolute

    path = absolute(target)
    return [f for f in files if _under(str((f.get("attributes") or {}).get("path", "")), path)]


def _under(stored: str, path: Path) -> bool:
    return bool(stored) and (stored == str(path) or Path(stored).is_relative_to(path))
