"""The vision stage's contract: images in, a text report out. Imports no model or HTTP client."""

from dataclasses import dataclass, field
from typing import Protocol

from herd.errors import InvalidRequest


def is_video(mime: str) -> bool:
    """Videos are not images: callers expand them with ``sample_video_frames`` before a stage sees them."""
    return mime.lower().startswith("video/")


@dataclass(frozen=True)
class ImageInput:
    data: bytes
    mime: str
    name: str = ""

    @classmethod
    def from_url(cls, url: str, name: str = "") -> "ImageInput":
        """Reads a ``data:`` URL, a file path (or ``file://``) or an ``http(s)`` URL (fetched, blocking)."""
        from .sources import load_url

        data, mime, default_name = load_url(url)
        return cls(data=data, mime=mime, name=name or default_name)

    def label(self, index: int) -> str:
        return f"image {index}" + (f" ({self.name})" if self.name and self.name != f"image {index}" else "")


@dataclass(frozen=True)
class VisionReport:
    text: str
    stage: str
    sees_images: bool
    notes: list[str] = field(default_factory=list)


class VisionStage(Protocol):
    name: str

    async def describe(self, images: list[ImageInput], question: str) -> VisionReport: ...


def require_images(images: list[ImageInput]) -> None:
    if not images:
        raise InvalidRequest("the vision stage got no images; send at least one image with the question")
    for index, image in enumerate(images, start=1):
        if is_video(image.mime):
            raise InvalidRequest(
                f"{image.label(index)} is a video ({image.mime}); expand it into frames with sample_video_frames first"
            )
