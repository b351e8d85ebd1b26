"""Guesses in a small model's calls: values nobody gave are dropped, and so are calls made only of them."""

import json
from typing import Any

import pytest
from llama_stack_api import OpenAIChatCompletionRequestWithExtraBody

from herd.providers import toolcalls
from herd.providers.toolcalls.guesses import is_guess, trim, undeclared_call
from tests.test_tool_normalisation import TINY_MODEL, ScriptedEngine, _collect, _provider
from tests.tools import TIME, WEATHER

EVENT = {
    "type": "object",
    "properties": {
        "event": {
            "type": "object",
            "properties": {
                "title": {"type": "string"},
                "start": {"type": "string"},
                "attendees": {"type": "array", "items": {"type": "string"}},
                "location": {"type": "string"},
                "kind": {"type": "string", "enum": ["meeting", "call"]},
            },
            "required": ["title", "start"],
        },
        "notes": {"type": "string"},
    },
    "required": ["event"],
}


def history(text: str, tools: list[dict[str, Any]] | None = None) -> toolcalls.History:
    return toolcalls.History.of([{"role": "user", "content": text}], tools or [])


@pytest.mark.parametrize(
    ("said", "value", "mentioned"),
    [
        ("What time is it in Tokyo?", "Asia/Tokyo", True),  # a word of four or more letters
        ("Convert 1,200 yen to pounds", 1200, True),
        ("Convert 75.50 francs", 75.5, True),
        ("Email MARIA@example.com", "maria@example.com", True),
        ("Hi! How are you today?", "Paris", False),
        ("Tell me a joke about programmers", "Why did the programmer quit?", False),  # 'programmer' is not said
        ("Convert 12 miles", 120, False),
        ("anything", True, True),  # booleans are the schema's words
    ],
)
def test_what_the_conversation_mentions(said: str, value: Any, mentioned: bool) -> None:
    assert history(said).mentions(value) is mentioned


def test_tool_results_and_earlier_calls_count_as_mentioned() -> None:
    messages = [
        {"role": "user", "content": "Plan my day."},
        {"role": "assistant", "tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": '{"q": "Lyon"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "Meeting in Grenoble"}]},
    ]
    seen = toolcalls.History.of(messages)
    assert seen.mentions("Lyon") and seen.mentions("Grenoble") and not seen.mentions("Nice")


def test_optional_values_nobody_gave_are_dropped_required_ones_kept() -> None:
    said = history('Add "Standup" at 2026-12-01T09:00 with ana@example.com')
    arguments = {
        "event": {
            "title": "Morning sync",  # required: kept even though nobody said it
            "start": "2026-12-01T09:00",
            "attendees": ["ana@example.com", "user@example.com"],
            "location": "",
            "kind": "meeting",  # an enum value: never judged
        },
        "notes": "Bring coffee",
    }
    assert trim(arguments, EVENT, said) == {
        "event": {
            "title": "Morning sync",
            "start": "2026-12-01T09:00",
            "attendees": ["ana@example.com"],
            "kind": "meeting",
        }
    }


def test_computed_strings_and_mentioned_values_stay() -> None:
    said = history('Book "Dentist" tomorrow at the Main Street Clinic')
    arguments = {"event": {"title": "Dentist", "start": "2026-12-02T08:30", "location": "Main Street Clinic"}}
    assert trim(arguments, EVENT, said) == arguments


def test_a_list_with_nothing_mentioned_goes_whole() -> None:
    said = history('Add "Standup" at 9')
    trimmed = trim({"event": {"title": "Standup", "start": "9", "attendees": ["x@example.com"]}}, EVENT, said)
    assert trimmed == {"event": {"title": "Standup", "start": "9"}}


@pytest.mark.parametrize(
    ("said", "arguments", "guess"),
    [
        ("Hi! How are you today?", {"city": "Paris", "unit": "celsius"}, True),
        ("What is the weather in Paris?", {"city": "Paris"}, False),
        ("What's the weather like?", {"unit": "celsius"}, False),  # nothing to judge
        ("Anything", {}, False),
        ("Is it warm?", {"city": "Paris 75001"}, False),  # may be computed: not judged, so nothing to judge
    ],
)
def test_a_call_is_a_guess_when_none_of_its_values_was_said(said: str, arguments: dict, guess: bool) -> None:
    schema = WEATHER["function"]["parameters"]
    assert is_guess(arguments, schema, history(said)) is guess


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ('[{"name": "multiply", "arguments": {"a": 17, "b": 23}}]', "multiply"),
        ('```json\n{"name": "translate", "parameters": {"text": "hi"}}\n```', "translate"),
        ('{"name": "get_weather", "arguments": {"city": "Paris"}}', None),  # declared: the reader's business
        ("The answer is 391.", None),
        ('{"name": "Ada", "age": 36}', None),  # JSON, but no call
    ],
)
def test_a_reply_that_calls_an_undeclared_function(text: str, name: str | None) -> None:
    assert undeclared_call(text, ["get_weather", "get_time"]) == name


