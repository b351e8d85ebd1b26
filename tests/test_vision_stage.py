"""The vision stage: embedded OCR, an OpenAI-compatible vision endpoint, video frames, config."""

import asyncio
import base64
import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from pydantic import ValidationError

from herd.errors import EngineFailure, InvalidRequest, ModelNotAvailable
from herd.providers.vision import ImageInput, VisionStageConfig, build_stage, is_video, sample_video_frames
from herd.providers.vision.ocr import NOTE, _load_engine
from tests.conftest import free_port
from tests.fake_vision import MODEL, FakeVision, running_fake_vision


def png(image: Image.Image, fmt: str = "PNG", **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def invoice() -> ImageInput:
    image = Image.new("RGB", (800, 600), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=44)
    draw.text((60, 120), "INVOICE 4217", fill="black", font=font)
    draw.text((60, 380), "TOTAL 88.50", fill="black", font=font)
    draw.text((60, 480), "Paid by card on 12 March", fill="black", font=font)
    return ImageInput(png(image), "image/png", "invoice.png")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeVision]:
    with running_fake_vision() as server:
        yield server


async def test_ocr_reads_text_in_order_and_says_it_did_not_see() -> None:
    stage = build_stage(VisionStageConfig())
    report, again = await asyncio.gather(*(stage.describe([invoice()], "What is the total?") for _ in range(2)))
    assert again == report and _load_engine.cache_info().currsize == 1
    assert report.stage == "ocr" and report.sees_images is False
    assert report.notes == [NOTE]
    assert "No vision model looked at these images" in report.text
    lines = [line for line in report.text.splitlines() if line.startswith('  - "')]
    assert len(lines) == 3, report.text
    # The recogniser (trained mostly on Chinese) often drops the space between letters and digits.
    assert lines[0].replace(" ", "").startswith('-"INVOICE4217"')
    assert lines[1].replace(" ", "").startswith('-"TOTAL88.50"')
    assert lines[2].startswith('  - "Paid by card on 12 March"')
    assert all(float(line.rsplit("(", 1)[1].rstrip(")")) > 0.8 for line in lines)
    assert "image 1 (invoice.png): PNG, 800x600 pixels, mode RGB; mostly white" in report.text


async def test_ocr_metadata_colour_exif_and_no_text() -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 80D"
    exif.get_ifd(0x8769)[0x9003] = "2024:05:06 07:08:09"
    red = png(Image.new("RGB", (64, 32), (230, 10, 10)), "JPEG", exif=exif)
    half = Image.new("RGB", (128, 64), "blue")
    half.paste((255, 255, 255), (0, 0, 128, 16))
    report = await build_stage(VisionStageConfig()).describe(
        [ImageInput(red, "image/jpeg"), ImageInput(png(half), "image/png", "chart")], "?"
    )
    first, second = report.text.split("\n\n")[1:]
    assert first.startswith("image 1: JPEG, 64x32 pixels, mode RGB; mostly red (100%)")
    assert "taken 2024:05:06 07:08:09; camera Canon EOS 80D" in first
    assert "(no text found)" in first
    assert second.startswith("image 2 (chart): PNG, 128x64 pixels, mode RGB; mostly blue (75%), some white (25%)\n")


async def test_ocr_rejects_what_is_not_an_image() -> None:
    stage = build_stage(VisionStageConfig())
    with pytest.raises(InvalidRequest, match="could not be decoded as an image"):
        await stage.describe([ImageInput(b"not a picture", "image/png")], "?")
    with pytest.raises(InvalidRequest, match="is a video .*sample_video_frames"):
        await stage.describe([ImageInput(b"\x00", "video/mp4", "clip.mp4")], "?")
    with pytest.raises(InvalidRequest, match="no images"):
        await stage.describe([], "?")


async def test_openai_stage_sends_question_and_images(fake: FakeVision) -> None:
    config = VisionStageConfig(kind="openai", url=fake.url, model=MODEL, api_key="sk-test")  # type: ignore[arg-type]
    red = ImageInput(png(Image.new("RGB", (64, 32), "red")), "image/png")
    blue = ImageInput(png(Image.new("RGB", (20, 10), (0, 0, 250))), "image/png", "sky.png")
    before = len(fake.requests)
    report = await build_stage(config).describe([red, blue], "Which image is red?")
    assert report.text == "image 1: 64x32 pixels, mostly red\nimage 2: 20x10 pixels, mostly blue"
    assert report.stage == "openai:fake-vision" and report.sees_images is True
    [request] = fake.requests[before:]
    assert request["headers"]["authorization"] == "Bearer sk-test"
    system, user = request["body"]["messages"]
    assert system["role"] == "system" and "do not answer the question beyond it" in system["content"]
    texts = [part["text"] for part in user["content"] if part["type"] == "text"]
    assert texts == ["The user's question: Which image is red?", "image 1:", "image 2 (sky.png):"]
    urls = [part["image_url"]["url"] for part in user["content"] if part["type"] == "image_url"]
    assert base64.b64decode(urls[1].split(",", 1)[1]) == blue.data


