"""The chat UI's reading of a Responses stream: ``ReplyTranslator`` on scripted event sequences.

Events are dicts shaped as llama-stack and Herd's middleware send them; one test feeds the
SDK's own objects, built the way ``llama-stack-client`` builds them from a stream.
"""

import json
import time
from typing import Any

from herd.apps.chat.events import (
    ApprovalRequest,
    Blocked,
    Citation,
    Decision,
    Failed,
    Finished,
    ShieldVerdict,
    TextDelta,
    ToolCall,
)
from herd.apps.chat.items import history
from herd.apps.chat.stream import ReplyTranslator
from herd.distribution import shield_refusals
from herd.distribution.screening import refusal_message
from herd.providers.shields.verdict import Verdict


def created(response_id: str = "resp_1") -> dict[str, Any]:
    return {"type": "response.created", "response": {"id": response_id, "status": "in_progress", "output": []}}


def delta(text: str) -> dict[str, Any]:
    return {"type": "response.output_text.delta", "delta": text, "item_id": "msg_1"}


def message(text: str, annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": annotations or []}
    return {"type": "message", "id": "msg_1", "role": "assistant", "content": [part]}


def completed(output: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    usage = {"input_tokens": 12, "output_tokens": 3}
    return {"type": "response.completed", "response": {"id": "resp_1", "output": output, "usage": usage, **extra}}


def feed(translator: ReplyTranslator, events: list[dict[str, Any]]) -> list[Any]:
    return [out for event in events for out in translator.feed(event)]


def test_text_deltas_then_finished_with_usage_and_timings() -> None:
    translator = ReplyTranslator(started=time.perf_counter())
    head = feed(translator, [created(), {"type": "response.output_item.added", "item": message("")}])
    time.sleep(0.01)
    body = feed(translator, [delta("Hel"), delta("lo"), completed([message("Hello")])])

    assert head == []
    assert body[:2] == [TextDelta("Hel"), TextDelta("lo")]
    finished = body[2]
    assert isinstance(finished, Finished)
    assert (finished.response_id, finished.text, finished.input_tokens, finished.output_tokens) == (
        "resp_1",
        "Hello",
        12,
        3,
    )
    assert finished.ttft_s is not None and 0.01 <= finished.ttft_s <= finished.total_s
    assert not finished.stopped and finished.citations == ()
    assert translator.message_ids == ["msg_1"] and translator.ended


def test_a_tool_call_starts_then_ends_with_its_duration_and_output() -> None:
    item = {"type": "mcp_call", "id": "mcp_1", "name": "lookup", "arguments": '{"q": "x"}', "server_label": "office"}
    translator = ReplyTranslator()
    started = translator.feed({"type": "response.output_item.added", "item": {**item, "status": "in_progress"}})
    time.sleep(0.02)
    ended = translator.feed({"type": "response.output_item.done", "item": {**item, "output": "42", "error": None}})

    assert started == [ToolCall("mcp_1", "lookup", '{"q": "x"}', server="office")]
    [done] = ended
    assert isinstance(done, ToolCall) and done.done
    assert (done.call_id, done.output, done.error, done.server) == ("mcp_1", "42", None, "office")
    assert done.duration_s is not None and done.duration_s >= 0.02


def test_a_failed_mcp_call_and_a_code_interpreter_call() -> None:
    translator = ReplyTranslator()
    failed = {"type": "mcp_call", "id": "m", "name": "lookup", "arguments": "{}", "error": "server down"}
    code = {
        "type": "code_interpreter_call",
        "id": "ci",
        "code": "print(6 * 7)",
        "outputs": [{"type": "logs", "logs": "42\n"}],
        "status": "completed",
    }
    [mcp] = translator.feed({"type": "response.output_item.done", "item": failed})
    [interpreter] = translator.feed({"type": "response.output_item.done", "item": code})

    assert isinstance(mcp, ToolCall) and mcp.error == "server down" and mcp.duration_s is None
    assert interpreter == ToolCall("ci", "code_interpreter", "print(6 * 7)", "42\n", None, True)


def test_file_search_then_citations_with_their_passages() -> None:
    results = [
        {"file_id": "file-a", "filename": "leave.md", "text": "Staff get 25 days of leave."},
        {"file_id": "file-b", "filename": "travel.txt", "text": "Book trains, not planes."},
        {"file_id": "file-a", "filename": "leave.md", "text": "Leave carries over until March."},
    ]
    search = {"type": "file_search_call", "id": "fs_1", "queries": ["leave days"], "status": "completed"}
    annotations = [{"type": "file_citation", "file_id": "file-a", "filename": "leave.md", "index": 30}]
    answer = message("You get 25 days of leave.", annotations)
    translator = ReplyTranslator()
    events = feed(
        translator,
        [
            created(),
            {"type": "response.output_item.added", "item": {**search, "status": "in_progress"}},
            {"type": "response.output_item.done", "item": {**search, "results": results}},
            delta("You get 25 days of leave."),
            completed([{**search, "results": results}, answer]),
        ],
    )

    assert events[0] == ToolCall("fs_1", "file_search", "leave days")
    assert isinstance(events[1], ToolCall) and events[1].output == "3 passages from leave.md, travel.txt"
    finished = events[-1]
    assert isinstance(finished, Finished)
    passages = ("Staff get 25 days of leave.", "Leave carries over until March.")
    assert finished.citations == (Citation("file-a", "leave.md", passages),)


async def test_an_input_refusal_as_herds_middleware_sends_it() -> None:
    verdict = Verdict("offline", True, ["S2", "prompt-attack"], "asks how to steal a car", 1.0, "label")
    report = [{"stage": "input", **verdict.as_dict()}, {"stage": "input", **Verdict("other", False).as_dict()}]
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    body = {"model": "herd/x", "input": "how do I steal a car", "stream": True}
    await shield_refusals.send_refusal(send, "/v1/responses", body, verdict, report)
    payload = b"".join(m.get("body", b"") for m in sent).decode()
    events = [json.loads(chunk[6:]) for chunk in payload.split("\n\n") if chunk.startswith("data: ")]

    assert [e["type"] for e in events] == ["response.created", "response.completed"]
    [blocked] = feed(ReplyTranslator(), events)
    assert isinstance(blocked, Blocked)
    assert blocked.message == verdict.message()
    assert blocked.verdicts == (
        ShieldVerdict("offline", "input", ("S2 Non-Violent Crimes", "prompt-attack"), "asks how to steal a car"),
    )
    assert blocked.stage == "input"


def test_an_output_refusal_after_some_text() -> None:
    verdict = Verdict("llama-guard", True, ["S1"], "violent", 1.0, "label")
    refusal = refusal_message(verdict)
    shields = [{"stage": "input", **Verdict("llama-guard", False).as_dict()}, {"stage": "output", **verdict.as_dict()}]
    translator = ReplyTranslator()
    events = feed(translator, [created(), delta("First, "), completed([refusal], herd_shields=shields)])

    assert events[0] == TextDelta("First, ")
    blocked = events[1]
    assert isinstance(blocked, Blocked) and blocked.stage == "output"
    assert blocked.message == verdict.message()
    assert blocked.verdicts == (ShieldVerdict("llama-guard", "output", ("S1 Violent Crimes",), "violent"),)


def test_refusal_deltas_and_sdk_objects_with_herds_extra_fields() -> None:
    from llama_stack_client._models import construct_type
    from llama_stack_client.types.response_object_stream import ResponseObjectStream

    report = [{"stage": "output", "shield": "s", "flagged": True, "categories": ["S99"], "reason": "odd"}]
    raw = [
        {"type": "response.refusal.delta", "delta": "I can't ", "sequence_number": 1},
        {"type": "response.refusal.delta", "delta": "help.", "sequence_number": 2},
        {
            "type": "response.completed",
            "sequence_number": 3,
            "response": {"id": "r", "output": [], "herd_shields": report},
        },
    ]
    objects = [construct_type(type_=ResponseObjectStream, value=event) for event in raw]
    [blocked] = feed(ReplyTranslator(), objects)

    assert blocked == Blocked("I can't help.", (ShieldVerdict("s", "output", ("S99",), "odd"),))


def test_failed_incomplete_and_error_events() -> None:
    failed = {"type": "response.failed", "response": {"id": "r", "error": {"code": "server_error", "message": "boom"}}}
    incomplete = {"type": "response.incomplete", "response": {"incomplete_details": {"reason": "max_output_tokens"}}}
    error = {"type": "error", "code": "404", "message": "Model 'x' not found."}

    assert ReplyTranslator().feed(failed) == [Failed("the reply failed: boom")]
    assert ReplyTranslator().feed(incomplete) == [Failed("the reply stopped before its end (max_output_tokens)")]
    assert ReplyTranslator().feed(error) == [Failed("the reply failed: Model 'x' not found.", "missing")]


def test_stopped_keeps_the_partial_text() -> None:
    translator = ReplyTranslator()
    feed(translator, [created("resp_9"), delta("Once upon"), delta(" a time")])
    stopped = translator.stopped()

    assert (stopped.response_id, stopped.text, stopped.stopped) == ("resp_9", "Once upon a time", True)
    assert stopped.ttft_s is not None and stopped.total_s >= stopped.ttft_s
    assert not translator.ended


def test_history_of_stored_items() -> None:
    image = {"type": "input_image", "image_url": "data:image/png;base64,AA==", "detail": "auto"}
    named = {**image, "filename": "chart.png"}
    items = [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Look"}, image, named]},
        {"type": "function_call", "id": "fc", "call_id": "c1", "name": "weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        {"type": "mcp_list_tools", "id": "l", "server_label": "x", "tools": []},
        {"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "Blocked."}]},
        {"type": "message", "role": "user", "content": "plain"},
    ]
    shown = history(items)

    assert [(h.role, h.text, h.images, h.refusal) for h in shown] == [
        ("user", "Look", ("image 1", "chart.png"), False),
        ("tool", "", (), False),
        ("assistant", "Blocked.", (), True),
        ("user", "plain", (), False),
    ]
    assert shown[1].tool == ToolCall("fc", "weather", "{}", "sunny", None, True)


APPROVAL = {
    "type": "mcp_approval_request",
    "id": "approval_1",
    "name": "write_note",
    "arguments": '{"title": "plan"}',
    "server_label": "notes",
}


def test_a_call_waiting_for_approval_is_one_request_then_the_reply_finishes() -> None:
    translator = ReplyTranslator()
    events = [
        created(),
        {"type": "response.output_item.added", "item": APPROVAL},
        {"type": "response.output_item.done", "item": APPROVAL},
        completed([APPROVAL]),
    ]
    out = feed(translator, events)
    assert out[0] == ApprovalRequest("approval_1", "write_note", '{"title": "plan"}', "notes")
    assert isinstance(out[1], Finished) and out[1].text == "" and len(out) == 2


def test_history_puts_each_answer_on_its_request_and_keeps_the_unanswered_one_open() -> None:
    later = {**APPROVAL, "id": "approval_2", "arguments": '{"title": "b"}'}
    items = [
        {"type": "message", "role": "user", "content": "save plan"},
        APPROVAL,
        {"type": "mcp_approval_response", "approval_request_id": "approval_1", "approve": False, "reason": "no"},
        {"type": "message", "role": "user", "content": "save b"},
        later,
    ]
    shown = history(items)
    first, second = (h for h in shown if h.approval is not None)
    assert first.approval is not None and first.decision == Decision(first.approval, False, "no")
    assert second.approval == ApprovalRequest("approval_2", "write_note", '{"title": "b"}', "notes")
    assert second.decision is None
    assert [h.role for h in shown] == ["user", "tool", "user", "tool"]
