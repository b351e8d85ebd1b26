"""SVG snapshots of the chat app's layouts (pytest-textual-snapshot; `--snapshot-update` rewrites them).

Every reply is scripted with fixed timings (``Finished`` carries them), so nothing measured
with a clock reaches the screen and the snapshots are stable.
"""

from collections.abc import Callable

from textual.pilot import Pilot

from herd.apps.chat.app import ChatApp
from herd.apps.chat.events import ApprovalRequest, Blocked, Finished, ShieldVerdict, TextDelta, ToolCall
from herd.apps.chat.fake import FakeChatClient
from herd.apps.chat.widgets.tool_block import ToolBlock
from tests.chat_helpers import chat_screen, connected, reply_done, send, wait_for

TERMINAL = (110, 32)
ANSWER = """A herd moves together. To count one in Python:

```python
herd = ["ox", "yak", "bison"]
print(len(herd))
```

That prints **3**."""


def after_sending(text: str) -> Callable[[Pilot], object]:
    async def run_before(pilot: Pilot) -> None:
        await connected(pilot)
        await send(pilot, text)
        await reply_done(pilot)

    return run_before


def test_a_short_conversation(snap_compare) -> None:  # noqa: ANN001 - the plugin's fixture
    """The main screen: a user message, a Markdown answer with a code block and its stats, two conversations."""
    fake = FakeChatClient()
    fake.add_conversation("Planning the spring trip")
    fake.enqueue(
        TextDelta(ANSWER[:40]),
        TextDelta(ANSWER[40:]),
        Finished("resp_1", ANSWER, input_tokens=12, output_tokens=42, ttft_s=0.35, total_s=1.75),
    )
    assert snap_compare(ChatApp(fake), terminal_size=TERMINAL, run_before=after_sending("How do I count a herd?"))


def test_an_expanded_tool_call(snap_compare) -> None:  # noqa: ANN001 - the plugin's fixture
    """A finished tool call, expanded: its name and duration, then its arguments and its result."""
    fake = FakeChatClient()
    arguments = '{"city": "Lyon", "unit": "celsius"}'
    fake.enqueue(
        ToolCall("call_1", "get_weather", arguments),
        ToolCall("call_1", "get_weather", arguments, output="light rain, 14 °C", done=True, duration_s=0.42),
        TextDelta("It is raining lightly in Lyon: 14 °C."),
        Finished("resp_1", "It is raining lightly in Lyon: 14 °C.", output_tokens=11, ttft_s=0.5, total_s=1.0),
    )

    async def run_before(pilot: Pilot) -> None:
        await after_sending("Weather in Lyon?")(pilot)
        block = chat_screen(pilot.app).query_one(ToolBlock)  # type: ignore[arg-type]
        await pilot.click(block.query_one("CollapsibleTitle"))
        await wait_for(pilot, lambda: not block.collapsed, "the tool block to expand")
        await pilot.hover("#status")  # the pointer off the title, which it would highlight
        chat_screen(pilot.app).query_one("#prompt").focus()  # type: ignore[arg-type] # back where typing goes

    assert snap_compare(ChatApp(fake), terminal_size=TERMINAL, run_before=run_before)


def test_a_blocked_message(snap_compare) -> None:  # noqa: ANN001 - the plugin's fixture
    """An input a shield refused: the notice names the category and the shield."""
    fake = FakeChatClient()
    verdict = ShieldVerdict("llama-guard", "input", ("S2 Non-Violent Crimes",))
    fake.enqueue(Blocked("I can't help with that request.", (verdict,)))
    assert snap_compare(ChatApp(fake), terminal_size=TERMINAL, run_before=after_sending("How do I pick a lock?"))


def test_the_server_down_notice(snap_compare) -> None:  # noqa: ANN001 - the plugin's fixture
    """No server answers: the notice says what to do, the status bar says it too."""
    fake = FakeChatClient()
    fake.down = True

    async def run_before(pilot: Pilot) -> None:
        await connected(pilot)

    assert snap_compare(ChatApp(fake), terminal_size=TERMINAL, run_before=run_before)


def test_a_call_waiting_for_approval(snap_compare) -> None:  # noqa: ANN001 - the plugin's fixture
    """A tool call with side effects the server holds: what it would run, Approve and Deny, the status line."""
    fake = FakeChatClient()
    arguments = '{"title": "Spring trip", "text": "Book the train for 12 April."}'
    fake.enqueue(ApprovalRequest("approval_1", "write_note", arguments, "notes"), Finished("resp_1", "", total_s=0.8))
    screen = after_sending("Save a note: book the train for 12 April.")
    assert snap_compare(ChatApp(fake), terminal_size=TERMINAL, run_before=screen)
