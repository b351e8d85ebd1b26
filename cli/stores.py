"""`herd stores list|create|rm`: the vector stores of a running Herd server, by name."""

from typing import Annotated

import typer

from herd.cli.options import DEFAULT_URL, ApiKeyOption, UrlOption
from herd.cli.table import table

app = typer.Typer(help="Vector stores of a running Herd server: list, create and remove them by name.")


@app.command("list")
def list_stores(url: UrlOption = DEFAULT_URL, api_key: ApiKeyOption = None) -> None:
    """List the server's vector stores with their file counts."""
    from herd.apps.docs.client import StoreClient

    stores = StoreClient(url).stores()
    if not stores:
        typer.echo("no vector stores; create one with `herd stores create NAME` or `herd docs add PATH --store NAME`")
        return
    rows = [(s.get("name") or "-", _counts(s["file_counts"]), s["id"]) for s in stores]
    typer.echo(table(("NAME", "FILES", "ID"), rows))


def _counts(counts: dict[str, int]) -> str:
    extra = [f"{counts[k]} {k}" for k in ("failed", "in_progress") if counts.get(k)]
    return str(counts.get("completed", 0)) + (f" ({', '.join(extra)})" if extra else "")


@app.command("create")
def create_store(
    name: Annotated[str, typer.Argument(help="The store's name.")],
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Create an empty vector store called NAME (a name already taken is refused)."""
    from herd.apps.docs.client import StoreClient
    from herd.errors import InvalidRequest

    client = StoreClient(url)
    if client.find_store(name) is not None:
        raise InvalidRequest(f"a vector store named {name!r} exists already; see `herd stores list`")
    store = client.create_store(name)
    typer.echo(f"created vector store {name} ({store['id']})")


@app.command("rm")
def remove_store(
    name: Annotated[str, typer.Argument(help="The store's name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    keep_uploads: Annotated[bool, typer.Option(help="Keep the uploaded files the store indexed.")] = False,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
) -> None:
    """Remove the vector store called NAME, its chunks and (unless --keep-uploads) the uploads it indexed."""
    from herd.apps.docs.client import StoreClient

    client = StoreClient(url)
    store = client.store(name)
    files = client.files(store["id"])
    if not yes:
        typer.confirm(f"remove vector store {name} and its {len(files)} files?", abort=True)
    client.delete_store(store["id"])
    if not keep_uploads:
        for record in files:
            client.delete_upload(record["id"])
    typer.echo(f"removed vector store {name} ({store['id']}, {len(files)} files)")
