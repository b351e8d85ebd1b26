"""A Responses stream read as an agent's steps, and the final answer as text or JSON."""

from types import SimpleNamespace

import pytest

from herd.apps.agents.steps import Step, output_text, steps, structured


def test_created_shows_the_route_and_the_vision_stage() -> None:
    metadata = {"herd_route": "local-only: 'herd/x' (local)", "herd_vision": "ocr: no vision model", "other": "1"}
    event = {"type": "response.created", "response": {"metadata": metadata}}
    assert steps(event) == [Step("route", "local-only: 'herd/x' (local)"), Step("vision", "ocr: no vision model")]
    assert steps({"type": "response.created", "response": {"metadata": None}}) == []
    assert steps({"type": "response.created", "response": {"metadata": {"herd_vision": "v"}}}) == [Step("vision", "v")]


@pytest.mark.parametrize(
    ("kind", "step"),
    [
        ("response.reasoning_text.delta", "vision"),
        ("response.output_text.delta", "text"),
        ("response.refusal.delta", "refusal"),
    ],
)
def test_deltas_become_text_steps(kind: str, step: str) -> None:
    assert steps({"type": kind, "delta": "Hel"}) == [Step(step, "Hel")]  # type: ignore[arg-type]  # kinds from parametrize
    assert steps({"type": kind, "delta": None}) == [Step(step, "")]  # type: ignore[arg-type]  # kinds from parametrize


def test_a_function_call_is_a_tool_call_without_a_result() -> None:
    item = {"type": "function_call", "name": "get_weather", "arguments": '{"city": "Oslo"}'}
    assert steps({"type": "response.output_item.done", "item": item}) == [
        Step("tool_call", 'get_weather({"city": "Oslo"})', item)
    ]


def test_an_mcp_call_shows_its_output_or_its_error() -> None:
    item = {"type": "mcp_call", "name": "lookup", "arguments": '{"q": 1}', "output": "42", "error": None}
    assert [(s.kind, s.text) for s in steps({"type": "response.output_item.done", "item": item})] == [
        ("tool_call", 'lookup({"q": 1})'),
        ("tool_result", "lookup -> 42"),
    ]
    failed = {**item, "error": "server down"}
    result = steps({"type": "response.output_item.done", "item": failed})[1]
    assert result == Step("tool_result", "lookup -> server down", failed)


def test_a_file_search_shows_its_queries_and_the_files_it_found() -> None:
    results = [{"filename": "b.md"}, {"filename": "a.md"}, {"file_id": "file-9"}, {"filename": "a.md"}]
    item = {"type": "file_search_call", "queries": ["leave policy", "holidays"], "results": results}
    found = steps({"type": "response.output_item.done", "item": item})
    assert [(s.kind, s.text) for s in found] == [
        ("tool_call", "file_search(leave policy, holidays)"),
        ("tool_result", "file_search found 4 passages in a.md, b.md, file-9"),
    ]
    empty = steps({"type": "response.output_item.done", "item": {"type": "file_search_call", "results": None}})
    assert [s.text for s in empty] == ["file_search()", "file_search found 0 passages in no files"]


def test_other_output_items_and_events_are_no_steps() -> None:
    message = {"type": "message", "content": [{"type": "output_text", "text": "hi"}]}
    assert steps({"type": "response.output_item.done", "item": message}) == []
    assert steps({"type": "response.output_item.added", "item": {"type": "function_call", "name": "f"}}) == []
    assert steps({"type": "response.in_progress"}) == []
    assert steps({}) == []


def test_completed_reports_the_usage() -> None:
    response = {"usage": {"input_tokens": 120, "output_tokens": 7}, "output": []}
    assert steps({"type": "response.completed", "response": response}) == [
        Step("done", "done: 120 tokens in, 7 out", response)
    ]
    assert steps({"type": "response.completed", "response": {"usage": None}})[0].text == "done"


@pytest.mark.parametrize(
    ("kind", "response", "text"),
    [
        ("response.failed", {"error": {"code": "server_error", "message": "the model crashed"}}, "the model crashed"),
        ("response.failed", {"error": None}, "no reason given"),
        ("response.incomplete", {"incomplete_details": {"reason": "max_output_tokens"}}, "max_output_tokens"),
    ],
)
def test_failed_and_incomplete_runs_say_why(kind: str, response: dict, text: str) -> None:
    (step,) = steps({"type": kind, "response": response})
    assert step.kind == "failed" and text in step.text and step.data is response


def test_sdk_objects_work_like_dicts() -> None:
    item = SimpleNamespace(type="function_call", name="f", arguments="{}")
    assert steps(SimpleNamespace(type="response.output_item.done", item=item)) == [Step("tool_call", "f({})", item)]
    usage = SimpleNamespace(input_tokens=3, output_tokens=4)
    event = SimpleNamespace(type="response.completed", response=SimpleNamespace(usage=usage))
    assert steps(event)[0].text == "done: 3 tokens in, 4 out"


def answer(*parts: str, extra: list | None = None) -> dict:
    content = [{"type": "output_text", "text": p} for p in parts]
    return {"output": [*(extra or []), {"type": "message", "content": content}]}


def test_output_text_joins_the_message_text_only() -> None:
    reasoning = {"type": "reasoning", "content": [{"type": "reasoning_text", "text": "thinking"}]}
    call = {"type": "function_call", "name": "f", "arguments": "{}"}
    response = answer("Hello, ", "world.", extra=[reasoning, call])
    response["output"][-1]["content"].append({"type": "refusal", "refusal": "no"})
    assert output_text(response) == "Hello, world."
    assert output_text({"output": None}) == ""


def test_structured_reads_the_json_answer() -> None:
    assert structured(answer(' {"title": "Sync",', ' "start": "2025-01-02T10:00"}\n')) == {
        "title": "Sync",
        "start": "2025-01-02T10:00",
    }


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("Sure! Here is the event: {title}", "not the JSON its schema asks for"),
        ("", "not the JSON its schema asks for"),
        ("[1, 2]", "JSON but not an object"),
    ],
)
def test_structured_refuses_what_is_not_a_json_object_showing_the_text(text: str, said: str) -> None:
    with pytest.raises(ValueError, match=said) as caught:
        structured(answer(text))
    assert repr(text.strip()[:200]) in str(caught.value)
