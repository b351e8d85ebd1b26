"""Videos into a few evenly spaced still frames, the form a vision stage accepts."""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from herd.errors import InvalidRequest

from .base import ImageInput


def frame_indices(total: int, count: int) -> list[int]:
    """The middle frame of each of ``count`` equal spans; every frame when the video has fewer."""
    if total <= count:
        return list(range(total))
    return [int((k + 0.5) * total / count) for k in range(count)]


@contextlib.contextmanager
def _as_file(data: bytes | Path) -> Iterator[Path]:
    # OpenCV's decoders read files, not buffers.
    if isinstance(data, Path):
        yield data
        return
    handle, name = tempfile.mkstemp(suffix=".video")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        yield Path(name)
    finally:
        os.unlink(name)


def _count_frames(capture: Any, cv2: Any) -> int:
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if total > 0:
        return total
    total = 0  # some containers do not record a frame count: count by reading
    while capture.grab():
        total += 1
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    return total


def sample_video_frames(data: bytes | Path, count: int = 8) -> list[ImageInput]:
    """Up to ``count`` evenly spaced frames as PNG images named "frame k at t=..s"."""
    import cv2

    if count < 1:
        raise InvalidRequest(f"asked for {count} video frames; ask for at least 1")
    what = f"video file {data}" if isinstance(data, Path) else f"video ({len(data)} bytes)"
    with _as_file(data) as path:
        capture = cv2.VideoCapture(str(path))
        try:
            frames = _read_frames(capture, cv2, count) if capture.isOpened() else []
        finally:
            capture.release()
    if not frames:
        raise InvalidRequest(f"could not decode the {what}: OpenCV read no frames; send MP4, WebM or AVI, or images")
    return frames


def _read_frames(capture: Any, cv2: Any, count: int) -> list[ImageInput]:
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    frames: list[ImageInput] = []
    for index in frame_indices(_count_frames(capture, cv2), count):
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        if not ok:
            continue
        ok, png = cv2.imencode(".png", frame)
        if ok:
            at = f"t={index / fps:.2f}s" if fps > 0 else f"index {index}"
            frames.append(ImageInput(data=png.tobytes(), mime="image/png", name=f"frame {len(frames) + 1} at {at}"))
    return frames
