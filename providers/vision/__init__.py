"""The vision stage: images in, text a small text model can reason over out.

``build_stage`` picks the embedded OCR reader (no model sees the picture) or a vision model
behind an OpenAI-compatible endpoint. Videos are expanded into frames by the caller with
``sample_video_frames``. OCR, OpenCV and onnxruntime load only when used.
"""

from pathlib import Path

import httpx

from .base import ImageInput, VisionReport, VisionStage, is_video
from .config import VisionStageConfig

__all__ = [
    "ImageInput",
    "VisionReport",
    "VisionStage",
    "VisionStageConfig",
    "build_stage",
    "is_video",
    "sample_video_frames",
]


def build_stage(config: VisionStageConfig, transport: httpx.AsyncBaseTransport | None = None) -> VisionStage:
    """The stage ``config`` names; ``transport`` replaces the network for an endpoint stage (tests)."""
    if config.kind == "ocr":
        from .ocr import OcrStage

        return OcrStage()
    from .remote import OpenAIVisionStage

    return OpenAIVisionStage(config, transport)


def sample_video_frames(data: bytes | Path, count: int = 8) -> list[ImageInput]:
    """Evenly spaced frames of a video as PNG images named "frame k at t=..s"; fewer if the video is shorter."""
    from .video import sample_video_frames as sample

    return sample(data, count)
