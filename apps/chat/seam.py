"""The one seam between the chat UI and a Herd server.

Widgets and screens see only ``ChatClient`` and the types of ``events.py``. The real
implementation (``client.py``) speaks to the server through ``llama-stack-client``;
``fake.py`` beside it is a scripted stand-in for tests. Every method raises ``ChatError``
(never an SDK exception), whose ``kind`` lets the UI say what happened:

- ``down``: no server answers at the URL;
- ``missing``: the model, agent or conversation does not exist there;
- ``refused``: the server rejected the request (4xx), with its message;
- ``failed``: anything else went wrong on the server.
"""

from collections.abc import AsyncGenerator, Sequence
from typing import Protocol

from herd.apps.chat.events import (
    Attachment,
    ConversationInfo,
    Decision,
    ErrorKind,
    HistoryItem,
    ReplyEvent,
    Settings,
    Target,
)


class ChatError(Exception):
    def __init__(self, message: str, kind: ErrorKind = "failed") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class ChatClient(Protocol):
    url: str

    async def ping(self) -> str:
        """The server's description (e.g. "Herd 0.1.0, distribution embedded"); ChatError("down") if none answers."""
        ...

    async def targets(self) -> list[Target]:
        """The chat models and the agents the server has."""
        ...

    async def conversations(self) -> list[ConversationInfo]:
        """The server's conversations, newest first."""
        ...

    async def create_conversation(self, title: str, settings: Settings) -> ConversationInfo: ...

    async def update_conversation(self, conversation_id: str, title: str, settings: Settings) -> ConversationInfo: ...

    async def delete_conversation(self, conversation_id: str) -> None: ...

    async def history(self, conversation_id: str) -> list[HistoryItem]:
        """The conversation's messages and tool calls, oldest first."""
        ...

    def send(
        self, conversation_id: str, text: str, attachments: Sequence[Attachment], settings: Settings
    ) -> AsyncGenerator[ReplyEvent, None]:
        """Send a user message and stream the reply.

        Closing the iterator early (``aclose()``, or cancelling the task reading it) stops
        the generation on the server. Errors come as a final ``Failed`` event, not raised.
        """
        ...

    def decide(
        self, conversation_id: str, decisions: Sequence[Decision], settings: Settings
    ) -> AsyncGenerator[ReplyEvent, None]:
        """Answer the ``ApprovalRequest``s the last reply ended with, and stream the reply that
        follows: approved calls run, denied ones are told to the model. Streams, stops and fails
        like ``send``."""
        ...

    async def file_text(self, file_id: str) -> str:
        """A stored file's text, for opening a citation."""
        ...

    async def close(self) -> None: ...
