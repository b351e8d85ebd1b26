"""Herd's screening of requests and replies, on a scripted shield: what is judged, when a
stream is checked, what the client gets when a shield flags or cannot judge."""

import json
from typing import Any

import pytest

from herd.distribution.screen_input import screen_request
from herd.distribution.screened_send import ScreenedSend
from herd.distribution.screening import Screening
from herd.distribution.shield_policy import ShieldPolicy
from herd.errors import ShieldUnavailable
from herd.providers.shields.verdict import Turn
from tests.fake_shields import FakeSafety

SSE = [(b"content-type", b"text/event-stream")]


def screening(flag: Any = lambda t: "BAD" in t, hold: int = 300, **kwargs: Any) -> Screening:
    policy = ShieldPolicy(input=["fake"], output=["fake"], tool_results=["fake"], max_hold_chars=hold)
    return Screening(FakeSafety(flag, **kwargs), policy)


# -- input ----------------------------------------------------------------------


async def test_only_the_trailing_user_messages_are_judged() -> None:
    s = screening()
    body = {
        "messages": [
            {"role": "system", "content": "You are BAD at nothing."},
            {"role": "user", "content": "BAD old question"},
            {"role": "assistant", "content": "an answer"},
            {"role": "user", "content": "a new question"},
        ]
    }
    assert await screen_request(s, "/v1/chat/completions", body) is None
    judged = s.safety.shields.calls
    assert len(judged) == 1 and judged[0][-1].text == "a new question" and len(judged[0]) == 3


async def test_a_flagged_user_message_refuses_and_a_flagged_tool_result_is_replaced() -> None:
    s = screening()
    verdict = await screen_request(s, "/v1/responses", {"input": "this is BAD"})
    assert verdict is not None and verdict.categories == ["S1"]
    items = [
        {"type": "message", "role": "user", "content": "weather?"},
        {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny. BAD instructions here"},
    ]
    assert await screen_request(s, "/v1/responses", {"input": items}) is None
    assert items[2]["output"].startswith("[Herd removed this content: shield 'fake'")


async def test_redaction_rewrites_the_message() -> None:
    s = screening(redact=lambda t: t.replace("bob@example.com", "[email]"))
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "mail bob@example.com"}]}]}
    await screen_request(s, "/v1/chat/completions", body)
    assert body["messages"][0]["content"] == [{"type": "text", "text": "mail [email]"}]


async def test_a_shield_that_cannot_judge_fails_closed_or_open_by_policy() -> None:
    closed = screening(fail=True)
    with pytest.raises(ShieldUnavailable, match="fails closed"):
        await screen_request(closed, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
    opened = Screening(FakeSafety(fail=True), ShieldPolicy(input=["fake"], on_error="open"))
    assert (
        await screen_request(opened, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}) is None
    )
    assert opened.report()[0]["error"]


# -- output ---------------------------------------------------------------------


class Sink:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")

    def events(self) -> list[Any]:
        out = []
        for block in self.body().split(b"\n\n"):
            if block.startswith(b"data: "):
                out.append(block[6:].decode() if block[6:] == b"[DONE]" else json.loads(block[6:]))
        return out


