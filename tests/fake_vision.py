"""An OpenAI-compatible vision endpoint for tests that really opens the images it is sent.

Each ``image_url`` data URL is decoded with Pillow and described deterministically
("image 1: 64x32 pixels, mostly red"), so a reply proves the bytes arrived intact. It
records every chat request, can be told to fail the next one with a status, and serves a
10x20 red PNG at ``/red.png`` for URL fetching. uvicorn runs in a daemon thread on
127.0.0.1 and stops when the context exits or after ``lifetime`` seconds.
"""

import base64
import contextlib
import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import free_port

MODEL = "fake-vision"
_NAMES = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "white": (255, 255, 255), "black": (0, 0, 0)}


def look_at(url: str) -> str:
    """'64x32 pixels, mostly red': the size and the named colour nearest the image's mean colour."""
    payload = url.split(",", 1)[1]
    image = Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGB")
    mean = np.asarray(image, dtype=float).reshape(-1, 3).mean(axis=0)
    name = min(_NAMES, key=lambda n: sum((a - b) ** 2 for a, b in zip(_NAMES[n], mean, strict=True)))
    return f"{image.width}x{image.height} pixels, mostly {name}"


async def models(_: Request) -> Response:
    return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "fake"}]})


async def red_png(_: Request) -> Response:
    buffer = io.BytesIO()
    Image.new("RGB", (10, 20), "red").save(buffer, "PNG")
    return Response(buffer.getvalue(), media_type="image/png")


@dataclass
class FakeVision:
    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)

    def fail_next(self, status: int, message: str) -> None:
        self.failures.append((status, message))

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        if self.failures:
            status, message = self.failures.pop(0)
            return JSONResponse({"error": {"message": message, "type": "server_error"}}, status_code=status)
        if body.get("model") != MODEL:
            return JSONResponse({"error": {"message": f"model {body.get('model')!r} not found"}}, status_code=404)
        parts = [p for m in body["messages"] if isinstance(m["content"], list) for p in m["content"]]
        images = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
        text = "\n".join(f"image {i}: {look_at(url)}" for i, url in enumerate(images, start=1))
        message = {"role": "assistant", "content": text or "no image received"}
        return JSONResponse({"id": "fake", "object": "chat.completion", "model": MODEL, "choices": [
            {"index": 0, "message": message, "finish_reason": "stop"}]})  # fmt: skip


@contextlib.contextmanager
def running_fake_vision(lifetime: float = 300.0) -> Iterator[FakeVision]:
    fake = FakeVision()
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", fake.chat, methods=["POST"]),
            Route("/red.png", red_png),
            Route("/v1/models", models),
        ]
    )
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    stopper = threading.Timer(lifetime, lambda: setattr(server, "should_exit", True))
    stopper.daemon = True
    stopper.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"the fake vision endpoint did not start on port {port}")
        time.sleep(0.02)
    fake.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield fake
    finally:
        stopper.cancel()
        server.should_exit = True
        thread.join(timeout=10)
