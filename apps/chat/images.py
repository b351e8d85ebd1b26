"""Image attachments: which files may be attached, and whether the terminal can show them.

A file is accepted by its content, not its name: PNG, JPEG or WebP, at most
``MAX_IMAGE_BYTES`` (the server takes 32 MB a request and a data URL grows a third).
"""

import shlex
import sys
from pathlib import Path

from herd.apps.chat.events import Attachment

MAX_IMAGE_BYTES = 20 * 1024 * 1024
ACCEPTED = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}


class AttachmentError(ValueError):
    """A file that cannot be attached; the message says why and what to attach instead."""


def sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean_path(text: str) -> Path:
    """A path as typed or pasted: terminals paste a dropped file quoted, escaped or as a file:// URL."""
    text = text.strip()
    if text.startswith("file://"):
        from urllib.parse import unquote, urlparse

        text = unquote(urlparse(text).path)
    else:
        try:
            parts = shlex.split(text)
        except ValueError:
            parts = [text]
        text = parts[0] if len(parts) == 1 else text
    return Path(text).expanduser()


def load(text: str, limit: int = MAX_IMAGE_BYTES) -> Attachment:
    path = clean_path(text)
    if not text.strip():
        raise AttachmentError("give the path of a PNG, JPEG or WebP image")
    if not path.is_file():
        raise AttachmentError(f"{path} is not a file; give the path of a PNG, JPEG or WebP image")
    size = path.stat().st_size
    if size > limit:
        raise AttachmentError(f"{path.name} is {human_size(size)}; images up to {human_size(limit)} can be attached")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AttachmentError(f"cannot read {path}: {exc.strerror}") from exc
    mime = sniff(data)
    if mime is None:
        raise AttachmentError(f"{path.name} is not a PNG, JPEG or WebP image (by its content)")
    return Attachment(path.name, mime, data)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024 or unit == "MB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} MB"


def describe(attachment: Attachment) -> str:
    return f"{attachment.name} · {ACCEPTED.get(attachment.mime, attachment.mime)} · {human_size(attachment.size)}"


def terminal_graphics() -> str | None:
    """ "sixel" or "tgp" when the terminal shows real images, else None.

    textual-image asks the terminal at import, which must happen before Textual takes the
    terminal over; so the CLI calls this before the app starts, and only on a TTY.
    """
    if not (sys.__stdout__ and sys.__stdout__.isatty()):
        return None
    try:
        from textual_image import renderable
    except Exception:  # noqa: BLE001 - any failure to probe means no inline images
        return None
    name = getattr(renderable.Image, "__module__", "")
    return "sixel" if name.endswith(".sixel") else "tgp" if name.endswith(".tgp") else None
