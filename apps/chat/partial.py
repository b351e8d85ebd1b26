"""Keeping a stopped reply in its conversation.

llama-stack writes a Responses turn into the conversation only when the response
completes (or ends incomplete); a stream the client closes leaves nothing there, and the
response itself stays ``in_progress`` in the responses store. So after closing the stream
the client adds the user's message (or the approval decisions) and the partial answer itself, unless the server
finished the turn in the meantime (the streamed message id is then already there).

The next turn's model context may still miss it: llama-stack builds it from the chat
messages it stored with the last completed turn, not from the conversation items.
"""

import contextlib
import logging
from typing import Any

import httpx
from llama_stack_client import APIError

from herd.apps.chat.stream import ReplyTranslator

log = logging.getLogger(__name__)
RECENT = 20  # how many of the newest items to look through for the streamed message


async def keep_partial(
    sdk: Any, stream: Any, conversation_id: str, kept: list[Any], translator: ReplyTranslator
) -> None:
    if stream is not None:
        with contextlib.suppress(Exception):  # closing is best effort: the connection may be gone already
            await stream.close()
    text = translator.stopped().text
    assistant: dict[str, Any] = {"type": "message", "role": "assistant", "status": "incomplete"}
    assistant["content"] = [{"type": "output_text", "text": text, "annotations": []}]
    if translator.message_ids:
        assistant["id"] = translator.message_ids[-1]  # an upsert, should the server write it after all
    try:
        recent = await sdk.conversations.items.list(conversation_id, order="desc", limit=RECENT)
        if any(item.id in translator.message_ids for item in recent.data):
            return
        await sdk.conversations.items.create(conversation_id, items=[*kept, *([assistant] if text else [])])
    except (APIError, httpx.HTTPError) as exc:
        # Nobody is listening any more (the reply was closed); the log is the only place to say it.
        log.warning("could not keep the stopped reply in conversation %s: %s", conversation_id, exc)
