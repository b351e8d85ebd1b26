"""The chat app driven through its pilot against FakeChatClient: what the user sees and what reaches the server."""

from pathlib import Path

import pytest
from textual import events
from textual.command import CommandPalette
from textual.widgets import Button, Collapsible, Input, Label, Markdown, OptionList, Select, Static, TextArea
from textual.widgets._markdown import MarkdownFence

from herd.apps.chat.app import ChatApp
from herd.apps.chat.events import (
    Blocked,
    Citation,
    Failed,
    Finished,
    HistoryItem,
    Settings,
    ShieldVerdict,
    Target,
    TextDelta,
    ToolCall,
)
from herd.apps.chat.fake import FakeChatClient
from herd.apps.chat.screens.chat import ACTIONS
from herd.apps.chat.screens.dialogs import ChoiceScreen, ConfirmScreen, TextScreen
from herd.apps.chat.screens.info import CitationScreen, HelpScreen
from herd.apps.chat.screens.settings import SettingsScreen
from herd.apps.chat.seam import ChatError
from herd.apps.chat.widgets.log import WINDOW, MessageLog
from herd.apps.chat.widgets.messages import AssistantMessage, CitationList, Notice, StoredAnswer, UserMessage
from herd.apps.chat.widgets.sidebar import Sidebar
from herd.apps.chat.widgets.tool_block import ToolBlock
from tests.chat_helpers import (
    SIZE,
    Factory,
    FakeLauncher,
    chat_screen,
    connected,
    reply_done,
    send,
    wait_for,
    write_image,
)

MODEL = "herd/smollm2-135m-instruct"


def sidebar_titles(app: ChatApp) -> list[str]:
    options = chat_screen(app).query_one("#conversations", OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def status_text(app: ChatApp) -> str:
    return str(chat_screen(app).status.render())


def notifications(app: ChatApp) -> list[tuple[str, str]]:
    # Textual keeps the raised notifications here; run_test hides the toasts but still records them
    return [(n.message, n.severity) for n in app._notifications]


def log_of(app: ChatApp) -> MessageLog:
    return chat_screen(app).query_one(MessageLog)


def static_text(widget: Static) -> str:
    return str(widget.render())


# -- first screen and sending --------------------------------------------------


async def test_first_screen_shows_the_server_the_target_and_the_conversations_newest_first() -> None:
    fake = FakeChatClient()
    fake.add_conversation("Oldest")
    fake.add_conversation("Middle")
    fake.add_conversation("Newest")
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        assert screen.connected
        status = status_text(app)
        assert "Herd (fake)" in status
        assert f"→ {MODEL}" in status
        assert sidebar_titles(app) == ["Newest", "Middle", "Oldest"]
        assert isinstance(app.focused, Input) and app.focused.id == "prompt"
        assert not log_of(app).children


async def test_sending_streams_the_reply_and_creates_a_conversation_titled_after_the_message() -> None:
    fake = FakeChatClient()
    fake.add_conversation("Earlier chat")
    fake.enqueue(
        TextDelta("Hello"), TextDelta(", "), TextDelta("world"), TextDelta("!"), Finished("r1", "Hello, world!")
    )
    app = ChatApp(fake, default=Settings(temperature=0.3))
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "What is a herd?", keys=True)
        await reply_done(pilot)

        log = log_of(app)
        users, answers = log.query(UserMessage), log.query(AssistantMessage)
        assert [u.text for u in users] == ["What is a herd?"]
        assert len(answers) == 1
        assert answers[0].query_one(Markdown).source == "Hello, world!"
        assert chat_screen(app).query_one("#prompt", Input).value == ""

        assert len(fake.calls) == 1
        call = fake.calls[0]
        assert call.text == "What is a herd?"
        assert call.settings == Settings(temperature=0.3)
        conversations = await fake.conversations()
        assert [c.title for c in conversations] == ["What is a herd?", "Earlier chat"]
        assert call.conversation_id == conversations[0].id
        assert sidebar_titles(app) == ["What is a herd?", "Earlier chat"]
        assert chat_screen(app).query_one("#conversations", OptionList).highlighted == 0


async def test_a_second_message_goes_to_the_same_conversation() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "one")
        await reply_done(pilot)
        await send(pilot, "two")
        await reply_done(pilot)
        assert [c.text for c in fake.calls] == ["one", "two"]
        assert fake.calls[0].conversation_id == fake.calls[1].conversation_id
        assert len(await fake.conversations()) == 1
        assert len(log_of(app).query(UserMessage)) == 2


async def test_a_code_block_in_the_reply_is_rendered_as_a_code_fence() -> None:
    fake = FakeChatClient()
    answer = "Like this:\n\n```python\nprint('hi')\n```\n"
    fake.enqueue(TextDelta("Like this:\n\n```python\n"), TextDelta("print('hi')\n```\n"), Finished("r1", answer))
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "show code")
        await reply_done(pilot)
        fences = log_of(app).query_one(AssistantMessage).query(MarkdownFence)
        assert len(fences) == 1
        assert fences[0].code.strip() == "print('hi')"
        assert fences[0].lexer == "python"


