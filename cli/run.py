"""`herd run`: start a distribution's server."""

import os
from pathlib import Path
from typing import Annotated

import typer

from herd.distribution.server import MAX_REQUEST_BYTES


def run(
    target: Annotated[
        str | None,
        typer.Argument(help="A distribution name (see `herd distributions list`) or a run-config file."),
    ] = None,
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8321,
    host: Annotated[
        str, typer.Option(help="Address to bind (keep 127.0.0.1 unless you add authentication).")
    ] = "127.0.0.1",
    max_request_bytes: Annotated[
        int, typer.Option(help="Largest request body accepted; larger ones get 413.", min=1024)
    ] = MAX_REQUEST_BYTES,
    agents: Annotated[
        list[Path] | None,
        typer.Option(
            "--agents",
            exists=True,
            file_okay=False,
            help="A folder of agent definitions (*.yaml) to serve too; repeatable.",
        ),
    ] = None,
) -> None:
    """Start the server for a distribution (default: the embedded one in run.yaml)."""
    from herd.distribution import runconfig
    from herd.distribution.server import serve

    path = runconfig.resolve(target)
    runconfig.validate(runconfig.load(path))
    if agents:
        from herd.apps.agents.library import load_agents

        dirs = [str(d.resolve()) for d in agents]
        os.environ["HERD_AGENTS_DIRS"] = ":".join(filter(None, [os.environ.get("HERD_AGENTS_DIRS"), *dirs]))
        load_agents()  # a bad definition fails here, with its file and field
    typer.echo(f"herd: serving {path} on http://{host}:{port}", err=True)
    serve(path, host, port, max_request_bytes)
