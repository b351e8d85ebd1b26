"""A tool call waiting for the user's approval: what it would run, and Approve / Deny.

The block posts ``Decided`` when a button is pressed; the screen asks for a reason on a
denial, sends the decisions once every waiting call of the reply has one, and then marks
the blocks with ``decided``. A block whose conversation moved on unanswered is ``expired``.
"""

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from herd.apps.chat.events import ApprovalRequest, Decision
from herd.apps.chat.widgets.tool_block import pretty


def verdict(decision: Decision) -> str:
    if decision.approve:
        return "✔ approved"
    return "✗ denied" + (f": {decision.reason}" if decision.reason else "")


class ApprovalBlock(Vertical):
    DEFAULT_CSS = """
    ApprovalBlock { height: auto; margin: 0 0 1 0; padding: 0 1; border-left: thick $warning; background: $boost; }
    ApprovalBlock.answered { border-left: thick $accent; }
    ApprovalBlock .title { text-style: bold; }
    ApprovalBlock .arguments { color: $text-muted; }
    ApprovalBlock .buttons { height: auto; }
    ApprovalBlock .buttons Button { margin-right: 2; }
    ApprovalBlock.answered .buttons { display: none; }
    """

    @dataclass
    class Decided(Message):
        block: "ApprovalBlock"
        approve: bool

    def __init__(self, request: ApprovalRequest, decision: Decision | None = None, waiting: bool = True) -> None:
        super().__init__(classes="approval")
        self.request = request
        self.decision = decision
        self.waiting = decision is None and waiting  # the screen may still send a decision for it
        self.pending: Decision | None = None  # chosen, not yet sent (other calls of the reply still wait)
        self._state = Static(self._state_text(), classes="state", markup=False)
        self.set_class(not self.waiting, "answered")

    def compose(self) -> ComposeResult:
        yield Static(f"✋ {self.request.label} changes things: it runs only if you approve",
                     classes="title", markup=False)  # fmt: skip
        yield Static(f"arguments:\n{pretty(self.request.arguments) or '(none)'}", classes="arguments", markup=False)
        yield self._state
        with Horizontal(classes="buttons"):
            yield Button("Approve (f5)", id="approve", variant="success", compact=True)
            yield Button("Deny (f6)", id="deny", variant="error", compact=True)

    def _state_text(self) -> str:
        if self.decision is not None:
            return verdict(self.decision)
        if self.pending is not None:
            return f"{verdict(self.pending)} · sent with the other calls' answers"
        return "waiting for your answer" if self.waiting else "not answered (the conversation went on)"

    @on(Button.Pressed, "#approve, #deny")
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Decided(self, event.button.id == "approve"))

    def _refresh(self) -> None:
        self.set_class(not self.waiting or self.pending is not None, "answered")
        self._state.update(self._state_text())

    def choose(self, decision: Decision) -> None:
        """Remember the user's answer until the screen sends it with the others."""
        self.pending = decision
        self._refresh()

    def decided(self, decision: Decision) -> None:
        self.decision, self.pending, self.waiting = decision, None, False
        self._refresh()

    def reopen(self) -> None:
        """The decisions could not be sent (the server failed): ask again."""
        self.pending, self.waiting = None, True
        self._refresh()

    def expire(self) -> None:
        self.pending, self.waiting = None, False
        self._refresh()