# -- stopping and timings ------------------------------------------------------


async def test_escape_stops_the_reply_and_keeps_its_partial_text() -> None:
    fake = FakeChatClient()
    fake.enqueue(TextDelta("The first half"), 30.0, TextDelta(" never shown"), Finished("r1", "never"))
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await send(pilot, "tell me a long story")
        answer_shown = lambda: "The first half" in "".join(m.text for m in log_of(app).query(AssistantMessage))  # noqa: E731
        await wait_for(pilot, answer_shown, "the first delta")
        assert screen.is_replying
        await pilot.press("escape")
        await reply_done(pilot)

        answer = log_of(app).query_one(AssistantMessage)
        assert answer.text == "The first half"
        assert answer.query_one(Markdown).source == "The first half"
        stats = static_text(answer.query_one(".stats", Static))
        assert stats.endswith("stopped")
        assert fake.stopped == 1
        assert "stopped after" in status_text(app)

        fake.enqueue(TextDelta("Again"), Finished("r2", "Again"))
        await send(pilot, "once more")
        await reply_done(pilot)
        answers = log_of(app).query(AssistantMessage)
        assert [a.text for a in answers] == ["The first half", "Again"]
        assert [c.text for c in fake.calls] == ["tell me a long story", "once more"]
        assert fake.stopped == 1


async def test_the_stats_line_shows_the_decode_rate_and_the_first_token_time() -> None:
    fake = FakeChatClient()
    fake.enqueue(TextDelta("fine"), Finished("r1", "fine", input_tokens=5, output_tokens=20, ttft_s=0.2, total_s=1.0))
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "how fast?")
        await reply_done(pilot)
        stats = static_text(log_of(app).query_one(AssistantMessage).query_one(".stats", Static))
        assert stats == "20 tokens · 25.0 tok/s · first token 0.20 s · 1.0 s"  # 20 / (1.0 - 0.2)
        assert "25.0 tok/s" in status_text(app)


async def test_sending_while_a_reply_streams_is_refused_with_a_message() -> None:
    fake = FakeChatClient()
    fake.enqueue(TextDelta("slow"), 30.0, Finished("r1", "slow"))
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await send(pilot, "first")
        await wait_for(pilot, lambda: len(fake.calls) == 1, "the first send")
        await send(pilot, "second")
        await pilot.pause()
        assert [c.text for c in fake.calls] == ["first"]
        assert any("still coming" in m for m, _ in notifications(app))
        assert screen.is_replying
        await pilot.press("escape")
        await reply_done(pilot)


# -- the sidebar: new, rename, delete, resume ----------------------------------


async def test_ctrl_n_starts_a_new_conversation_with_an_empty_log() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await send(pilot, "first conversation")
        await reply_done(pilot)
        assert log_of(app).children
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not log_of(app).children
        assert screen.conversation is None
        await send(pilot, "second conversation")
        await reply_done(pilot)
        assert fake.calls[0].conversation_id != fake.calls[1].conversation_id
        assert sidebar_titles(app) == ["second conversation", "first conversation"]


async def test_f2_renames_the_conversation_on_the_server_and_in_the_sidebar() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "hello there")
        await reply_done(pilot)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), "the rename dialog")
        answer = app.screen.query_one("#answer", Input)
        assert answer.value == "hello there"

        answer.value = ""
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TextScreen), "an empty title was accepted"
        assert static_text(app.screen.query_one("#error", Label)) == "type a title"

        await pilot.press(*"Herd notes")
        await pilot.press("enter")
        await wait_for(pilot, lambda: sidebar_titles(app) == ["Herd notes"], "the sidebar to show the new title")
        assert [c.title for c in await fake.conversations()] == ["Herd notes"]
        assert chat_screen(app).conversation is not None
        assert chat_screen(app).conversation.title == "Herd notes"


async def test_rename_without_a_conversation_says_to_send_first() -> None:
    app = ChatApp(FakeChatClient())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("f2")
        await pilot.pause()
        assert not isinstance(app.screen, TextScreen)
        assert any("Send a message first" in m for m, _ in notifications(app))


async def test_a_rename_the_server_refuses_shows_an_error_toast_and_the_app_goes_on() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "keep my title")
        await reply_done(pilot)
        fake.error = ChatError("metadata values are at most 512 characters", "refused")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), "the rename dialog")
        await pilot.press(*" please")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any(s == "error" for _, s in notifications(app)), "an error toast")
        assert ("Not saved: metadata values are at most 512 characters", "error") in notifications(app)
        assert [c.title for c in await fake.conversations()] == ["keep my title"]
        assert sidebar_titles(app) == ["keep my title"]
        await send(pilot, "still works")
        await reply_done(pilot)
        assert fake.calls[-1].text == "still works"


