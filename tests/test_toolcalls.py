"""Tool-call forcing and reading, on plain OpenAI-shaped dicts (no model)."""

import json

import pytest

from herd.errors import InvalidRequest
from herd.providers import toolcalls
from tests.tools import TIME, WEATHER


def test_forced_schema_for_a_named_function_pins_the_name_and_arguments():
    schema = toolcalls.forced_schema([WEATHER, TIME], {"type": "function", "function": {"name": "get_weather"}})
    assert schema["properties"]["name"] == {"const": "get_weather"}
    assert schema["properties"]["arguments"]["required"] == ["city"]


def test_forced_schema_for_required_offers_every_tool():
    schema = toolcalls.forced_schema([WEATHER, TIME], "required")
    assert [s["properties"]["name"]["const"] for s in schema["anyOf"]] == ["get_weather", "get_time"]


def test_naming_an_undeclared_function_is_a_clear_client_error():
    with pytest.raises(InvalidRequest, match="not among the declared tools"):
        toolcalls.forced_schema([WEATHER], {"type": "function", "function": {"name": "launch"}})


@pytest.mark.parametrize(
    "text",
    [
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Seoul"}}\n</tool_call>',
        '```json\n{"name": "get_weather", "arguments": {"city": "Seoul"}}\n```',
        '{"name": "get_weather", "parameters": {"city": "Seoul"}}',
        '{"name": "get_weather", "arguments": "{\\"city\\": \\"Seoul\\"}"}',
        '{{"name": "get_weather", "arguments": {"city": "Seoul"}}}',
        '<tool_call>\n{{"name": "get_weather", "arguments": {"city": "Seoul"}}}\n</tool_call>',
    ],
)
def test_text_calls_in_common_formats_become_tool_calls(text):
    content, calls = toolcalls.extract_calls(text, [WEATHER])
    assert content is None
    assert calls[0]["function"]["name"] == "get_weather"
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Seoul"}
    assert calls[0]["id"].startswith("call_")


def test_json_naming_an_undeclared_tool_stays_text():
    text = '{"name": "rm_rf", "arguments": {}}'
    assert toolcalls.extract_calls(text, [WEATHER]) == (text, [])


def test_prose_around_a_tagged_call_is_kept_as_content():
    content, calls = toolcalls.extract_calls(
        'Let me check.\n<tool_call>{"name": "get_time", "arguments": {"timezone": "UTC"}}</tool_call>', [TIME]
    )
    assert content == "Let me check."
    assert len(calls) == 1


def test_a_call_whose_arguments_fail_the_schema_is_not_extracted():
    text = 'Let me check.\n<tool_call>{"name": "get_time", "arguments": {}}</tool_call>'
    assert toolcalls.extract_calls(text, [TIME]) == (text, [])


def test_tool_turns_are_flattened_for_templates_without_a_tool_role():
    call = toolcalls.make_call("get_weather", {"city": "Seoul"})
    messages = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": [{"type": "text", "text": "sunny"}]},
    ]
    flat = toolcalls.flatten_tool_turns(messages)
    assert [m["role"] for m in flat] == ["user", "assistant", "user"]
    assert json.loads(flat[1]["content"]) == [{"name": "get_weather", "arguments": {"city": "Seoul"}}]
    assert flat[2]["content"] == 'Function results:\nget_weather: sunny\nUse them to answer "weather?".'


def test_one_round_of_results_is_one_turn_and_a_long_request_is_not_quoted():
    first, second = toolcalls.make_call("get_weather", {"city": "Seoul"}), toolcalls.make_call("get_time", {})
    request = "Tell me everything about Seoul. " * 20
    messages = [
        {"role": "user", "content": request},
        {"role": "assistant", "content": "Checking.", "tool_calls": [first, second]},
        {"role": "tool", "tool_call_id": first["id"], "content": "sunny"},
        {"role": "tool", "tool_call_id": second["id"], "content": "09:00"},
        {"role": "assistant", "content": "Sunny, 9 am."},
    ]
    flat = toolcalls.flatten_tool_turns(messages)
    assert [m["role"] for m in flat] == ["user", "assistant", "user", "assistant"]
    assert flat[1]["content"].startswith("Checking.\n[")
    assert flat[2]["content"].splitlines() == [
        "Function results:",
        "get_weather: sunny",
        "get_time: 09:00",
        "Use them to answer my request above.",
    ]


def test_instructions_name_the_forced_function():
    text = toolcalls.instructions([WEATHER, TIME], {"type": "function", "function": {"name": "get_time"}})
    assert 'Call the function "get_time" now.' in text
    assert '"get_weather"' in text
