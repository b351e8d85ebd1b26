"""Tool calls that wait for approval, in the chat app (pilot, FakeChatClient): shown, answered
with f5 / f6 or the block's buttons, sent together, resumed from the history."""

from textual.widgets import Button, Input, Static

from herd.apps.chat.app import ChatApp
from herd.apps.chat.events import ApprovalRequest, Decision, Failed, Finished, HistoryItem, TextDelta, ToolCall
from herd.apps.chat.fake import FakeChatClient
from herd.apps.chat.screens.dialogs import TextScreen
from herd.apps.chat.widgets.approval import ApprovalBlock
from herd.apps.chat.widgets.log import MessageLog
from herd.apps.chat.widgets.messages import AssistantMessage
from herd.apps.chat.widgets.tool_block import ToolBlock
from tests.chat_helpers import SIZE, chat_screen, connected, reply_done, send, wait_for

WRITE = ApprovalRequest("approval_1", "write_note", '{"title": "plan", "text": "ship it"}', "notes")
DELETE = ApprovalRequest("approval_2", "delete_note", '{"title": "old"}', "notes")


def blocks(app: ChatApp) -> list[ApprovalBlock]:
    return list(chat_screen(app).query_one(MessageLog).query(ApprovalBlock))


def state(block: ApprovalBlock) -> str:
    return str(block.query_one(".state", Static).render())


def buttons_shown(block: ApprovalBlock) -> bool:
    return bool(block.query_one(".buttons").display)


def status_text(app: ChatApp) -> str:
    return str(chat_screen(app).status.render())


def warnings(app: ChatApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "warning"]


async def asked(pilot, fake: FakeChatClient, *requests: ApprovalRequest) -> None:  # noqa: ANN001 - Textual's Pilot
    fake.enqueue(*requests, Finished("r1", ""))
    await connected(pilot)
    await send(pilot, "save my plan")
    await reply_done(pilot)


async def test_a_call_waiting_for_approval_shows_what_it_would_run_and_f5_runs_it() -> None:
    fake = FakeChatClient()
    ran = ToolCall(
        "mcp_1", "write_note", WRITE.arguments, "saved note 'plan'", done=True, duration_s=0.1, server="notes"
    )
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await asked(pilot, fake, WRITE)
        (block,) = blocks(app)
        title = str(block.query_one(".title", Static).render())
        assert title == "✋ notes.write_note changes things: it runs only if you approve"
        assert '"title": "plan"' in str(block.query_one(".arguments", Static).render())
        assert state(block) == "waiting for your answer" and block.waiting
        assert "approval needed: f5 approves, f6 denies" in status_text(app)
        assert buttons_shown(block)

        fake.enqueue(ran, TextDelta("Saved your plan."), Finished("r2", "Saved your plan."))
        await pilot.press("f5")
        await wait_for(pilot, lambda: fake.decisions, "the decision to be sent")
        await reply_done(pilot)
        assert fake.decisions == [(Decision(WRITE, True),)]
        assert state(block) == "✔ approved" and not block.waiting and not buttons_shown(block)
        answer = chat_screen(app).query(AssistantMessage).last()
        assert answer.text == "Saved your plan."
        assert answer.query_one(ToolBlock).title == "⚙ notes.write_note · 0.10 s"
        await pilot.press("f5")
        await pilot.pause()
        assert "No tool call waits for your approval" in warnings(app)
        assert len(fake.decisions) == 1


async def test_f6_asks_why_and_the_reason_goes_with_the_denial() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await asked(pilot, fake, WRITE)
        fake.enqueue(TextDelta("I did not save it."), Finished("r2", "I did not save it."))
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), "the question why")
        app.screen.query_one(Input).insert_text_at_cursor("not now")
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake.decisions, "the denial to be sent")
        await reply_done(pilot)
        assert fake.decisions == [(Decision(WRITE, False, "not now"),)]
        assert state(blocks(app)[0]) == "✗ denied: not now"


async def test_escape_on_the_question_why_denies_nothing() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await asked(pilot, fake, WRITE)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), "the question why")
        await pilot.press("escape")
        await pilot.pause()
        assert not fake.decisions and blocks(app)[0].waiting and blocks(app)[0].pending is None