async def test_f8_deletes_only_after_confirming() -> None:
    fake = FakeChatClient()
    fake.add_conversation("Other")
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "to be deleted")
        await reply_done(pilot)
        assert sidebar_titles(app) == ["to be deleted", "Other"]

        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirm dialog")
        assert "to be deleted" in static_text(app.screen.query_one(Label))
        await pilot.click("#no")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the dialog to close")
        await pilot.pause()
        assert [c.title for c in await fake.conversations()] == ["to be deleted", "Other"]
        assert sidebar_titles(app) == ["to be deleted", "Other"]
        assert log_of(app).query(UserMessage)

        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirm dialog")
        await pilot.click("#yes")
        await wait_for(pilot, lambda: sidebar_titles(app) == ["Other"], "the sidebar to drop it")
        assert [c.title for c in await fake.conversations()] == ["Other"]
        assert not log_of(app).children
        assert chat_screen(app).conversation is None


async def test_choosing_a_conversation_in_the_sidebar_loads_its_history() -> None:
    fake = FakeChatClient()
    tool = ToolCall("c1", "get_weather", '{"city": "Paris"}', "sunny", done=True, duration_s=0.5)
    history = [
        HistoryItem("user", "Weather in Paris?"),
        HistoryItem("tool", "", tool=tool),
        HistoryItem("assistant", "It is **sunny**."),
    ]
    fake.add_conversation("Weather", history, Settings(model="agent:assistant"))
    fake.add_conversation("Newer, empty")
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        assert sidebar_titles(app) == ["Newer, empty", "Weather"]
        options = screen.query_one("#conversations", OptionList)
        options.focus()
        await pilot.press("home", "down", "enter")
        await wait_for(pilot, lambda: len(log_of(app).children) == 3, "the history")

        log = log_of(app)
        kinds = [type(w) for w in log.children]
        assert kinds == [UserMessage, ToolBlock, AssistantMessage]
        assert log.query_one(UserMessage).text == "Weather in Paris?"
        assert log.query_one(ToolBlock).call == tool
        assert log.query_one(AssistantMessage).query_one(StoredAnswer).source == "It is **sunny**."
        assert screen.conversation is not None and screen.conversation.title == "Weather"
        assert "→ agent:assistant" in status_text(app)
        assert isinstance(app.focused, Input) and app.focused.id == "prompt"

        await send(pilot, "And tomorrow?")
        await reply_done(pilot)
        assert fake.calls[-1].conversation_id == screen.conversation.id
        assert fake.calls[-1].settings.model == "agent:assistant"


async def test_a_conversation_is_resumed_by_a_new_app_on_the_same_server() -> None:
    fake = FakeChatClient()
    fake.enqueue(TextDelta("Remembered answer"), Finished("r1", "Remembered answer"))
    first = ChatApp(fake)
    async with first.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "remember this")
        await reply_done(pilot)
        conversation = chat_screen(first).conversation
        assert conversation is not None
        await pilot.exit(None)

    second = ChatApp(fake, conversation=conversation.id)
    async with second.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await wait_for(pilot, lambda: len(log_of(second).children) == 2, "the resumed history")
        log = log_of(second)
        assert log.query_one(UserMessage).text == "remember this"
        assert log.query_one(AssistantMessage).query_one(StoredAnswer).source == "Remembered answer"
        assert chat_screen(second).conversation == conversation
        await send(pilot, "and now?")
        await reply_done(pilot)
        assert fake.calls[-1].conversation_id == conversation.id


async def test_a_resumed_conversation_without_a_model_shows_the_target_its_messages_go_to() -> None:
    fake = FakeChatClient()
    conversation = fake.add_conversation("No model chosen", [HistoryItem("user", "hi")])
    app = ChatApp(fake, conversation=conversation)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await wait_for(pilot, lambda: log_of(app).children, "the history")
        assert f"→ {MODEL}" in status_text(app)
        await send(pilot, "again")
        await reply_done(pilot)
        assert fake.calls[-1].settings.model is None  # the server's first model, as the status bar says


async def test_resuming_a_conversation_the_server_lacks_says_so() -> None:
    app = ChatApp(FakeChatClient(), conversation="conv_9999")
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await wait_for(pilot, lambda: log_of(app).query(Notice), "a notice")
        assert "conv_9999 is not on this server" in static_text(log_of(app).query_one(Notice))


# -- picker and settings -------------------------------------------------------


async def test_ctrl_l_picks_the_target_of_new_conversations() -> None:
    fake = FakeChatClient(
        targets=[Target(MODEL, "model"), Target("herd/qwen", "model", "bigger"), Target("agent:assistant", "agent")]
    )
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the picker")
        choices = app.screen.query_one("#choices", OptionList)
        labels = [str(choices.get_option_at_index(i).prompt) for i in range(choices.option_count)]
        assert labels == [f"model: {MODEL}", "model: herd/qwen — bigger", "agent: agent:assistant"]
        assert choices.highlighted == 0
        await pilot.press("down", "down", "enter")
        await wait_for(pilot, lambda: "→ agent:assistant" in status_text(app), "the status bar to show the agent")

        await send(pilot, "hi agent")
        await reply_done(pilot)
        assert fake.calls[-1].settings.model == "agent:assistant"
        assert (await fake.conversations())[0].settings.model == "agent:assistant"


