"""A conversation's settings: what it talks to, its system prompt and its temperature."""

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, TextArea

from herd.apps.chat.events import Settings, Target
from herd.apps.chat.screens.dialogs import DIALOG_CSS

MAX_INSTRUCTIONS = 512  # conversation metadata values are at most 512 characters


def parse_temperature(text: str) -> float | None:
    """None for empty (the server's default); ValueError with what to type otherwise."""
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"temperature {text!r} is not a number; type one from 0 to 2, or leave it empty") from None
    if not 0 <= value <= 2:
        raise ValueError(f"temperature {value} is out of range; type one from 0 to 2, or leave it empty")
    return value


class SettingsScreen(ModalScreen[Settings | None]):
    DEFAULT_CSS = DIALOG_CSS + "SettingsScreen TextArea { height: 6; }"
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, settings: Settings, targets: list[Target]) -> None:
        super().__init__()
        self.settings, self.targets = settings, targets

    def compose(self) -> ComposeResult:
        options = [(f"{t.id}" + (f" — {t.description[:40]}" if t.description else ""), t.id) for t in self.targets]
        current = self.settings.model if self.settings.model in {t.id for t in self.targets} else Select.NULL
        temperature = "" if self.settings.temperature is None else str(self.settings.temperature)
        with Vertical():
            yield Label("Model or agent")
            yield Select(options, value=current, id="target", allow_blank=True, prompt="(the server's first model)")
            yield Label(f"System prompt (at most {MAX_INSTRUCTIONS} characters)")
            yield TextArea(self.settings.instructions, id="instructions")
            yield Label("Temperature (0-2; empty for the default)")
            yield Input(temperature, id="temperature")
            yield Label("", classes="error", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#temperature")
    def action_save(self) -> None:
        error = self.query_one("#error", Label)
        instructions = self.query_one("#instructions", TextArea).text
        if len(instructions) > MAX_INSTRUCTIONS:
            error.update(f"the system prompt has {len(instructions)} characters; shorten it to {MAX_INSTRUCTIONS}")
            return
        try:
            temperature = parse_temperature(self.query_one("#temperature", Input).value)
        except ValueError as exc:
            error.update(str(exc))
            return
        value = self.query_one("#target", Select).value
        model = value if isinstance(value, str) else None
        self.dismiss(Settings(model=model, instructions=instructions, temperature=temperature))
