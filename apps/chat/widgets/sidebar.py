"""The conversations on the server, newest first; choosing one resumes it."""

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from herd.apps.chat.events import ConversationInfo


class Sidebar(Vertical):
    DEFAULT_CSS = """
    Sidebar { width: 30; height: 1fr; border-right: solid $panel-lighten-2; }
    Sidebar.hidden { display: none; }
    Sidebar #sidebar-title { padding: 0 1; text-style: bold; color: $text-muted; }
    Sidebar OptionList { height: 1fr; border: none; }
    """

    @dataclass
    class Chosen(Message):
        conversation_id: str

    def __init__(self) -> None:
        super().__init__(id="sidebar")
        self.conversations: list[ConversationInfo] = []

    def compose(self) -> ComposeResult:
        yield Static("Conversations", id="sidebar-title")
        yield OptionList(id="conversations")

    def show(self, conversations: list[ConversationInfo], current: str | None) -> None:
        self.conversations = list(conversations)
        options = self.query_one("#conversations", OptionList)
        options.set_options(Option(c.title, id=c.id) for c in self.conversations)
        if current is not None:
            self.highlight(current)

    def highlight(self, conversation_id: str) -> None:
        options = self.query_one("#conversations", OptionList)
        ids = [c.id for c in self.conversations]
        if conversation_id in ids:
            options.highlighted = ids.index(conversation_id)

    @on(OptionList.OptionSelected, "#conversations")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Chosen(event.option.id))
