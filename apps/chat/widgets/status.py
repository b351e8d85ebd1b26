"""One line under the conversation: the server, what messages go to, and the last reply's timings."""

from textual.reactive import reactive
from textual.widgets import Static


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; padding: 0 1; background: $panel; color: $text-muted; }
    StatusBar.down { background: $error-darken-2; color: $text; }
    """

    server: reactive[str] = reactive("connecting…")
    target: reactive[str] = reactive("")
    last: reactive[str] = reactive("")

    def __init__(self) -> None:
        super().__init__("", id="status", markup=False)

    def _line(self) -> str:
        parts = [self.server, f"→ {self.target}" if self.target else "", self.last]
        return "  ·  ".join(p for p in parts if p)

    def watch_server(self) -> None:
        self.update(self._line())

    def watch_target(self) -> None:
        self.update(self._line())

    def watch_last(self) -> None:
        self.update(self._line())