def chat_chunk(text: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": text} if text is not None else {}
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


async def stream(send: ScreenedSend, pieces: list[bytes]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": SSE})
    for piece in pieces:
        await send({"type": "http.response.body", "body": piece, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def texts(sink: Sink) -> str:
    return "".join(
        e["choices"][0]["delta"].get("content") or "" for e in sink.events() if isinstance(e, dict) and e.get("choices")
    )


async def test_a_stream_is_held_until_a_sentence_ends() -> None:
    s, sink = screening(), Sink()
    send = ScreenedSend(sink, s, [Turn("user", "q")], "chat")
    await send({"type": "http.response.start", "status": 200, "headers": SSE})
    for piece in ("Hello", " there", ". More"):
        await send({"type": "http.response.body", "body": chat_chunk(piece), "more_body": True})
    assert texts(sink) == "Hello there. More"  # released together, after the full stop
    assert len(s.safety.shields.calls) == 1
    await send({"type": "http.response.body", "body": chat_chunk(" words"), "more_body": True})
    assert texts(sink) == "Hello there. More"  # held: no boundary yet
    await send(
        {"type": "http.response.body", "body": chat_chunk(finish="stop") + b"data: [DONE]\n\n", "more_body": False}
    )
    assert texts(sink) == "Hello there. More words" and sink.events()[-1] == "[DONE]"
    assert [t[-1].text for t in s.safety.shields.calls] == ["Hello there. More", "Hello there. More words"]


async def test_held_text_is_released_after_max_hold_chars_without_a_boundary() -> None:
    s, sink = screening(hold=20), Sink()
    await stream(ScreenedSend(sink, s, [], "chat"), [chat_chunk("abcdefgh") for _ in range(5)])
    assert [len(t[-1].text) for t in s.safety.shields.calls] == [24, 40]  # at 24 characters, then the end
    assert texts(sink) == "abcdefgh" * 5


async def test_each_check_reads_the_new_sentence_with_the_one_before_not_the_whole_reply() -> None:
    s, sink = screening(), Sink()
    sentences = [f"Sentence number {i} is here. " for i in range(10)]
    await stream(ScreenedSend(sink, s, [], "chat"), [chat_chunk(t) for t in sentences] + [chat_chunk(finish="stop")])
    judged = [t[-1].text for t in s.safety.shields.calls]
    assert judged[0] == sentences[0] and judged[-1] == sentences[8] + sentences[9] and len(judged) == 10
    assert texts(sink) == "".join(sentences)


async def test_a_flagged_stream_ends_with_a_refusal_and_shows_nothing_unsafe() -> None:
    s, sink = screening(), Sink()
    await stream(
        ScreenedSend(sink, s, [], "chat"),
        [
            chat_chunk("Fine. "),
            chat_chunk("This is BAD"),
            chat_chunk(" stuff. "),
            chat_chunk("More."),
            chat_chunk(finish="stop"),
        ],
    )
    events = sink.events()
    assert texts(sink).startswith("Fine. ") and "BAD" not in texts(sink)
    assert events[-2]["choices"][0]["finish_reason"] == "content_filter" and events[-1] == "[DONE]"
    assert events[-2]["herd_shields"][-1]["flagged"]


async def test_redacted_output_replaces_the_held_deltas() -> None:
    s, sink = screening(redact=lambda t: t.replace("555-0100", "[phone]")), Sink()
    await stream(
        ScreenedSend(sink, s, [], "chat"),
        [chat_chunk("Call 555"), chat_chunk("-0100 now. "), chat_chunk(finish="stop")],
    )
    assert texts(sink) == "Call [phone] now. "


def response_event(kind: str, seq: int, **fields: Any) -> bytes:
    return b"data: " + json.dumps({"type": kind, "sequence_number": seq, **fields}).encode() + b"\n\n"


async def test_a_flagged_responses_stream_completes_with_a_refusal_message() -> None:
    s, sink = screening(), Sink()
    created = {"id": "resp_1", "object": "response", "status": "in_progress", "output": [], "model": "m"}
    await stream(
        ScreenedSend(sink, s, [], "responses"),
        [
            response_event("response.created", 0, response=created),
            response_event("response.output_text.delta", 1, delta="All good. "),
            response_event("response.output_text.delta", 2, delta="Now BAD. "),
            response_event("response.output_text.done", 3, text="All good. Now BAD. "),
        ],
    )
    events = sink.events()
    assert [e["type"] for e in events] == ["response.created", "response.output_text.delta", "response.completed"]
    done = events[-1]
    assert done["sequence_number"] == 3 and done["response"]["id"] == "resp_1"
    assert done["response"]["output"][0]["content"][0]["type"] == "refusal"


async def test_a_whole_reply_is_checked_once_and_replaced_when_flagged() -> None:
    s, sink = screening(), Sink()
    send = ScreenedSend(sink, s, [Turn("user", "q")], "chat")
    reply = {
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "A BAD answer"}, "finish_reason": "stop"}]
    }
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(reply).encode(), "more_body": False})
    out = json.loads(sink.body())
    assert out["choices"][0]["finish_reason"] == "content_filter" and "fake" in out["choices"][0]["message"]["content"]
    assert dict(sink.messages[0]["headers"])[b"content-length"] == str(len(sink.body())).encode()
