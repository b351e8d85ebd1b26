"""Options shared by the commands that talk to a running Herd server."""

import os
from typing import Annotated

import typer

DEFAULT_URL = "http://127.0.0.1:8321"
UrlOption = Annotated[str, typer.Option(help="The Herd server to use.")]


def _export_key(value: str | None) -> str | None:
    # The clients read HERD_API_KEY; a command's --api-key sets it for them.
    if value:
        os.environ["HERD_API_KEY"] = value
    return value


ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="HERD_API_KEY",
        callback=_export_key,
        help="The server's API key, when it needs one (sent as a bearer token).",
    ),
]


def current_key() -> str | None:
    """The API key the clients send: --api-key or HERD_API_KEY."""
    return os.environ.get("HERD_API_KEY") or None
