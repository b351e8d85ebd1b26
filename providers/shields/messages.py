"""Chat messages and Responses input items as shield ``Turn``s.

System and developer messages are the application's own words and are not judged.
Images are read from ``data:`` URLs only: the shields never fetch a URL or open a path a
client names. An image given by URL is counted in ``Turn.unread`` and not judged. Files
and audio are not judged.
"""

from typing import Any

from .verdict import Role, Turn

_ROLES: dict[str, Role] = {"user": "user", "assistant": "assistant", "tool": "tool", "function": "tool"}


def _image_bytes(url: str) -> bytes | None:
    if not url.startswith("data:"):
        return None
    from herd.providers.vision.sources import load_url

    data, _mime, _label = load_url(url)
    return data


def _parts(content: Any) -> tuple[str, tuple[bytes, ...], int]:
    """The text, the images read, and how many images were left unread (given by URL)."""
    if isinstance(content, str):
        return content, (), 0
    texts: list[str] = []
    images: list[bytes | None] = []
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            texts.append(str(part.get("text") or ""))
        elif kind == "refusal":
            texts.append(str(part.get("refusal") or ""))
        elif kind == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if url:
                images.append(_image_bytes(str(url)))
        elif kind == "input_image" and part.get("image_url"):
            images.append(_image_bytes(str(part["image_url"])))
    read = tuple(i for i in images if i is not None)
    return "\n".join(t for t in texts if t), read, len(images) - len(read)


def message_turn(message: Any) -> Turn | None:
    """One Chat Completions message as a turn; None for system and developer messages and empty ones."""
    if not isinstance(message, dict):
        return None  # llama-stack's validation answers a malformed message
    role = _ROLES.get(str(message.get("role")))
    if role is None:
        return None
    text, images, unread = _parts(message.get("content"))
    return Turn(role, text, images, unread) if text or images or unread else None


def input_turn(item: Any) -> Turn | None:
    """One Responses input item as a turn; None for items that are not messages or tool outputs."""
    if not isinstance(item, dict):
        return None
    kind = item.get("type", "message")
    if kind == "function_call_output":
        output = item.get("output")
        text, images, unread = _parts(output) if isinstance(output, list) else (str(output or ""), (), 0)
        return Turn("tool", text, images, unread)
    if kind != "message":
        return None
    role = _ROLES.get(str(item.get("role")))
    text, images, unread = _parts(item.get("content"))
    return Turn(role, text, images, unread) if role is not None and (text or images or unread) else None


def turns_from_messages(messages: Any) -> list[Turn]:
    """Chat Completions messages as turns (system and developer messages left out)."""
    return [t for m in (messages if isinstance(messages, list) else []) if (t := message_turn(m)) is not None]


def turns_from_input(value: Any) -> list[Turn]:
    """Responses ``input`` (a string or a list of items) as turns."""
    if isinstance(value, str):
        return [Turn("user", value)]
    return [t for item in (value if isinstance(value, list) else []) if (t := input_turn(item)) is not None]
