"""A scripted ``ChatClient`` for tests: conversations in memory, replies from a queue.

``enqueue(*events)`` adds one reply: the events ``send`` (or ``decide``) yields in turn (a
float pauses that many seconds, so tests can stop a reply midway). ``down = True`` makes
every call fail as if no server answered. ``calls`` records what was sent, ``decisions``
the approvals answered.
"""

import asyncio
import itertools
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, replace

from herd.apps.chat.events import (
    ApprovalRequest,
    Attachment,
    Blocked,
    ConversationInfo,
    Decision,
    Failed,
    Finished,
    HistoryItem,
    ReplyEvent,
    Settings,
    Target,
    TextDelta,
    ToolCall,
)
from herd.apps.chat.seam import ChatError

Scripted = ReplyEvent | float


@dataclass
class SentMessage:
    conversation_id: str
    text: str
    attachments: tuple[Attachment, ...]
    settings: Settings


class FakeChatClient:
    def __init__(self, url: str = "http://127.0.0.1:8321", targets: Sequence[Target] | None = None) -> None:
        self.url = url
        self.down = False
        self.error: ChatError | None = None  # raised by the next call, then cleared
        self.calls: list[SentMessage] = []
        self.decisions: list[tuple[Decision, ...]] = []
        self.stopped = 0  # replies closed before their end
        self.files: dict[str, str] = {}
        self._targets = list(
            targets or [Target("herd/smollm2-135m-instruct", "model"), Target("agent:assistant", "agent")]
        )
        self._replies: list[list[Scripted]] = []
        self._conversations: dict[str, ConversationInfo] = {}
        self._history: dict[str, list[HistoryItem]] = {}
        self._ids = itertools.count(1)
        self._clock = itertools.count(1_700_000_000)

    # -- scripting ---------------------------------------------------------------

    def enqueue(self, *events: Scripted) -> None:
        self._replies.append(list(events))

    def add_conversation(
        self, title: str, history: Sequence[HistoryItem] = (), settings: Settings | None = None
    ) -> str:
        info = ConversationInfo(f"conv_{next(self._ids):04d}", title, next(self._clock), settings or Settings())
        self._conversations[info.id] = info
        self._history[info.id] = list(history)
        return info.id

    def _check(self) -> None:
        if self.down:
            raise ChatError(f"no Herd server answers at {self.url}", "down")
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    # -- ChatClient ----------------------------------------------------------------

    async def ping(self) -> str:
        self._check()
        return "Herd (fake)"

    async def targets(self) -> list[Target]:
        self._check()
        return list(self._targets)

    async def conversations(self) -> list[ConversationInfo]:
        self._check()
        return sorted(self._conversations.values(), key=lambda c: c.created_at, reverse=True)

    async def create_conversation(self, title: str, settings: Settings) -> ConversationInfo:
        self._check()
        return self._conversations[self.add_conversation(title, settings=settings)]

    async def update_conversation(self, conversation_id: str, title: str, settings: Settings) -> ConversationInfo:
        self._check()
        info = self._get(conversation_id)
        self._conversations[conversation_id] = replace(info, title=title, settings=settings)
        return self._conversations[conversation_id]

    async def delete_conversation(self, conversation_id: str) -> None:
        self._check()
        self._get(conversation_id)
        del self._conversations[conversation_id]
        del self._history[conversation_id]

    async def history(self, conversation_id: str) -> list[HistoryItem]:
        self._check()
        self._get(conversation_id)
        return list(self._history[conversation_id])

    def _get(self, conversation_id: str) -> ConversationInfo:
        if conversation_id not in self._conversations:
            raise ChatError(f"conversation {conversation_id} does not exist on {self.url}", "missing")
        return self._conversations[conversation_id]

    def _refused(self, conversation_id: str) -> Failed | None:
        """What a reply fails with before it starts: no server, a scripted error, no such conversation."""
        try:
            self._check()
            self._get(conversation_id)
        except ChatError as exc:
            return Failed(exc.message, exc.kind)
        return None

    async def send(
        self, conversation_id: str, text: str, attachments: Sequence[Attachment], settings: Settings
    ) -> AsyncGenerator[ReplyEvent, None]:
        if (refused := self._refused(conversation_id)) is not None:
            yield refused
            return
        self.calls.append(SentMessage(conversation_id, text, tuple(attachments), settings))
        async for event in self._play(conversation_id, [HistoryItem("user", text, tuple(a.name for a in attachments))]):
            yield event

    async def decide(
        self, conversation_id: str, decisions: Sequence[Decision], settings: Settings
    ) -> AsyncGenerator[ReplyEvent, None]:
        if (refused := self._refused(conversation_id)) is not None:
            yield refused
            return
        self.decisions.append(tuple(decisions))
        answered = {d.request.request_id: d for d in decisions}
        self._history[conversation_id] = [
            replace(h, decision=answered[h.approval.request_id])
            if h.approval is not None and h.approval.request_id in answered
            else h
            for h in self._history[conversation_id]
        ]
        async for event in self._play(conversation_id, []):
            yield event

    async def _play(self, conversation_id: str, turn: list[HistoryItem]) -> AsyncGenerator[ReplyEvent, None]:
        script = self._replies.pop(0) if self._replies else [TextDelta("ok"), Finished("resp_fake", "ok")]
        # Like the server: a turn is stored when it ends, not when a shield refused its input or it failed;
        # a stopped turn keeps what was shown (the real client writes it).
        shown, ended = "", False
        try:
            for event in script:
                if isinstance(event, float):
                    await asyncio.sleep(event)
                    continue
                shown += event.text if isinstance(event, TextDelta) else ""
                if isinstance(event, ToolCall) and event.done:
                    turn.append(HistoryItem("tool", "", tool=event))
                if isinstance(event, ApprovalRequest):
                    turn.append(HistoryItem("tool", "", approval=event))
                ended = ended or isinstance(event, Finished | Blocked | Failed)
                if isinstance(event, Finished):
                    self._history[conversation_id] += [
                        *turn,
                        *([HistoryItem("assistant", shown or event.text)] if shown or event.text else []),
                    ]
                if isinstance(event, Blocked) and event.stage != "input":
                    self._history[conversation_id] += [*turn, HistoryItem("assistant", event.message, refusal=True)]
                yield event
        finally:
            if not ended:
                self.stopped += 1
                self._history[conversation_id] += [*turn, HistoryItem("assistant", shown)] if shown else []

    async def file_text(self, file_id: str) -> str:
        self._check()
        if file_id not in self.files:
            raise ChatError(f"file {file_id} does not exist", "missing")
        return self.files[file_id]

    async def close(self) -> None:
        return None
