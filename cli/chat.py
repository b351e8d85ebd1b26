"""``herd chat``: the terminal chat app (Textual), on a running Herd server or one it starts."""

from typing import Annotated

import typer

from herd.cli.options import DEFAULT_URL, ApiKeyOption, UrlOption
from herd.errors import InvalidRequest


def chat(
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    model: Annotated[
        str | None, typer.Option(help="The model new conversations talk to (default: the server's first).")
    ] = None,
    agent: Annotated[
        str | None, typer.Option(help="An agent new conversations talk to, by name (see `herd agents list`).")
    ] = None,
    conversation: Annotated[str | None, typer.Option(help="Resume this conversation (an id, conv_...).")] = None,
    start: Annotated[
        bool | None,
        typer.Option(
            "--start/--no-start",
            help="Start the embedded distribution here (a child process): "
            "--start at once, --no-start never; by default the app offers it when no server answers.",
        ),
    ] = None,
) -> None:
    """Chat with Herd's models and agents in the terminal: streaming, tools, citations, shields."""
    if model and agent:
        raise InvalidRequest("give --model or --agent, not both")
    from herd.apps.chat.images import terminal_graphics

    graphics = terminal_graphics()  # asks the terminal, so before Textual takes it over
    from herd.apps.chat.app import ChatApp
    from herd.apps.chat.client import LlamaStackChatClient
    from herd.apps.chat.events import Settings
    from herd.apps.chat.launcher import EmbeddedLauncher

    launcher = None if start is False else EmbeddedLauncher()
    target = f"agent:{agent}" if agent else model
    app = ChatApp(
        LlamaStackChatClient(url), Settings(model=target), conversation, inline_images=graphics is not None,
        launcher=launcher, client_factory=LlamaStackChatClient, start_at_once=bool(start),
    )  # fmt: skip
    app.run()
