"""Small modal dialogs: confirm, one line of text, a choice from a list."""

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList
from textual.widgets.option_list import Option

DIALOG_CSS = """
ModalScreen { align: center middle; }
ModalScreen > Vertical { width: 70; height: auto; max-height: 90%; padding: 1 2; border: thick $accent;
                         background: $surface; }
ModalScreen .buttons { height: auto; align-horizontal: right; margin-top: 1; }
ModalScreen .buttons Button { margin-left: 1; }
ModalScreen .error { color: $error; height: auto; }
"""


class ConfirmScreen(ModalScreen[bool]):
    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel"), Binding("y", "dismiss(True)", "Yes", show=False)]

    def __init__(self, question: str, yes: str = "Delete") -> None:
        super().__init__()
        self.question, self.yes = question, yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="no")
                yield Button(self.yes, id="yes", variant="error")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class TextScreen(ModalScreen[str | None]):
    """Asks for one line (a title, a path); ``check`` returns an error message or None."""

    DEFAULT_CSS = DIALOG_CSS
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, question: str, value: str = "", placeholder: str = "", check=None) -> None:  # noqa: ANN001
        super().__init__()
        self.question, self.value, self.placeholder, self.check = question, value, placeholder, check

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            yield Input(self.value, placeholder=self.placeholder, id="answer")
            yield Label("", classes="error", id="error")

    @on(Input.Submitted, "#answer")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        problem = self.check(event.value) if self.check else None
        if problem:
            self.query_one("#error", Label).update(problem)
            return
        self.dismiss(event.value)


class ChoiceScreen(ModalScreen[str | None]):
    """Picks one of ``choices`` (id, label); the current one is highlighted."""

    DEFAULT_CSS = DIALOG_CSS + "ChoiceScreen OptionList { height: auto; max-height: 20; }"
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, question: str, choices: list[tuple[str, str]], current: str | None = None) -> None:
        super().__init__()
        self.question, self.choices, self.current = question, choices, current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            yield OptionList(*(Option(label, id=cid) for cid, label in self.choices), id="choices")

    def on_mount(self) -> None:
        ids = [cid for cid, _ in self.choices]
        if self.current in ids:
            self.query_one("#choices", OptionList).highlighted = ids.index(self.current)

    @on(OptionList.OptionSelected, "#choices")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
