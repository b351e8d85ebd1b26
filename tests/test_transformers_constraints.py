"""The transformers provider's pure-Python parts, in the main venv: the JSON-schema and Llama Guard
acceptors its constrained decoding uses, and the factory's message when torch is not installed."""

import json

import pytest

from herd.errors import ConfigError, InvalidRequest
from herd.providers import toolcalls
from herd.providers.transformers.guardfsm import GuardState, offered_codes
from herd.providers.transformers.jsonfsm import JsonState

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
        },
    },
}
ADD = {
    "type": "function",
    "function": {"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "number"}}}},
}


def walk(schema: dict, text: str) -> JsonState | None:
    state: JsonState | None = JsonState.start(schema)
    for c in text:
        assert state is not None
        state = state.feed(c)
        if state is None:
            return None
        assert state.cost() >= 0
    return state


@pytest.mark.parametrize(
    "text",
    [
        '{"name": "get_weather", "arguments": {"city": "Seo\\u00e9ul", "days": 10, "unit":"f"}}',
        '{"arguments":{"city":"x"},"name":"get_weather"}',
        '{"name":"add","arguments":{"a":-1.5e3}}',
        '{"name":"add","arguments":{}}',
    ],
)
def test_a_forced_call_schema_accepts_valid_calls_and_is_closed_after_them(text: str) -> None:
    state = walk(toolcalls.forced_schema([WEATHER, ADD], "required"), text)
    assert state is not None and state.closed and state.cost() == 0


@pytest.mark.parametrize(
    "text",
    [
        '{"name":"get_weather","arguments":{}}',  # city is required
        '{"name":"add","arguments":{"b":1}}',  # no such argument
        '{"name":"sub"',  # no such function
        '{"name":"add","arguments":{"a":1},',  # nothing may follow the last member
        '{"name":"get_weather","arguments":{"city":"x","unit":"k"}}',  # not in the enum
        '{"name":"get_weather","arguments":{"city":"x","days":1.5}}',  # not an integer
        '{ "name":"add"',  # no blank after {
    ],
)
def test_a_forced_call_schema_rejects_what_breaks_it(text: str) -> None:
    state = walk(toolcalls.forced_schema([WEATHER, ADD], "required"), text)
    assert state is None or not state.closed


def test_cost_counts_the_fewest_chars_that_finish() -> None:
    schema = toolcalls.forced_schema([WEATHER], "required")
    shortest = '{"name":"get_weather","arguments":{"city":""}}'
    state = JsonState.start(schema)
    for i, c in enumerate(shortest):
        assert state.cost() == len(shortest) - i
        state = state.feed(c)
    assert state.cost() == 0 and state.closed


def test_free_values_arrays_and_type_lists() -> None:
    doc = {"x": [1, {"y": None}], "z": "q", "t": True}
    assert walk({}, json.dumps(doc, separators=(",", ":"))).closed
    array = {"type": "array", "items": {"type": "boolean"}, "minItems": 1, "maxItems": 2}
    assert walk(array, "[true,false]").closed
    assert walk(array, "[]") is None and walk(array, "[true,true,true") is None
    assert walk({"type": ["string", "null"]}, "null").closed
    assert walk({"type": "integer"}, "12").complete


def test_schemas_outside_the_subset_are_refused_with_what_to_do() -> None:
    with pytest.raises(InvalidRequest, match="pattern.*simplify"):
        JsonState.start({"type": "object", "properties": {"id": {"type": "string", "pattern": "^a"}}})
    with pytest.raises(InvalidRequest, match="type 'date'"):
        JsonState.start({"type": "date"})


def test_the_guard_format_allows_safe_or_unsafe_with_offered_codes() -> None:
    prompt = "<BEGIN UNSAFE CONTENT CATEGORIES>\nS1: Violent Crimes.\nS2: Non-Violent Crimes.\n<END UNSAFE CONTENT CATEGORIES>"
    codes = offered_codes(prompt)
    assert codes == ("S1", "S2")
    state = GuardState(codes)
    assert state.feed("\n\nsafe").closed
    assert state.feed("unsafe\nS2,S1").complete
    assert state.feed("unsafe\nS3") is None and state.feed("unsafe\nS1,S1") is None and state.feed("Sure") is None
    assert not state.feed("unsafe\n").complete and state.feed("unsafe\n").cost() == 2


def test_the_factory_without_torch_says_to_make_install_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    import herd.providers.transformers as factory
    from herd.providers.transformers.config import TransformersInferenceConfig

    monkeypatch.setattr(factory, "NEEDS", ("json", "herd_no_such_torch"))
    config = TransformersInferenceConfig(**TransformersInferenceConfig.sample_run_config())
    with pytest.raises(ConfigError, match=r"needs herd_no_such_torch.*`make install-cuda`"):
        asyncio.run(factory.get_provider_impl(config, {}))
