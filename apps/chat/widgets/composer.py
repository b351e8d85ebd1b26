"""Where the user writes: the prompt line and the images attached to the next message."""

from dataclasses import dataclass

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from herd.apps.chat.events import Attachment
from herd.apps.chat.images import clean_path, describe, sniff


def looks_like_image_path(text: str) -> bool:
    """A pasted text that is one existing file with an image's name or content: terminals paste dropped files so."""
    if "\n" in text.strip() or len(text) > 4096:
        return False
    path = clean_path(text)
    try:
        if not path.is_file():
            return False
        with path.open("rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return sniff(head) is not None or path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".gif")


class PromptInput(Input):
    """An Input that turns a pasted image path into an attachment instead of text."""

    @dataclass
    class PathPasted(Message):
        text: str

    def _on_paste(self, event: events.Paste) -> None:
        # ordinary text is left to Input._on_paste, which Textual calls next (handlers run along the MRO)
        if looks_like_image_path(event.text):
            event.prevent_default()  # stops that call
            event.stop()
            self.post_message(self.PathPasted(event.text))


class Composer(Vertical):
    DEFAULT_CSS = """
    Composer { height: auto; padding: 0 1; }
    Composer #attached { color: $text-muted; height: auto; }
    Composer #attached.empty { display: none; }
    """

    @dataclass
    class Submitted(Message):
        text: str
        attachments: tuple[Attachment, ...]

    def __init__(self) -> None:
        super().__init__(id="composer")
        self.attachments: list[Attachment] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="attached", classes="empty", markup=False)
        yield PromptInput(placeholder="Message Herd (Enter sends · F1 help)", id="prompt")

    def attach(self, attachment: Attachment) -> None:
        self.attachments.append(attachment)
        self._show()

    def clear_attachments(self) -> None:
        self.attachments.clear()
        self._show()

    def _show(self) -> None:
        shown = self.query_one("#attached", Static)
        shown.update("\n".join(f"📎 {describe(a)}" for a in self.attachments))
        shown.set_class(not self.attachments, "empty")

    @on(Input.Submitted, "#prompt")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text and not self.attachments:
            return
        self.post_message(self.Submitted(text, tuple(self.attachments)))
        event.input.clear()
        self.clear_attachments()
