"""The scrolling conversation. Long conversations mount only their last ``WINDOW`` messages;
"show earlier" mounts the next page above, so 1,000 messages cost what 60 do."""

import gc

from textual import on
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Button

from herd.apps.chat.events import HistoryItem
from herd.apps.chat.widgets.approval import ApprovalBlock
from herd.apps.chat.widgets.messages import AssistantMessage, Notice, UserMessage
from herd.apps.chat.widgets.tool_block import ToolBlock

WINDOW = 60


def item_widget(item: HistoryItem, waiting: bool = False) -> Widget:
    """``waiting``: an approval that the user may still answer (none came after it)."""
    if item.approval is not None:
        return ApprovalBlock(item.approval, item.decision, waiting)
    if item.tool is not None:
        return ToolBlock(item.tool)
    if item.role == "user":
        return UserMessage(item.text, names=item.images)
    if item.refusal:
        return Notice(f"⛔ {item.text}", "blocked")
    return AssistantMessage(item.text, stored=True)


class MessageLog(VerticalScroll):
    DEFAULT_CSS = """
    MessageLog { height: 1fr; padding: 0 1; }
    MessageLog #earlier { width: 100%; margin: 0 0 1 0; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(id="log", **kwargs)  # type: ignore[arg-type] # Textual's widget keywords
        self.items: list[HistoryItem] = []
        self.hidden = 0  # how many of the oldest items are not mounted

    async def show(self, items: list[HistoryItem]) -> None:
        """Replace what is shown by a conversation's history, scrolled to its end."""
        self.items = list(items)
        self.hidden = max(0, len(self.items) - WINDOW)
        gc.unfreeze()  # the last conversation's widgets may be collected again
        await self.remove_children()
        users = [n for n, i in enumerate(self.items) if i.role == "user"]
        answerable = users[-1] + 1 if users else 0  # approvals after the last message may still be answered
        widgets = [item_widget(i, n >= answerable) for n, i in enumerate(self.items) if n >= self.hidden]
        if self.hidden:
            widgets.insert(0, self._earlier_button())
        await self.mount_all(widgets)
        # A long history is some 10^5 objects that live as long as it is shown; frozen, the
        # collector stops walking them, which paused typing for 0.1-0.3 s every second or two.
        gc.collect()
        gc.freeze()
        # anchored, not just scrolled: the messages' Markdown lays out after mounting and grows the log
        self.anchor()

    def _earlier_button(self) -> Button:
        page = min(WINDOW, self.hidden)
        return Button(f"⬆ show {page} earlier messages ({self.hidden} not shown)", id="earlier", compact=True)

    @on(Button.Pressed, "#earlier")
    async def show_earlier(self) -> None:
        start = max(0, self.hidden - WINDOW)
        widgets = [item_widget(i) for i in self.items[start : self.hidden]]
        self.hidden = start
        await self.query_one("#earlier", Button).remove()
        if self.hidden:
            widgets.insert(0, self._earlier_button())
        await self.mount_all(widgets, before=0 if self.children else None)

    def waiting(self) -> list[ApprovalBlock]:
        """The calls that wait for the user's answer."""
        return [b for b in self.query(ApprovalBlock) if b.waiting]

    async def add(self, widget: Widget) -> Widget:
        await self.mount(widget)
        self.scroll_end(animate=False)
        return widget
