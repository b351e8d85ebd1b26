"""Read-only screens: the help (key bindings) and a citation's passages and file."""

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from herd.apps.chat.events import Citation
from herd.apps.chat.screens.dialogs import DIALOG_CSS
from herd.apps.chat.seam import ChatClient, ChatError

HELP = """\
# Herd chat

Talk to the models and agents of a Herd server. Conversations are kept on the server:
pick one in the sidebar to resume it.

| Key | Action |
|---|---|
{rows}

Paste or drop an image file's path into the prompt to attach it (PNG, JPEG, WebP).
Every action is also in the command palette (**ctrl+p**).
"""

SCROLL_CSS = (
    DIALOG_CSS
    + "ModalScreen > VerticalScroll { width: 90; height: 80%; border: thick $accent; "
    + ("background: $surface; padding: 1 2; }")
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = SCROLL_CSS
    BINDINGS = [Binding("escape,f1,q", "dismiss(None)", "Close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        rows = "\n".join(f"| {key} | {what} |" for key, what in self.keys)
        with VerticalScroll():
            yield Markdown(HELP.format(rows=rows))


class CitationScreen(ModalScreen[None]):
    """The passages of a cited file the answer drew on, then the file itself when the server has it."""

    DEFAULT_CSS = SCROLL_CSS
    BINDINGS = [Binding("escape,q", "dismiss(None)", "Close")]

    def __init__(self, citation: Citation, client: ChatClient) -> None:
        super().__init__()
        self.citation, self.client = citation, client

    def compose(self) -> ComposeResult:
        passages = "\n\n".join(f"> {p.strip()}".replace("\n", "\n> ") for p in self.citation.passages)
        with VerticalScroll():
            yield Markdown(f"# {self.citation.filename}\n\n{passages or '(no passages were returned)'}")
            yield Static("Loading the file…", id="file-text", markup=False)

    def on_mount(self) -> None:
        self._load()

    @work(exclusive=True)
    async def _load(self) -> None:
        shown = self.query_one("#file-text", Static)
        try:
            text = await self.client.file_text(self.citation.file_id)
        except ChatError as exc:
            shown.update(f"The file itself cannot be shown: {exc.message}")
            return
        shown.update(f"── {self.citation.filename} ({len(text)} characters) ──\n{text[:20000]}")
