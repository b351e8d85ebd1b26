"""Options shared by the commands that talk to a running Herd server."""

from typing import Annotated

import typer

DEFAULT_URL = "http://127.0.0.1:8321"
UrlOption = Annotated[str, typer.Option(help="The Herd server to use.")]
