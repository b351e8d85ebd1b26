"""`herd chat` end to end: the real app, the real client seam, a real `herd run` with the tiny model."""

import time
from pathlib import Path

import httpx

from herd.apps.chat.app import ChatApp
from herd.apps.chat.client import LlamaStackChatClient
from herd.apps.chat.events import Settings, TextDelta
from herd.apps.chat.launcher import EmbeddedLauncher
from herd.apps.chat.widgets.messages import AssistantMessage, UserMessage
from herd.distribution import runconfig, templates
from tests.conftest import CHAT_MODEL, TINY_MODEL, free_port, make_home

SIZE = (110, 36)


class RecordingClient(LlamaStackChatClient):
    """The real client, keeping the events it streamed to the app."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.events: list[object] = []

    async def send(self, *args, **kwargs):  # type: ignore[override]
        async for event in super().send(*args, **kwargs):
            self.events.append(event)
            yield event


async def until(pilot, check, timeout: float = 60.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def _finished(app: ChatApp) -> bool:
    return bool(app.screen.query("AssistantMessage .stats"))


async def test_chat_streams_then_resumes_after_restart(base_url: str) -> None:
    client = RecordingClient(base_url)
    app = ChatApp(client, Settings(model=CHAT_MODEL, temperature=0.0))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.connected, what="the connection")
        assert "→ " + CHAT_MODEL in str(app.screen.status.render())
        await pilot.press(*"Name three colours.", "enter")
        await until(pilot, lambda: _finished(app), what="the reply")
        answer = app.screen.query_one(AssistantMessage).text
        conversation = app.screen.conversation.id
        stats = str(app.screen.query_one("AssistantMessage .stats").render())
    deltas = [e for e in client.events if isinstance(e, TextDelta)]
    assert len(deltas) > 3, "the answer should arrive in several deltas (streamed)"
    assert answer.strip() and answer == "".join(d.text for d in deltas)
    assert "tok/s" in stats and "first token" in stats

    again = LlamaStackChatClient(base_url)
    resumed = ChatApp(again, conversation=conversation)
    async with resumed.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(resumed.screen.query(UserMessage)), what="the resumed history")
        assert [m.text for m in resumed.screen.query(UserMessage)] == ["Name three colours."]
        assert [m.text for m in resumed.screen.query(AssistantMessage)] == [answer]
        assert resumed.screen.conversation.settings.temperature == 0.0
        await pilot.press(*"Name one more colour.", "enter")
        await until(pilot, lambda: len(resumed.screen.query("AssistantMessage .stats")) == 1, what="the second reply")
    history = await LlamaStackChatClient(base_url).history(conversation)
    assert [(h.role, h.text) for h in history if h.role == "user"] == [
        ("user", "Name three colours."),
        ("user", "Name one more colour."),
    ]


async def test_no_server_then_start_the_embedded_one_from_the_app(
    tmp_path: Path, models_dir: Path, monkeypatch
) -> None:
    monkeypatch.setenv("HERD_HOME", str(make_home(tmp_path / "home", models_dir)))
    config = tmp_path / "run.yaml"
    config.write_text(runconfig.render("embedded", templates.embedded(chat_model=TINY_MODEL)))
    launcher = EmbeddedLauncher(port=free_port(), config=config)
    nobody = f"http://127.0.0.1:{free_port()}"
    app = ChatApp(LlamaStackChatClient(nobody), Settings(model=CHAT_MODEL, temperature=0.0), launcher=launcher,
                  client_factory=LlamaStackChatClient)  # fmt: skip
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: bool(app.screen.query(".notice.down")), what="the server-down notice")
        assert "ctrl+g" in str(app.screen.query_one(".notice.down").render())
        assert "no server at" in str(app.screen.status.render())
        await pilot.press("ctrl+g")
        await until(pilot, lambda: app.screen.connected, timeout=120, what="the embedded server")
        process = launcher.process
        assert process is not None and f"pid {process.pid}" in str(app.screen.status.render())
        assert not app.screen.query(".notice.down")
        await pilot.press(*"Say hi.", "enter")
        await until(pilot, lambda: _finished(app), what="the reply")
        assert app.screen.query_one(AssistantMessage).text.strip()
    assert process.poll() is not None, "the embedded server stops with the app"
    async with httpx.AsyncClient() as http:
        try:
            await http.get(f"{launcher.url}/v1/herd/status", timeout=2)
            raise AssertionError("the embedded server still answers")
        except httpx.TransportError:
            pass
