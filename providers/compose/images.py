"""Images in chat messages: find them, and replace them with what the vision stage read.

Works on OpenAI-shaped message dicts. Only user messages carry images. Video parts
(``data:video/...`` URLs, as ``image_url`` or ``file`` parts) are expanded into
evenly sampled frames, which then go through the same stage as images.
"""

from dataclasses import dataclass, field
from typing import Any

from herd.providers.vision.base import ImageInput, VisionReport

Message = dict[str, Any]


@dataclass
class ImageTurn:
    """One user message that carries images: where it is, what it asks, what it shows."""

    index: int
    question: str
    urls: list[str] = field(default_factory=list)


def _part_url(part: dict[str, Any]) -> str | None:
    if part.get("type") == "image_url":
        image = part.get("image_url") or {}
        return image.get("url") if isinstance(image, dict) else str(image)
    if part.get("type") == "file":
        data = (part.get("file") or {}).get("file_data")
        if isinstance(data, str) and data.startswith(("data:image/", "data:video/")):
            return data
    return None


def image_turns(messages: list[Message]) -> list[ImageTurn]:
    turns = []
    for index, message in enumerate(messages):
        content = message.get("content")
        if message.get("role") != "user" or not isinstance(content, list):
            continue
        urls = [url for part in content if isinstance(part, dict) and (url := _part_url(part))]
        if urls:
            text = " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
            turns.append(ImageTurn(index, text.strip(), urls))
    return turns


def load_inputs(urls: list[str], video_frames: int) -> list[ImageInput]:
    """The images a turn shows, videos expanded into frames."""
    from herd.providers.vision import sample_video_frames

    inputs: list[ImageInput] = []
    for number, url in enumerate(urls, start=1):
        if url.startswith("data:video/"):
            video = ImageInput.from_url(url, name=f"video {number}")
            inputs.extend(sample_video_frames(video.data, count=video_frames))
        else:
            inputs.append(ImageInput.from_url(url, name=f"image {number}"))
    return inputs


def describe_report(report: VisionReport) -> str:
    """The report as the text that takes the images' place in the conversation."""
    how = "a vision model" if report.sees_images else "OCR and image metadata only (no vision model saw the image)"
    lines = [f"[The attached images were read by the vision stage `{report.stage}`, using {how}.]"]
    lines.extend(f"[Note: {note}]" for note in report.notes)
    lines.append(report.text)
    return "\n".join(lines)


def replace_images(message: Message, report: VisionReport) -> Message:
    """The message with its image parts replaced by one text part holding the report."""
    parts = [p for p in message["content"] if isinstance(p, dict) and not _part_url(p)]
    texts = [p for p in parts if p.get("type") == "text"]
    prose = "\n".join(p["text"] for p in texts)
    return {**message, "content": f"{describe_report(report)}\n\n{prose}".strip()}