async def pick_agent(pilot, app: ChatApp) -> None:  # noqa: ANN001 - a Pilot
    """ctrl+l, then the fake's agent (after its model), until the status bar shows it."""
    await pilot.press("ctrl+l")
    await wait_for(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the picker")
    await pilot.press("down", "enter")
    await wait_for(pilot, lambda: "→ agent:assistant" in status_text(app), "the status bar to show the agent")


async def test_ctrl_l_in_an_open_conversation_changes_its_settings_on_the_server() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await send(pilot, "first with the model")
        await reply_done(pilot)
        assert fake.calls[-1].settings.model is None
        await pick_agent(pilot, app)
        assert screen.conversation is not None
        stored = (await fake.conversations())[0]
        assert stored.id == screen.conversation.id
        assert stored.settings.model == "agent:assistant"
        await send(pilot, "then with the agent")
        await reply_done(pilot)
        assert fake.calls[-1].settings.model == "agent:assistant"


async def open_settings(pilot, app: ChatApp) -> SettingsScreen:  # noqa: ANN001 - a Pilot
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), "the settings dialog")
    assert isinstance(app.screen, SettingsScreen)
    return app.screen


async def test_settings_saved_go_with_the_next_message() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        dialog = await open_settings(pilot, app)
        area = dialog.query_one("#instructions", TextArea)
        area.focus()
        area.insert("Answer in French.")
        temperature = dialog.query_one("#temperature", Input)
        temperature.focus()
        await pilot.press(*"0.7")
        await pilot.click("#save")
        await wait_for(pilot, lambda: not isinstance(app.screen, SettingsScreen), "the dialog to close")
        await pilot.pause()
        await send(pilot, "bonjour")
        await reply_done(pilot)
        assert fake.calls[-1].settings == Settings(model=None, instructions="Answer in French.", temperature=0.7)
        assert (await fake.conversations())[0].settings.instructions == "Answer in French."


async def test_settings_without_a_model_go_back_to_the_servers_first() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await send(pilot, "hello")
        await reply_done(pilot)
        await pick_agent(pilot, app)

        dialog = await open_settings(pilot, app)
        select = dialog.query_one("#target", Select)
        assert select.value == "agent:assistant"
        select.focus()
        await pilot.press("enter")  # opens the list; its first line is the blank choice
        await wait_for(pilot, lambda: select.expanded, "the list of targets")
        await pilot.press("home", "enter")
        await wait_for(pilot, lambda: select.value is Select.NULL, "the blank choice")
        await pilot.click("#save")
        await wait_for(pilot, lambda: app.screen is screen, "the dialog to close")
        await wait_for(pilot, lambda: f"→ {MODEL}" in status_text(app), "the server's first model in the status bar")
        assert (await fake.conversations())[0].settings.model is None
        await send(pilot, "and now?")
        await reply_done(pilot)
        assert fake.calls[-1].settings.model is None


@pytest.mark.parametrize(
    ("temperature", "error"), [("5", "out of range"), ("abc", "is not a number"), ("-0.1", "out of range")]
)
async def test_a_bad_temperature_is_refused_and_nothing_is_saved(temperature: str, error: str) -> None:
    fake = FakeChatClient()
    app = ChatApp(fake, default=Settings(temperature=0.2))
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        dialog = await open_settings(pilot, app)
        field = dialog.query_one("#temperature", Input)
        assert field.value == "0.2"
        field.focus()
        await pilot.press("ctrl+u", *temperature, "enter")
        await pilot.pause()
        assert app.screen is dialog
        assert error in static_text(dialog.query_one("#error", Label))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the dialog to close")
        await send(pilot, "hi")
        await reply_done(pilot)
        assert fake.calls[-1].settings.temperature == 0.2


async def test_instructions_over_512_characters_are_refused() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        dialog = await open_settings(pilot, app)
        area = dialog.query_one("#instructions", TextArea)
        area.focus()
        app.post_message(events.Paste("x" * 513))  # as the terminal delivers a paste: to the app, for the focus
        await wait_for(pilot, lambda: len(area.text) == 513, "the pasted prompt")
        await pilot.click("#save")
        await pilot.pause()
        assert app.screen is dialog
        assert "513 characters; shorten it to 512" in static_text(dialog.query_one("#error", Label))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the dialog to close")
        await send(pilot, "hi")
        await reply_done(pilot)
        assert fake.calls[-1].settings.instructions == ""


# -- attachments ---------------------------------------------------------------


async def attach_through_dialog(pilot, app: ChatApp, path: str) -> TextScreen:  # noqa: ANN001 - a Pilot
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), "the attach dialog")
    dialog = app.screen
    assert isinstance(dialog, TextScreen)
    dialog.query_one("#answer", Input).value = path
    await pilot.press("enter")
    await pilot.pause()
    return dialog


