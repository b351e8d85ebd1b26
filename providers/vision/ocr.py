"""The embedded stage: RapidOCR (its ONNX models ship in its wheel) plus Pillow metadata. It reads, it does not see."""

import asyncio
import functools
import threading
from typing import Any

from herd.errors import EngineFailure

from .base import ImageInput, VisionReport, require_images
from .metadata import as_rgb, describe_metadata, open_image
from .reading import Segment, column_text, columns, reading_lines

NOTE = "no vision model configured: text read by OCR and image metadata only"
_HEADER = (
    "No vision model looked at these images. Below is only the text OCR could read in each one "
    "(line by line in reading order, with confidence 0-1; OCR may run words and numbers together) and "
    "its file metadata; shapes, objects, people and layout were not seen. Say so if the question needs more."
)
_lock = threading.Lock()


@functools.cache
def _load_engine() -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise EngineFailure(
            f"the OCR engine is not installed ({exc}); run `pip install --no-deps rapidocr-onnxruntime==1.4.4` "
            "or configure a vision model (vision.kind: openai or ollama)"
        ) from exc
    return RapidOCR()


def ocr_segments(rgb: Any) -> list[Segment]:
    """Text boxes RapidOCR finds in an RGB Pillow image. Loads the engine once per process."""
    with _lock:  # one load, and one image at a time: onnxruntime already uses every core
        result, _elapsed = _load_engine()(rgb)
    segments = []
    for box, text, score in result or []:
        xs, ys = [p[0] for p in box], [p[1] for p in box]
        segments.append(Segment(text, float(score), min(xs), min(ys), max(xs), max(ys)))
    return segments


def _describe_one(image: ImageInput, index: int) -> str:
    label = image.label(index)
    picture = open_image(image.data, label)
    segments = ocr_segments(as_rgb(picture))
    stacks = columns(segments)
    # Text stacked in columns (a chart's bars, a table) reads by column: line by line,
    # values at different heights would lose their labels.
    in_columns = {id(s) for group in stacks for s in group}
    rest = [s for s in segments if id(s) not in in_columns]
    body = [f'  - "{text}" ({confidence:.2f})' for text, confidence in reading_lines(rest)]
    if stacks:
        body += ["  text in columns (left to right, each top to bottom):"]
        body += [f"  - {column_text(group)}" for group in stacks]
    return "\n".join([f"{label}: {describe_metadata(picture)}", "  text read:", *(body or ["  (no text found)"])])


class OcrStage:
    name = "ocr"

    async def describe(self, images: list[ImageInput], question: str) -> VisionReport:
        require_images(images)
        parts = [await asyncio.to_thread(_describe_one, image, i) for i, image in enumerate(images, start=1)]
        return VisionReport(text="\n\n".join([_HEADER, *parts]), stage=self.name, sees_images=False, notes=[NOTE])
