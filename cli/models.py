"""`herd models`: list the catalog, add or remove your own GGUF files, prepare split weights, pull into Ollama."""

import re
from pathlib import Path
from typing import Annotated

import typer

from herd.cli.table import table
from herd.distribution import catalog, weights
from herd.errors import ConfigError, ModelNotAvailable

app = typer.Typer(help="List, add, remove, prepare and pull (into Ollama) models.", no_args_is_help=True)

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def status(entry: catalog.ModelEntry) -> str:
    if entry.weights_path() is not None:
        return "installed"
    if entry.parts and all(part.locate() for part in entry.parts):
        return "not joined yet"
    return "missing"


@app.command("list")
def list_models() -> None:
    """List every model: built-in ones and those added with `herd models add` (origin: user)."""
    rows = [
        (
            f"herd/{e.id}",
            e.model_type,
            e.engine,
            f"{e.size_bytes / 1e6:.0f}",
            e.context_length,
            ",".join(e.capabilities),
            status(e),
            "user" if e.user_added else "built-in",
        )
        for e in catalog.all_models()
    ]
    headers = ("ID", "TYPE", "ENGINE", "SIZE_MB", "CONTEXT", "CAPABILITIES", "STATUS", "ORIGIN")
    typer.echo(table(headers, rows))
    if any(row[6] == "not joined yet" for row in rows):
        typer.echo("\nrun `herd models prepare` to join the split weights of models that are not joined yet")


@app.command("add")
def add(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="A .gguf model file; it stays where it is.")],
    model_id: Annotated[str, typer.Option("--id", help="Name to serve it under (as herd/NAME).")],
    template: Annotated[
        str,
        typer.Option(help=f"Chat template: gguf (the file's own) or one of: {', '.join(catalog.template_names())}."),
    ] = "gguf",
    context_length: Annotated[
        int | None, typer.Option(help="Context window (default: what the GGUF declares).", min=256)
    ] = None,
) -> None:
    """Add your own GGUF chat model to the catalog."""
    if not _ID.fullmatch(model_id):
        raise ConfigError(
            f"model id '{model_id}' is not usable; use letters, digits, '.', '_' or '-' (no 'herd/' prefix)"
        )
    entry = catalog.add_user_model(path, model_id, template, context_length)
    typer.echo(
        f"added herd/{entry.id}: {entry.description} ({entry.size_bytes / 1e6:.0f} MB, "
        f"context {entry.context_length}, template {entry.chat_template}, {', '.join(entry.capabilities)})"
    )
    typer.echo(
        f"to serve it, add '{entry.id}' to the `models:` list of the inline::herd-embedded provider in a run "
        "config (e.g. the run.yaml written by `herd build embedded`) and start it with `herd run PATH/run.yaml`"
    )


@app.command("rm")
def remove(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Id of a model added with `herd models add`.")],
) -> None:
    """Remove a model you added (its file is left alone)."""
    model_id = name.removeprefix("herd/")
    catalog.remove_user_model(model_id)
    typer.echo(f"removed herd/{model_id}; also drop it from any run config that lists it")


@app.command("prepare")
def prepare(
    model_id: Annotated[
        str | None, typer.Argument(metavar="ID", help="Model to prepare (default: every built-in model).")
    ] = None,
) -> None:
    """Join split weights into $HERD_HOME/models and check every weights file's sha256."""
    entries = [catalog.get_model(model_id)] if model_id else list(catalog.BUILTIN)
    for entry in entries:
        prepare_one(entry)


def prepare_one(entry: catalog.ModelEntry) -> None:
    if entry.parts and entry.weights_path() is not None:
        typer.echo(f"checking the sha256 of {entry.id} ...")
        check = weights.verify(entry)
        if check.ok:
            typer.echo(f"OK   {entry.id}: {check.detail}")
            return
        typer.echo(f"{check.detail.split(';')[0]}; joining it again", err=True)
        entry.joined_path.unlink()
    if entry.parts:
        with typer.progressbar(length=entry.size_bytes, label=f"joining {entry.id}") as bar:
            path = weights.prepare(entry, bar.update)
        typer.echo(f"OK   {entry.id}: {path} sha256 ok")
        return
    check = weights.verify(entry)
    if not check.ok:
        raise ModelNotAvailable(check.detail)
    typer.echo(f"OK   {entry.id}: {check.detail}")


@app.command("pull")
def pull(
    name: Annotated[str, typer.Argument(metavar="NAME", help="An Ollama model name, e.g. llama3.2-vision.")],
    url: Annotated[
        str, typer.Option("--url", envvar="OLLAMA_URL", help="The Ollama server (not Herd's) to pull into.")
    ] = "http://localhost:11434",
) -> None:
    """Pull a model into Ollama (its /api/pull), with progress; the `ollama` distribution serves it as ollama/NAME."""
    from herd.cli.ollama import PullProgress, pull_events

    progress = PullProgress()
    try:
        for event in pull_events(url, name):
            progress.show(event)
    finally:
        progress.close()
    typer.echo(f"pulled {name} into Ollama at {url.rstrip('/')}; ask for it as ollama/{name}")