def attached_line(app: ChatApp) -> Static:
    return chat_screen(app).query_one("#attached", Static)


@pytest.mark.parametrize(("name", "fmt", "kind"), [("chart.png", "PNG", "PNG"), ("photo.jpg", "JPEG", "JPEG"),
                                                   ("pic.webp", "WEBP", "WebP")])  # fmt: skip
async def test_an_attached_image_is_shown_in_the_composer_and_sent(
    tmp_path: Path, name: str, fmt: str, kind: str
) -> None:
    path = write_image(tmp_path, name, fmt)
    size = path.stat().st_size
    fake = FakeChatClient()
    app = ChatApp(fake, inline_images=False)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await attach_through_dialog(pilot, app, str(path))
        await wait_for(pilot, lambda: not isinstance(app.screen, TextScreen), "the dialog to close")
        shown = attached_line(app)
        assert shown.display
        assert static_text(shown) == f"📎 {name} · {kind} · {size} B"

        await send(pilot, "what is in it?")
        await reply_done(pilot)
        (attachment,) = fake.calls[-1].attachments
        assert attachment.name == name
        assert attachment.mime == {"PNG": "image/png", "JPEG": "image/jpeg", "WebP": "image/webp"}[kind]
        assert attachment.data == path.read_bytes()
        placeholder = log_of(app).query_one(UserMessage).query_one(".image-placeholder", Static)
        assert static_text(placeholder) == f"🖼  {name} · {kind} · {size} B"
        assert not attached_line(app).display, "the attachment stayed for the next message"


async def test_on_a_terminal_that_shows_images_the_attachment_is_drawn_inline(tmp_path: Path) -> None:
    from textual_image.widget import Image

    path = write_image(tmp_path, "chart.png", "PNG")
    fake = FakeChatClient()
    app = ChatApp(fake, inline_images=True)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await attach_through_dialog(pilot, app, str(path))
        await wait_for(pilot, lambda: not isinstance(app.screen, TextScreen), "the dialog to close")
        await send(pilot, "what is in it?")
        await reply_done(pilot)
        message = log_of(app).query_one(UserMessage)
        (drawn,) = message.query(".inline-image")
        assert isinstance(drawn, Image) and drawn.region.height > 0
        assert not message.query(".image-placeholder")


async def test_files_that_are_not_images_are_refused_and_nothing_is_attached(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.png"  # named like an image; its content decides
    text_file.write_text("just text\n")
    too_big = tmp_path / "huge.png"
    with too_big.open("wb") as f:  # a sparse file: over the limit by its size, without writing 21 MB
        f.write(write_image(tmp_path, "seed.png", "PNG").read_bytes())
        f.truncate(21 * 1024 * 1024)
    cases = [
        (str(text_file), "notes.png is not a PNG, JPEG or WebP image"),
        (str(tmp_path / "missing.png"), "is not a file"),
        (str(too_big), "huge.png is 21.0 MB; images up to 20.0 MB can be attached"),
        ("", "give the path of a PNG, JPEG or WebP image"),
    ]
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        for path, message in cases:
            dialog = await attach_through_dialog(pilot, app, path)
            assert app.screen is dialog, f"{path!r} was accepted"
            assert message in static_text(dialog.query_one("#error", Label))
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen, "the dialog to close")
            assert not attached_line(app).display
        await send(pilot, "no pictures")
        await reply_done(pilot)
        assert fake.calls[-1].attachments == ()
        assert not log_of(app).query(".image-placeholder")


async def test_pasting_an_image_path_attaches_it_and_pasting_text_inserts_it(tmp_path: Path) -> None:
    path = write_image(tmp_path, "dropped file.png", "PNG")
    text_file = tmp_path / "readme.txt"
    text_file.write_text("not an image")
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        prompt = screen.query_one("#prompt", Input)
        assert app.focused is prompt
        # as the terminal delivers a paste: to the app, which hands it to the focused widget
        app.post_message(events.Paste(f"'{path}' "))  # terminals paste a dropped file quoted
        await wait_for(pilot, lambda: attached_line(app).display, "the attachment")
        assert prompt.value == ""
        assert "dropped file.png · PNG" in static_text(attached_line(app))

        app.post_message(events.Paste("look at this"))
        await wait_for(pilot, lambda: prompt.value == "look at this", "the pasted text")
        app.post_message(events.Paste(f" {text_file}"))
        await wait_for(pilot, lambda: prompt.value.endswith("readme.txt"), "the pasted path of a text file")
        await pilot.press("enter")
        await reply_done(pilot)
        assert fake.calls[-1].text == f"look at this {text_file}"
        assert [a.name for a in fake.calls[-1].attachments] == ["dropped file.png"]


# -- tool calls, citations, shields --------------------------------------------


