"""Shared pieces of the chat app's pilot and snapshot tests: waiting, images, a fake launcher."""

import asyncio
import io
from collections.abc import Callable
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from herd.apps.chat.app import ChatApp
from herd.apps.chat.fake import FakeChatClient
from herd.apps.chat.screens.chat import ChatScreen

SIZE = (120, 40)


async def wait_for(pilot: Pilot, condition: Callable[[], object], what: str, timeout: float = 5.0) -> None:
    """Let the app run until ``condition()`` holds; fail saying ``what`` did not happen."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.01)


def chat_screen(app: ChatApp) -> ChatScreen:
    """The app's ChatScreen, also while a modal is above it."""
    screens = [s for s in app.screen_stack if isinstance(s, ChatScreen)]
    assert screens, f"no ChatScreen in {app.screen_stack}"
    return screens[0]


async def connected(pilot: Pilot) -> ChatScreen:
    """Wait until the chat screen has talked to the server once (answered or not)."""
    app = pilot.app
    assert isinstance(app, ChatApp)
    await wait_for(pilot, lambda: any(isinstance(s, ChatScreen) for s in app.screen_stack), "the chat screen")
    screen = chat_screen(app)
    await wait_for(
        pilot,
        lambda: screen.connected or screen.status.has_class("down"),
        "the first connection",
    )
    await pilot.pause()
    return screen


async def send(pilot: Pilot, text: str, keys: bool = False) -> None:
    """Write a message in the prompt and press enter; ``keys`` types it key by key (slower: 60 ms a key)."""
    screen = chat_screen(pilot.app)  # type: ignore[arg-type]
    prompt = screen.query_one("#prompt", Input)
    prompt.focus()
    if keys:
        await pilot.press(*text)
    else:
        prompt.insert_text_at_cursor(text)
    await pilot.press("enter")


async def reply_done(pilot: Pilot) -> None:
    screen = chat_screen(pilot.app)  # type: ignore[arg-type]
    await pilot.pause()
    await wait_for(pilot, lambda: not screen.is_replying, "the reply to end")
    await pilot.pause()


def image_bytes(fmt: str, size: tuple[int, int] = (8, 6)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(buffer, format=fmt)
    return buffer.getvalue()


def write_image(folder: Path, name: str, fmt: str) -> Path:
    path = folder / name
    path.write_bytes(image_bytes(fmt))
    return path


class FakeLauncher:
    """Stands in for EmbeddedLauncher: "starts" a server at once and records what was asked of it."""

    def __init__(self, url: str = "http://127.0.0.1:9999") -> None:
        self.url = url
        self.started = 0
        self.stops = 0

    async def start(self) -> str:
        self.started += 1
        return self.url

    def describe(self) -> str:
        return f"embedded distribution (fake) at {self.url}"

    def stop(self) -> None:
        self.stops += 1


class Factory:
    """A client_factory handing out one prepared FakeChatClient, recording the URL it was given."""

    def __init__(self, client: FakeChatClient) -> None:
        self.client = client
        self.urls: list[str] = []

    def __call__(self, url: str) -> FakeChatClient:
        self.urls.append(url)
        self.client.url = url
        return self.client
