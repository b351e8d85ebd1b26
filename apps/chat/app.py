"""``herd chat``: a Textual app over the ``ChatClient`` seam.

The app owns the client (and the embedded server, when it started one); the chat screen
does the rest. Every action of the screen is also a command of the palette.
"""

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen

from herd.apps.chat.events import Settings
from herd.apps.chat.screens.chat import ACTIONS, ChatScreen
from herd.apps.chat.seam import ChatClient

if TYPE_CHECKING:
    from herd.apps.chat.launcher import EmbeddedLauncher

CSS = """
.message { height: auto; margin: 0 0 1 0; padding: 0 1; }
.message.user { background: $primary 15%; border-left: thick $primary; }
.message.assistant { border-left: thick $secondary; }
.message .body { height: auto; margin: 0; }
.message .tools { height: auto; }
.message Markdown { margin: 0; padding: 0; }
.message .stats { color: $text-muted; height: 1; }
.citations { height: auto; }
.citations .label { width: auto; color: $text-muted; padding-right: 1; }
.citations Button { margin-right: 1; }
.image-placeholder { color: $text-muted; height: auto; }
.inline-image { width: 40; height: auto; }
.notice { height: auto; margin: 0 0 1 0; padding: 0 1; }
.notice.blocked { background: $warning 20%; border-left: thick $warning; }
.notice.down, .notice.failed, .notice.refused, .notice.missing { background: $error 15%; border-left: thick $error; }
"""


class ChatApp(App[None]):
    TITLE = "Herd chat"
    CSS = CSS

    def __init__(
        self,
        client: ChatClient,
        default: Settings | None = None,
        conversation: str | None = None,
        inline_images: bool = False,
        launcher: "EmbeddedLauncher | None" = None,
        client_factory: Callable[[str], ChatClient] | None = None,
        start_at_once: bool = False,
    ) -> None:
        super().__init__()
        self.client = client
        self.default = default or Settings()
        self.conversation = conversation
        self.inline_images = inline_images
        self.launcher = launcher  # an EmbeddedLauncher, or None when starting a server is not offered
        self.client_factory = client_factory
        self.start_embedded: Callable[[], object] | None = self._start_embedded if launcher is not None else None
        self.start_at_once = start_at_once and launcher is not None

    def on_mount(self) -> None:
        # with --start, the screen's first connection waits for the server this app starts
        screen = ChatScreen(self.client, self.default, self.conversation, connect=not self.start_at_once)
        screen.can_start = self.launcher is not None
        self.push_screen(screen)
        if self.start_at_once:
            self._start_embedded()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if isinstance(screen, ChatScreen):
            for key, action, label, help_text in ACTIONS:
                target = self if action.startswith("app.") else screen
                name = action.removeprefix("app.")
                yield SystemCommand(f"{label} ({key})", help_text, partial(target.run_action, name))

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    @work(exclusive=True, group="launch")
    async def _start_embedded(self) -> None:
        launcher = self.launcher
        screen = self.screen
        if not isinstance(screen, ChatScreen) or launcher is None or self.client_factory is None:
            return
        screen.status.server = f"starting the {launcher.describe()}…"
        self.notify("Starting the embedded distribution; the first start can take a minute")
        try:
            url = await launcher.start()
        except RuntimeError as exc:
            screen.status.server = "the embedded server did not start"
            self.notify(str(exc), severity="error", timeout=15)
            return
        await self.client.close()
        self.client = self.client_factory(url)
        screen.client = self.client
        screen.origin = launcher.describe()
        screen.connect()

    async def on_unmount(self) -> None:
        await self.client.close()
        stop = getattr(self.launcher, "stop", None)
        if stop is not None:
            stop()
