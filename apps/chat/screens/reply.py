"""One reply as it streams: each event of the client seam changes the widgets of the conversation."""

import time

from herd.apps.chat.events import ApprovalRequest, Blocked, Failed, Finished, ReplyEvent, TextDelta, ToolCall
from herd.apps.chat.widgets.log import MessageLog
from herd.apps.chat.widgets.messages import AssistantMessage, Notice, blocked_text

HINTS = {
    "down": "Start a server with `herd run`, then press ctrl+r to retry.",
    "missing": "Pick another model or agent with ctrl+l.",
    "refused": "Change the message or the settings (ctrl+s), then ctrl+r to retry.",
    "failed": "Press ctrl+r to retry.",
}


START_HINT = "Press ctrl+g to start the embedded distribution here, or start a server with `herd run` and press ctrl+r."


def failure_text(failed: Failed, can_start: bool = False) -> str:
    hint = START_HINT if failed.kind == "down" and can_start else HINTS[failed.kind]
    return f"⚠ {failed.message}\n   {hint}"


class ReplyView:
    def __init__(self, log: MessageLog, message: AssistantMessage, can_start: bool = False) -> None:
        self.log, self.message, self.can_start = log, message, can_start
        self.started = time.perf_counter()
        self.first_token: float | None = None
        self.outcome: ReplyEvent | None = None  # the Finished, Blocked or Failed that ended it

    async def show(self, event: ReplyEvent) -> None:
        if isinstance(event, TextDelta):
            if self.first_token is None:
                self.first_token = time.perf_counter() - self.started
            await self.message.write(event.text)
        elif isinstance(event, ToolCall):
            await self.message.tool(event)
        elif isinstance(event, ApprovalRequest):
            await self.message.approval(event)
        elif isinstance(event, Finished):
            self.outcome = event
            await self.message.finish(event)
        else:
            self.outcome = event
            await self._notice(event)

    async def _notice(self, event: Blocked | Failed) -> None:
        await self.message.end()
        if not self.message.text and not self.message.query(".tools > *"):
            await self.message.remove()
        if isinstance(event, Blocked):
            await self.log.add(Notice(blocked_text(event), "blocked"))
        else:
            await self.log.add(Notice(failure_text(event, self.can_start), event.kind))

    async def stopped(self) -> Finished:
        """The reply was cut short: its partial text stays, marked stopped, with what was measured."""
        done = Finished("", self.message.text, ttft_s=self.first_token, total_s=time.perf_counter() - self.started,
                        stopped=True)  # fmt: skip
        self.outcome = done
        await self.message.finish(done)
        return done