async def test_ollama_kind_uses_its_name_and_default_url(fake: FakeVision) -> None:
    assert VisionStageConfig(kind="ollama", model="llava").endpoint == "http://localhost:11434/v1"
    stage = build_stage(VisionStageConfig(kind="ollama", url=fake.url + "/", model=MODEL))
    report = await stage.describe([ImageInput.from_url(fake.url.removesuffix("/v1") + "/red.png")], "colour?")
    assert report.stage == "ollama:fake-vision" and report.text == "image 1: 10x20 pixels, mostly red"


async def test_endpoint_errors_say_what_to_fix(fake: FakeVision) -> None:
    image = [ImageInput(png(Image.new("RGB", (8, 8))), "image/png")]
    dead = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EngineFailure, match=f"vision endpoint {dead} refused the connection.*set vision.url"):
        await build_stage(VisionStageConfig(kind="openai", url=dead, model=MODEL)).describe(image, "?")
    stage = build_stage(VisionStageConfig(kind="openai", url=fake.url, model=MODEL))
    fake.fail_next(500, "CUDA out of memory")
    with pytest.raises(EngineFailure, match=r"failed \(HTTP 500: CUDA out of memory\); check its logs") as failed:
        await stage.describe(image, "?")
    assert failed.value.status_code == 500
    with pytest.raises(ModelNotAvailable, match=r"ollama pull llava"):
        await build_stage(VisionStageConfig(kind="ollama", url=fake.url, model="llava")).describe(image, "?")


async def test_timeout_through_an_injected_transport() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    config = VisionStageConfig(kind="openai", url="http://vision.invalid/v1", model="m", timeout_seconds=3)
    stage = build_stage(config, transport=httpx.MockTransport(slow))
    with pytest.raises(EngineFailure, match="did not answer within 3s; raise vision.timeout_seconds"):
        await stage.describe([ImageInput(png(Image.new("RGB", (8, 8))), "image/png")], "?")


COLOURS = [(k * 6, 255 - k * 6, (k * 37) % 256) for k in range(40)]


def make_video(path: Path, fourcc: str) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10.0, (32, 24))
    assert writer.isOpened()
    for colour in COLOURS:
        writer.write(np.full((24, 32, 3), colour, np.uint8))
    writer.release()
    return path


def which_frames(frames: list[ImageInput]) -> list[int]:
    found = []
    for frame in frames:
        pixel = np.asarray(Image.open(io.BytesIO(frame.data)).convert("RGB"))[12, 16][::-1].astype(int)
        found.append(min(range(40), key=lambda k: int(((np.array(COLOURS[k]) - pixel) ** 2).sum())))
    return found


@pytest.mark.parametrize(("fourcc", "suffix"), [("MJPG", ".avi"), ("mp4v", ".mp4")])
def test_video_frames_are_evenly_spaced(tmp_path: Path, fourcc: str, suffix: str) -> None:
    video = make_video(tmp_path / f"clip{suffix}", fourcc)
    frames = sample_video_frames(video.read_bytes())
    assert which_frames(frames) == [2, 7, 12, 17, 22, 27, 32, 37]
    assert frames[0].mime == "image/png" and frames[0].data.startswith(b"\x89PNG")
    assert [f.name for f in frames[:2]] == ["frame 1 at t=0.20s", "frame 2 at t=0.70s"]
    assert which_frames(sample_video_frames(video, count=3)) == [6, 20, 33]
    assert which_frames(sample_video_frames(video, count=64)) == list(range(40))


def test_unreadable_video_is_a_clear_error() -> None:
    with pytest.raises(InvalidRequest, match=r"could not decode the video \(12 bytes\)"):
        sample_video_frames(b"not a video!")


def test_image_sources(tmp_path: Path) -> None:
    data = png(Image.new("RGB", (4, 4), "green"))
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert ImageInput.from_url(url, "image 1") == ImageInput(data, "image/png", "image 1")
    (tmp_path / "g.png").write_bytes(data)
    for local in (str(tmp_path / "g.png"), f"file://{tmp_path / 'g.png'}"):  # the server reads no files for a client
        with pytest.raises(InvalidRequest, match="reads no local files"):
            ImageInput.from_url(local)
    clip = ImageInput.from_url("data:video/mp4;base64,AAAA")
    assert is_video(clip.mime) and not is_video("image/png")
    with pytest.raises(InvalidRequest, match="invalid base64"):
        ImageInput.from_url("data:image/png;base64,@@@")
    with pytest.raises(InvalidRequest, match=r"could not fetch image http://127\.0\.0\.1:\d+/x\.png"):
        ImageInput.from_url(f"http://127.0.0.1:{free_port()}/x.png")


def test_config_is_strict() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        VisionStageConfig(kind="ocr", modle="x")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="needs `model`"):
        VisionStageConfig(kind="openai", url="http://h/v1")
    with pytest.raises(ValidationError, match="needs `url`"):
        VisionStageConfig(kind="openai", model="m")
    with pytest.raises(ValidationError):
        VisionStageConfig(kind="clip")  # type: ignore[arg-type]
    assert VisionStageConfig().kind == "ocr" and VisionStageConfig().video_frames == 8


def test_package_imports_no_heavy_module() -> None:
    code = (
        "import sys; from herd.providers.vision import build_stage, VisionStageConfig; "
        "build_stage(VisionStageConfig()); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'cv2', 'rapidocr_onnxruntime', 'onnxruntime', 'PIL'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
