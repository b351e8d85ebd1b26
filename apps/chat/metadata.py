"""A conversation's title and settings, kept in its metadata on the server.

OpenAI's metadata holds at most 16 string values of at most 512 characters each, and
llama-stack does not check that (other servers do), so Herd checks it here: a title is
cut to fit, instructions that do not fit are refused rather than cut.
"""

from typing import Any

from herd.apps.agents.steps import get
from herd.apps.chat.events import ConversationInfo, Settings
from herd.apps.chat.seam import ChatError

MAX_VALUE = 512
UNTITLED = "New conversation"


def to_metadata(title: str, settings: Settings) -> dict[str, str]:
    if len(settings.instructions) > MAX_VALUE:
        raise ChatError(
            f"the instructions are {len(settings.instructions)} characters; a conversation keeps at most "
            f"{MAX_VALUE} (the Conversations API's limit for a metadata value): shorten them",
            "refused",
        )
    metadata = {"title": title[:MAX_VALUE]}
    if settings.model:
        metadata["herd_model"] = settings.model
    if settings.instructions:
        metadata["herd_instructions"] = settings.instructions
    if settings.temperature is not None:
        metadata["herd_temperature"] = repr(float(settings.temperature))
    return metadata


def _temperature(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None  # metadata written by another client: ignore what is not a number


def info(conversation: Any) -> ConversationInfo:
    """A conversation (an SDK object or a dict of ``GET /v1/herd/conversations``) as the UI shows it."""
    metadata = get(conversation, "metadata") or {}
    settings = Settings(
        model=metadata.get("herd_model") or None,
        instructions=metadata.get("herd_instructions") or "",
        temperature=_temperature(metadata.get("herd_temperature")),
    )
    title = metadata.get("title") or UNTITLED
    return ConversationInfo(get(conversation, "id"), title, int(get(conversation, "created_at") or 0), settings)