async def test_a_tool_call_is_one_block_titled_with_its_name_and_duration() -> None:
    fake = FakeChatClient()
    running = ToolCall("call_1", "get_weather", '{"city": "Paris"}')
    done = ToolCall("call_1", "get_weather", '{"city": "Paris"}', output="sunny, 21 °C", done=True, duration_s=0.42)
    fake.enqueue(running, 1.0, done, TextDelta("It is sunny."), Finished("r1", "It is sunny."))
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "weather?")
        await wait_for(pilot, lambda: log_of(app).query(ToolBlock), "the running tool")
        assert log_of(app).query_one(ToolBlock).title == "⚙ get_weather · running…"
        await reply_done(pilot)

        (block,) = log_of(app).query(ToolBlock)
        assert block.title == "⚙ get_weather · 0.42 s"
        assert block.collapsed
        assert not block.has_class("failed")
        await pilot.click(block.query_one("CollapsibleTitle"))
        await wait_for(pilot, lambda: not block.collapsed, "the block to expand")
        contents = block.query_one(Collapsible.Contents)
        assert contents.display and contents.region.height > 0
        parts = [static_text(s) for s in block.query(".tool-part").results(Static)]
        assert parts == ['arguments:\n{\n  "city": "Paris"\n}', "result:\nsunny, 21 °C"]
        assert log_of(app).query_one(AssistantMessage).text == "It is sunny."


async def test_a_failed_tool_call_shows_as_failed() -> None:
    fake = FakeChatClient()
    failed = ToolCall("call_1", "search", '{"q": "x"}', error="HTTP 503 from the index", done=True, duration_s=1.5)
    fake.enqueue(ToolCall("call_1", "search", '{"q": "x"}'), failed, Finished("r1", "The search failed."))
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "search x")
        await reply_done(pilot)
        (block,) = log_of(app).query(ToolBlock)
        assert block.title == "✗ search · 1.50 s · failed"
        assert block.has_class("failed")
        block.collapsed = False
        await pilot.pause()
        parts = [static_text(s) for s in block.query(".tool-part").results(Static)]
        assert parts[1] == "error:\nHTTP 503 from the index"


async def test_a_failed_tool_call_from_the_history_shows_as_failed() -> None:
    fake = FakeChatClient()
    failed = ToolCall("c1", "search", "{}", error="timed out", done=True, duration_s=3.0, server="docs")
    conversation = fake.add_conversation("Old", [HistoryItem("user", "find it"), HistoryItem("tool", "", tool=failed)])
    app = ChatApp(fake, conversation=conversation)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await wait_for(pilot, lambda: log_of(app).query(ToolBlock), "the history")
        block = log_of(app).query_one(ToolBlock)
        assert block.title == "✗ docs.search · 3.00 s · failed"
        assert block.has_class("failed")


async def test_citations_list_their_sources_and_open_with_passages_and_the_file() -> None:
    fake = FakeChatClient()
    fake.files["file-1"] = "Herds are groups of animals.\nThey move together."
    citations = (
        Citation("file-1", "herds.md", ("Herds are groups of animals.",)),
        Citation("file-gone", "old.pdf", ("A passage of a deleted file.",)),
    )
    fake.enqueue(TextDelta("Herds are groups [1]."), Finished("r1", "Herds are groups [1].", citations=citations))
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await send(pilot, "what is a herd?")
        await reply_done(pilot)
        sources = log_of(app).query_one(AssistantMessage).query_one(CitationList)
        assert static_text(sources.query_one(".label", Static)) == "Sources:"
        buttons = list(sources.query(Button))
        assert [str(b.label) for b in buttons] == ["[1] herds.md", "[2] old.pdf"]

        await pilot.click("#cite-1")
        await wait_for(pilot, lambda: isinstance(app.screen, CitationScreen), "the citation screen")
        shown = app.screen.query_one("#file-text", Static)
        await wait_for(pilot, lambda: "Loading" not in static_text(shown), "the file text")
        source = app.screen.query_one(Markdown).source
        assert source.startswith("# herds.md") and "> Herds are groups of animals." in source
        text = fake.files["file-1"]
        assert static_text(shown) == f"── herds.md ({len(text)} characters) ──\n{text}"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the citation screen to close")

        await pilot.click("#cite-2")
        await wait_for(pilot, lambda: isinstance(app.screen, CitationScreen), "the citation screen")
        shown = app.screen.query_one("#file-text", Static)
        await wait_for(pilot, lambda: "Loading" not in static_text(shown), "the file text")
        assert "> A passage of a deleted file." in app.screen.query_one(Markdown).source
        assert static_text(shown) == "The file itself cannot be shown: file file-gone does not exist"


async def test_an_input_blocked_by_a_shield_shows_the_category_and_the_shield() -> None:
    fake = FakeChatClient()
    verdict = ShieldVerdict("llama-guard", "input", ("S2 Non-Violent Crimes",))
    fake.enqueue(Blocked("I can't help with that.", (verdict,)))
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "how do I pick a lock")
        await reply_done(pilot)
        log = log_of(app)
        assert not log.query(AssistantMessage), "an empty answer stayed above the notice"
        (notice,) = log.query(Notice)
        assert notice.has_class("blocked")
        text = static_text(notice)
        assert "I can't help with that." in text
        assert "S2 Non-Violent Crimes" in text and "llama-guard" in text and "input" in text
        assert "blocked by a shield" in status_text(app)


