"""A call repeated after its result is in the conversation: dropped, and the answer asked for with tools off."""

import json
from typing import Any

from herd.providers import toolcalls
from tests.test_tool_normalisation import ScriptedEngine, _collect, _provider
from tests.tools import TIME, WEATHER

CALL = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
RESULT = "Paris: 18 C, light rain."
AFTER_RESULT: list[dict[str, Any]] = [
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": None, "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_1", "content": RESULT},
]
REPEAT = '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>'
ANSWER = "It is 18 C with light rain in Paris."


def _params(stream: bool = False) -> Any:
    from llama_stack_api import OpenAIChatCompletionRequestWithExtraBody

    return OpenAIChatCompletionRequestWithExtraBody(
        model="smollm2-135m-instruct", messages=AFTER_RESULT, tools=[WEATHER, TIME], stream=stream
    )


def test_answered_calls_are_keyed_by_name_and_arguments_in_any_key_order():
    swapped = {**CALL, "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}
    messages = [AFTER_RESULT[0], {"role": "assistant", "tool_calls": [swapped]}, AFTER_RESULT[2]]
    assert toolcalls.answered_calls(messages) == toolcalls.answered_calls(AFTER_RESULT)
    unanswered = [AFTER_RESULT[0], AFTER_RESULT[1]]
    assert toolcalls.answered_calls(unanswered) == set()


async def test_a_repeated_call_becomes_an_answer_from_the_result():
    provider, engine = _provider(engine=ScriptedEngine())
    engine.enqueue(REPEAT)
    engine.enqueue(ANSWER)

    reply = await provider.openai_chat_completion(_params())

    choice = reply.choices[0]
    assert (choice.finish_reason, choice.message.content, choice.message.tool_calls) == ("stop", ANSWER, None)
    second = engine.requests[1]
    assert "tools" not in second and "json_schema" not in second  # asked again with tools off
    assert RESULT in json.dumps(second["messages"])


async def test_a_repeated_call_in_a_stream_becomes_the_streamed_answer():
    provider, engine = _provider(engine=ScriptedEngine())
    engine.enqueue(REPEAT)
    engine.enqueue(ANSWER)

    text, calls, finish, _ = await _collect(await provider.openai_chat_completion(_params(stream=True)))

    assert (text, calls, finish) == (ANSWER, [], ["stop"])


async def test_a_new_call_beside_a_repeated_one_goes_out_alone():
    provider, engine = _provider(engine=ScriptedEngine())
    engine.enqueue(REPEAT + '\n<tool_call>{"name": "get_time", "arguments": {"timezone": "Europe/Paris"}}</tool_call>')

    reply = await provider.openai_chat_completion(_params())

    [call] = reply.choices[0].message.tool_calls
    assert call.function.name == "get_time"
    assert len(engine.requests) == 1
