"""`herd run`: start a distribution's server."""

import os
from pathlib import Path
from typing import Annotated

import typer

from herd.distribution.lifecycle import DRAIN_SECONDS, HTTP_PRIORITY
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
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key",
            help="Require this bearer key (NAME=KEY names its owner); repeatable. Also HERD_API_KEYS, "
            "`herd keys create` and the run config's herd.auth.",
        ),
    ] = None,
    drain_seconds: Annotated[
        float, typer.Option(help="On SIGTERM, how long requests in flight may take to finish.", min=0)
    ] = DRAIN_SECONDS,
    http_priority: Annotated[
        int,
        typer.Option(
            help="Nice levels the threads that answer HTTP run above the models' compute threads, so a token "
            "is handed on at once on busy cores (0 turns it off; needs CAP_SYS_NICE, as root has).",
            min=0,
            max=20,
        ),
    ] = HTTP_PRIORITY,
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
    stack_config = runconfig.load(path)
    runconfig.validate(stack_config)
    if agents:
        from herd.apps.agents.library import load_agents

        dirs = [str(d.resolve()) for d in agents]
        os.environ["HERD_AGENTS_DIRS"] = ":".join(filter(None, [os.environ.get("HERD_AGENTS_DIRS"), *dirs]))
        load_agents()  # a bad definition fails here, with its file and field
    from llama_stack.core.stack import replace_env_vars

    from herd.distribution.keys import AuthSettings, KeyRing, env_keys, from_strings

    keys = [*(api_key or []), *env_keys()]
    auth = AuthSettings.model_validate((replace_env_vars(stack_config).get("herd") or {}).get("auth") or {})
    ring = KeyRing(auth, from_strings(keys))  # a malformed key fails here, before the model loads
    if host not in LOOPBACK and not ring.enabled:
        typer.echo(EXPOSED.format(host=host), err=True)
    typer.echo(f"herd: serving {path} on http://{host}:{port}", err=True)
    serve(path, host, port, max_request_bytes, keys, drain_seconds, http_priority)


LOOPBACK = ("127.0.0.1", "::1", "localhost")
EXPOSED = """
herd: WARNING ****************************************************************
herd: WARNING  Listening on {host} with NO API KEY: anyone who can reach this
herd: WARNING  address can run models, read conversations and files, and run
herd: WARNING  code. Add a key (herd run --api-key ..., HERD_API_KEYS, or
herd: WARNING  `herd keys create NAME`), or bind to 127.0.0.1.
herd: WARNING ****************************************************************
"""