async def test_an_output_blocked_after_some_text_keeps_the_text_and_adds_the_notice() -> None:
    fake = FakeChatClient()
    verdict = ShieldVerdict("llama-guard", "output", ("S9 Indiscriminate Weapons",))
    fake.enqueue(TextDelta("Here is how"), TextDelta(" it starts"), Blocked("The answer was withheld.", (verdict,)))
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "tell me")
        await reply_done(pilot)
        log = log_of(app)
        assert [type(w) for w in log.children] == [UserMessage, AssistantMessage, Notice]
        assert log.query_one(AssistantMessage).query_one(Markdown).source == "Here is how it starts"
        text = static_text(log.query_one(Notice))
        assert "output: shield 'llama-guard' · S9 Indiscriminate Weapons" in text


# -- errors --------------------------------------------------------------------


async def test_a_server_that_is_down_is_said_and_ctrl_r_reconnects() -> None:
    fake = FakeChatClient()
    fake.down = True
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        assert not screen.connected
        (notice,) = log_of(app).query(Notice)
        assert "no Herd server answers at http://127.0.0.1:8321" in static_text(notice)
        assert "ctrl+r" in static_text(notice)
        assert "ctrl+g" not in static_text(notice)
        assert screen.status.has_class("down")
        assert "no server at http://127.0.0.1:8321" in status_text(app)

        fake.down = False
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.connected, "the reconnection")
        await pilot.pause()
        assert not log_of(app).query(Notice)
        assert not screen.status.has_class("down")
        assert "Herd (fake)" in status_text(app)
        await send(pilot, "are you there?")
        await reply_done(pilot)
        assert fake.calls[-1].text == "are you there?"
        assert log_of(app).query_one(AssistantMessage).text == "ok"


async def test_a_message_sent_while_the_server_is_down_is_resent_by_ctrl_r() -> None:
    fake = FakeChatClient()
    fake.down = True
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await send(pilot, "hello?")
        await pilot.pause()
        await reply_done(pilot)
        assert fake.calls == []
        fake.down = False
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.connected and fake.calls, "the resend")
        await reply_done(pilot)
        assert [c.text for c in fake.calls] == ["hello?"]
        assert [c.title for c in await fake.conversations()] == ["hello?"]


async def test_a_missing_model_says_to_pick_another_and_ctrl_r_resends() -> None:
    fake = FakeChatClient()
    fake.enqueue(Failed("model herd/gone is not on this server", "missing"))
    fake.enqueue(TextDelta("Now it works"), Finished("r2", "Now it works"))
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await send(pilot, "hello")
        await reply_done(pilot)
        (notice,) = log_of(app).query(Notice)
        assert notice.has_class("missing")
        assert "model herd/gone is not on this server" in static_text(notice)
        assert "Pick another model or agent with ctrl+l" in static_text(notice)
        assert "failed (ctrl+r retries)" in status_text(app)

        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(fake.calls) == 2, "the resend")
        await reply_done(pilot)
        assert [c.text for c in fake.calls] == ["hello", "hello"]
        assert log_of(app).query(AssistantMessage).last().text == "Now it works"


async def test_a_failed_conversation_create_does_not_crash_the_app() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        fake.error = ChatError("the conversations store is read-only", "failed")
        await send(pilot, "hi")
        await reply_done(pilot)
        notice = log_of(app).query_one(Notice)
        assert "the conversations store is read-only" in static_text(notice)
        assert "ctrl+r" in static_text(notice)
        assert fake.calls == []
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: fake.calls, "the resend")
        await reply_done(pilot)
        assert [c.text for c in fake.calls] == ["hi"]


# -- help, theme, palette, sidebar ---------------------------------------------


async def test_f1_lists_every_key_binding_and_escape_closes_it() -> None:
    app = ChatApp(FakeChatClient())
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await pilot.press("f1")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "the help screen")
        source = app.screen.query_one(Markdown).source
        for key, _action, _label, help_text in ACTIONS:
            assert f"| {key} | {help_text} |" in source
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, "the help to close")


async def test_ctrl_t_switches_between_dark_and_light() -> None:
    app = ChatApp(FakeChatClient())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.current_theme.dark is not dark
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.current_theme.dark is dark


async def test_ctrl_b_hides_and_shows_the_sidebar() -> None:
    app = ChatApp(FakeChatClient())
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        sidebar = screen.query_one(Sidebar)
        assert sidebar.region.width > 0
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert sidebar.region.width == 0 and not sidebar.display
        assert log_of(app).region.x == 0
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert sidebar.region.width > 0