async def test_two_calls_are_answered_with_their_buttons_and_sent_together() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await asked(pilot, fake, WRITE, DELETE)
        first, second = blocks(app)
        await pilot.click(second.query_one("#approve", Button))
        await pilot.pause()
        assert not fake.decisions  # the other call still waits
        assert state(second).startswith("✔ approved · sent with the other calls' answers")
        await pilot.click(first.query_one("#deny", Button))
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen), "the question why")
        await pilot.press("enter")  # no reason
        await wait_for(pilot, lambda: fake.decisions, "the decisions to be sent")
        await reply_done(pilot)
        assert fake.decisions == [(Decision(WRITE, False), Decision(DELETE, True))]
        assert [state(b) for b in (first, second)] == ["✗ denied", "✔ approved"]


async def test_a_new_message_leaves_the_waiting_call_unanswered() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await asked(pilot, fake, WRITE)
        await send(pilot, "never mind")
        await reply_done(pilot)
        (block,) = blocks(app)
        assert not block.waiting and state(block) == "not answered (the conversation went on)"
        assert not buttons_shown(block)
        await pilot.press("f5")
        await pilot.pause()
        assert "No tool call waits for your approval" in warnings(app) and not fake.decisions


async def test_answers_the_server_fails_to_take_are_asked_again() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await asked(pilot, fake, WRITE)
        fake.enqueue(Failed("the reply failed: notes is down", "failed"))
        await pilot.press("f5")
        await wait_for(pilot, lambda: fake.decisions, "the decision to be sent")
        await reply_done(pilot)
        (block,) = blocks(app)
        assert block.waiting and block.pending is None and state(block) == "waiting for your answer"
        assert "failed (f5 / f6 answer again)" in status_text(app)
        assert chat_screen(app).failed_message is None  # ctrl+r has no message to resend
        fake.enqueue(TextDelta("Saved."), Finished("r3", "Saved."))
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(fake.decisions) == 2, "the decision to be sent again")
        await reply_done(pilot)
        assert state(block) == "✔ approved"


async def test_a_resumed_conversation_shows_past_answers_and_the_call_still_waiting() -> None:
    fake = FakeChatClient()
    old = ApprovalRequest("approval_0", "write_note", '{"title": "a"}', "notes")
    history = [
        HistoryItem("user", "save a"),
        HistoryItem("tool", "", approval=old, decision=Decision(old, False, "wrong title")),
        HistoryItem("assistant", "I did not save it."),
        HistoryItem("user", "save my plan"),
        HistoryItem("tool", "", approval=WRITE),
    ]
    conversation = fake.add_conversation("Notes", history)
    app = ChatApp(fake, conversation=conversation)
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        await wait_for(pilot, lambda: len(blocks(app)) == 2, "the history")
        past, waiting = blocks(app)
        assert state(past) == "✗ denied: wrong title" and not past.waiting
        assert not buttons_shown(past)
        assert waiting.waiting and buttons_shown(waiting)
        fake.enqueue(TextDelta("Saved."), Finished("r2", "Saved."))
        await pilot.press("f5")
        await wait_for(pilot, lambda: fake.decisions, "the decision to be sent")
        await reply_done(pilot)
        assert fake.decisions == [(Decision(WRITE, True),)]
        assert [h.decision for h in await fake.history(conversation) if h.approval] == [
            Decision(old, False, "wrong title"),
            Decision(WRITE, True),
        ]


async def test_f5_while_a_reply_streams_is_refused() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await asked(pilot, fake, WRITE)
        fake.enqueue(TextDelta("still "), 5.0, Finished("r2", "still going"))
        await send(pilot, "and another thing")
        await wait_for(pilot, lambda: chat_screen(app).is_replying, "the reply to start")
        await pilot.press("f5")
        await pilot.pause()
        assert "A reply is still coming; press escape to stop it first" in warnings(app)
        assert not fake.decisions
        await pilot.press("escape")
        await reply_done(pilot)


async def test_escape_stops_the_reply_to_the_answers_and_keeps_them() -> None:
    fake = FakeChatClient()
    app = ChatApp(fake)
    async with app.run_test(size=SIZE) as pilot:
        await asked(pilot, fake, WRITE)
        fake.enqueue(TextDelta("Saving "), 5.0, Finished("r2", "Saving it now."))
        await pilot.press("f5")
        await wait_for(pilot, lambda: chat_screen(app).is_replying and fake.decisions, "the reply to the answer")
        await wait_for(pilot, lambda: "Saving" in chat_screen(app).query(AssistantMessage).last().text, "its text")
        await pilot.press("escape")
        await reply_done(pilot)
        (block,) = blocks(app)
        assert state(block) == "✔ approved" and not block.waiting
        assert fake.stopped == 1