def test_a_repeat_with_a_default_argument_spelled_out_is_still_a_repeat() -> None:
    schema = {"type": "object", "properties": {"city": {}, "unit": {"default": "celsius"}}}
    call = {"id": "c1", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    messages = [{"role": "assistant", "tool_calls": [call]}, {"role": "tool", "tool_call_id": "c1", "content": "18"}]
    answered = toolcalls.answered_calls(messages, {"get_weather": schema})
    again = [toolcalls.make_call("get_weather", {"city": "Paris", "unit": "celsius"})]
    other = [toolcalls.make_call("get_weather", {"city": "Paris", "unit": "fahrenheit"})]
    assert toolcalls.repeats.new_calls(again, answered, {"get_weather": schema}) == []
    assert toolcalls.repeats.new_calls(other, answered, {"get_weather": schema}) == other


# -- through the provider, with a scripted engine ------------------------------

GREETING = [{"role": "user", "content": "Hi! How are you today?"}]
ANSWER = "I am well, thank you. How can I help?"


def _params(messages: list[dict[str, Any]], **extra: Any) -> OpenAIChatCompletionRequestWithExtraBody:
    return OpenAIChatCompletionRequestWithExtraBody(model=TINY_MODEL, messages=messages, tools=[WEATHER, TIME], **extra)


async def test_a_guessed_call_becomes_an_answer_with_tools_off() -> None:
    provider, engine = _provider(engine=ScriptedEngine())
    engine.enqueue('[{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}]')
    engine.enqueue(ANSWER)

    reply = await provider.openai_chat_completion(_params(GREETING))

    choice = reply.choices[0]
    assert (choice.finish_reason, choice.message.content, choice.message.tool_calls) == ("stop", ANSWER, None)
    second = engine.requests[1]
    assert "json_schema" not in second and "get_weather" not in json.dumps(second["messages"])


async def test_a_guess_beside_a_real_call_is_dropped_in_a_stream() -> None:
    provider, engine = _provider(engine=ScriptedEngine())
    engine.enqueue(
        '[{"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}, '
        '{"name": "get_weather", "arguments": {"city": "Paris"}}]'
    )
    question = [{"role": "user", "content": "What time is it in Tokyo?"}]

    text, calls, finish, _ = await _collect(await provider.openai_chat_completion(_params(question, stream=True)))

    assert [c.function.name for c in calls] == ["get_time"]
    assert (text, finish) == ("", ["tool_calls"])
    assert len(engine.requests) == 1


async def test_a_call_to_an_undeclared_function_becomes_an_answer() -> None:
    provider, engine = _provider(engine=ScriptedEngine())
    engine.enqueue('[{"name": "multiply", "arguments": {"a": 17, "b": 23}}]')
    engine.enqueue("17 times 23 is 391.")

    reply = await provider.openai_chat_completion(_params([{"role": "user", "content": "What is 17 times 23?"}]))

    assert reply.choices[0].message.content == "17 times 23 is 391."
    assert reply.usage.completion_tokens > len("17 times 23 is 391.")  # both requests counted


async def test_a_forced_call_is_trimmed_but_never_dropped() -> None:
    provider, engine = _provider(engine=ScriptedEngine())
    engine.enqueue('{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}')

    reply = await provider.openai_chat_completion(_params(GREETING, tool_choice="required"))

    [call] = reply.choices[0].message.tool_calls
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
    assert len(engine.requests) == 1


async def test_auto_asks_for_a_json_array_and_shows_earlier_calls_in_that_form() -> None:
    provider, engine = _provider(engine=ScriptedEngine())
    engine.enqueue("It is sunny in Paris.")
    call = {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    messages = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]

    await provider.openai_chat_completion(_params(messages))

    sent = engine.requests[0]["messages"]
    assert "one call for each thing the user asks for" in sent[0]["content"]
    assert json.loads(sent[2]["content"]) == [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    assert "tools" not in engine.requests[0]


async def test_tool_prompt_template_hands_tools_to_a_chat_template_that_knows_them() -> None:
    engine = ScriptedEngine()
    engine.template_supports_tools = True
    provider, _ = _provider(engine=engine, tool_prompt="template")
    engine.enqueue("Hello!")

    await provider.openai_chat_completion(_params(GREETING))

    sent = engine.requests[0]
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather", "get_time"]
    assert sent["messages"] == GREETING


def test_strictly_a_sentence_or_an_address_must_appear_whole() -> None:
    said = history("Invite ana@example.com to the login page review")
    assert said.mentions("Login page error") and not said.mentions("Login page error", strict=True)
    assert not said.mentions("user@example.com", strict=True)
    assert said.mentions("America/New_York", strict=True) is False
    assert history("a call to New York").mentions("America/New_York", strict=True)


async def test_a_streamed_call_to_an_undeclared_function_is_held_back_for_the_answer() -> None:
    provider, engine = _provider(engine=ScriptedEngine())
    engine.enqueue('[{"name": "multiply", "arguments": {"a": 17, "b": 23}}]')
    engine.enqueue("17 times 23 is 391.")
    question = [{"role": "user", "content": "What is 17 times 23?"}]

    text, calls, finish, _ = await _collect(await provider.openai_chat_completion(_params(question, stream=True)))

    assert (text, calls, finish) == ("17 times 23 is 391.", [], ["stop"])


async def test_with_no_way_to_ask_again_an_undeclared_call_stays_as_the_text() -> None:
    text = '[{"name": "multiply", "arguments": {"a": 17, "b": 23}}]'
    found = toolcalls.normalise(text, [WEATHER])
    assert (found.content, found.stray) == (None, ["multiply"])

    outcome = await toolcalls.settle(found, [WEATHER], None, "stop", history("What is 17 times 23?"))

    assert (outcome.content, outcome.calls, outcome.finish_reason) == (text, [], "stop")


async def test_with_drop_guesses_off_the_models_calls_go_out_as_written() -> None:
    from herd.providers.embedded.config import EmbeddedInferenceConfig

    provider, engine = _provider(engine=ScriptedEngine())
    provider.config = EmbeddedInferenceConfig(models=[TINY_MODEL], drop_guesses=False)
    engine.enqueue('[{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}]')

    reply = await provider.openai_chat_completion(_params(GREETING))

    [call] = reply.choices[0].message.tool_calls
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
    assert len(engine.requests) == 1


def test_the_ollama_provider_takes_the_same_switch() -> None:
    from herd.providers.ollama.config import HerdOllamaConfig

    assert HerdOllamaConfig(base_url="http://127.0.0.1:11434/v1", drop_guesses=False).drop_guesses is False
    with pytest.raises(ValueError, match="drop_guesses"):
        HerdOllamaConfig(base_url="http://127.0.0.1:11434/v1", drop_guesses="sometimes")


async def test_a_broken_pair_is_repaired_then_dropped_as_a_guess() -> None:
    provider, engine = _provider(engine=ScriptedEngine())
    engine.enqueue('["get_weather", {"city": "YourCity"]}')
    engine.enqueue('{"name": "get_weather", "arguments": {"city": "YourCity"}}')  # the constrained retry
    engine.enqueue(ANSWER)  # asked again with tools off

    reply = await provider.openai_chat_completion(_params(GREETING))

    choice = reply.choices[0]
    assert (choice.finish_reason, choice.message.content, choice.message.tool_calls) == ("stop", ANSWER, None)
    assert engine.requests[1]["json_schema"]["properties"]["name"] == {"const": "get_weather"}