async def palette_search(pilot, app: ChatApp, text: str) -> list[str]:  # noqa: ANN001 - a Pilot
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the command palette")
    await pilot.press(*text)
    palette = app.screen
    options = palette.query_one("CommandList", OptionList)

    def prompts() -> list[str]:
        return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]

    await wait_for(pilot, lambda: any(text.lower() in p.lower() for p in prompts()), f"a {text!r} command")
    return prompts()


async def test_every_action_is_a_command_of_the_palette() -> None:
    app = ChatApp(FakeChatClient())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        found = await palette_search(pilot, app, "Rename")
        assert any("Rename (f2)" in p for p in found)
        await pilot.press("escape")
        screen = chat_screen(app)
        commands = [c.title for c in app.get_system_commands(screen)]
        for key, _action, label, _help in ACTIONS:
            assert f"{label} ({key})" in commands


async def test_running_a_palette_command_runs_its_action() -> None:
    app = ChatApp(FakeChatClient())
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        sidebar = screen.query_one(Sidebar)
        assert sidebar.display
        await palette_search(pilot, app, "Sidebar")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not sidebar.display, "the sidebar to hide")
        assert app.screen is screen


# -- long conversations --------------------------------------------------------


async def test_a_long_conversation_mounts_only_its_last_page_and_shows_more_on_demand() -> None:
    fake = FakeChatClient()
    history = [HistoryItem("user" if i % 2 == 0 else "assistant", f"message {i}") for i in range(1000)]
    conversation = fake.add_conversation("Long", history)
    app = ChatApp(fake, conversation=conversation)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        log = log_of(app)
        await wait_for(pilot, lambda: log.children, "the history")
        await pilot.pause()
        assert len(log.children) <= WINDOW + 1
        assert log.children[0].id == "earlier"
        assert "940 not shown" in str(log.query_one("#earlier", Button).label)
        last = log.children[-1]
        assert isinstance(last, AssistantMessage) and last.text == "message 999"
        await wait_for(pilot, lambda: log.scroll_y == log.max_scroll_y, "the log to scroll to its end")
        assert log.max_scroll_y > 0

        log.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        await pilot.click("#earlier")
        await wait_for(pilot, lambda: len(log.children) == 2 * WINDOW + 1, "60 more messages")
        assert "880 not shown" in str(log.query_one("#earlier", Button).label)
        first_shown = log.children[1]
        assert isinstance(first_shown, UserMessage) and first_shown.text == "message 880"

        await send(pilot, "still typing", keys=True)
        await reply_done(pilot)
        assert fake.calls[-1].text == "still typing"


# -- the embedded server -------------------------------------------------------


async def test_ctrl_g_starts_the_embedded_server_and_switches_to_it() -> None:
    down = FakeChatClient()
    down.down = True
    embedded = FakeChatClient()
    embedded.add_conversation("On the embedded server")
    launcher, factory = FakeLauncher(), Factory(embedded)
    app = ChatApp(down, launcher=launcher, client_factory=factory)  # type: ignore[arg-type] # a fake launcher
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        notice = static_text(log_of(app).query_one(Notice))
        assert "ctrl+g" in notice
        assert "ctrl+g starts the embedded distribution" in status_text(app)

        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: screen.connected, "the embedded server")
        await pilot.pause()
        assert launcher.started == 1
        assert factory.urls == [launcher.url]
        assert app.client is embedded and screen.client is embedded
        assert launcher.describe() in status_text(app)
        assert not log_of(app).query(Notice)
        assert sidebar_titles(app) == ["On the embedded server"]

        await send(pilot, "hello embedded")
        await reply_done(pilot)
        assert [c.text for c in embedded.calls] == ["hello embedded"]
        assert down.calls == []
        assert launcher.stops == 0
    assert launcher.stops == 1


class BrokenLauncher(FakeLauncher):
    async def start(self) -> str:
        self.started += 1
        raise RuntimeError("the embedded server exited (1): port in use")


async def test_an_embedded_server_that_does_not_start_is_said_and_the_app_goes_on() -> None:
    fake = FakeChatClient()
    fake.down = True
    launcher = BrokenLauncher()
    app = ChatApp(fake, launcher=launcher, client_factory=Factory(FakeChatClient()))  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: launcher.started == 1 and notifications(app)[-1][1] == "error", "the error")
        assert ("the embedded server exited (1): port in use", "error") in notifications(app)
        assert "the embedded server did not start" in status_text(app)
        assert app.client is fake and not screen.connected
        fake.down = False
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: screen.connected, "the reconnection")


async def test_ctrl_g_without_a_launcher_says_it_cannot() -> None:
    fake = FakeChatClient()
    fake.down = True
    app = ChatApp(fake, launcher=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await connected(pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert any("herd run" in m for m, s in notifications(app) if s == "warning")
        assert not screen.connected


async def test_ctrl_g_when_a_server_answers_says_so() -> None:
    launcher = FakeLauncher()
    app = ChatApp(FakeChatClient(), launcher=launcher, client_factory=Factory(FakeChatClient()))  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        assert launcher.started == 0
        assert any("already answers" in m for m, _ in notifications(app))
