"""Tool-call normalisation in the embedded provider.

First through the provider with a scripted engine in a real ``ModelPool`` (the repair
retry, streaming, the off mode, slot release), then through the real server with the
tiny model: its text streams live beside tools, and a call it writes against the
schema is repaired, which the off mode returns as the text it is.
"""

import concurrent.futures
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from llama_stack_api import OpenAIChatCompletionRequestWithExtraBody

from herd.distribution import templates
from herd.providers.embedded.config import EmbeddedInferenceConfig
from herd.providers.embedded.impl import EmbeddedInference
from tests.conftest import CHAT_MODEL, TINY_MODEL
from tests.tools import TIME, WEATHER

BAD_CALL = '[get_weather(city="Paris", unit="kelvin")]'
GOOD_JSON = '{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}'
QUESTION = [{"role": "user", "content": "What is the weather in Paris?"}]


class ScriptedEngine:
    """Stands in for ``LlamaCppEngine``: replies with enqueued texts and records every request."""

    template_supports_tools = False
    load_seconds = 0.0

    def __init__(self) -> None:
        self.replies: list[tuple[str, str]] = []
        self.requests: list[dict[str, Any]] = []

    def enqueue(self, text: str, finish_reason: str = "stop") -> None:
        self.replies.append((text, finish_reason))

    def check_max_tokens(self, body: dict[str, Any]) -> None:
        pass

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        self.requests.append(body)
        text, finish = self.replies.pop(0)
        message = {"role": "assistant", "content": text}
        choices = [{"index": 0, "message": message, "finish_reason": finish}]
        return {**_head(), "object": "chat.completion", "choices": choices, "usage": _usage(text)}

    def stream(self, kind: str, body: dict[str, Any], on_chunk: Callable[[dict[str, Any]], bool]) -> None:
        self.requests.append(body)
        text, finish = self.replies.pop(0)
        deltas = [{"role": "assistant", "content": None}] + [
            {"content": text[i : i + 4]} for i in range(0, len(text), 4)
        ]
        for delta in deltas:
            if on_chunk({**_head(), "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}):
                return
        on_chunk({**_head(), "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            on_chunk({**_head(), "choices": [], "usage": _usage(text)})


def _head() -> dict[str, Any]:
    return {"id": "chatcmpl-1", "created": 1, "model": TINY_MODEL, "object": "chat.completion.chunk"}


def _usage(text: str) -> dict[str, int]:
    return {"prompt_tokens": 10, "completion_tokens": len(text), "total_tokens": 10 + len(text)}


def _provider(
    normalise: bool = True, engine: ScriptedEngine | None = None, tool_prompt: str = "herd"
) -> tuple[EmbeddedInference, ScriptedEngine]:
    config = EmbeddedInferenceConfig(models=[TINY_MODEL], normalise_tool_calls=normalise, tool_prompt=tool_prompt)
    provider = EmbeddedInference(config)
    engine = engine or ScriptedEngine()
    loaded: concurrent.futures.Future[Any] = concurrent.futures.Future()
    loaded.set_result(engine)
    provider.pool.loads[TINY_MODEL] = loaded
    return provider, engine


def _params(**extra: Any) -> OpenAIChatCompletionRequestWithExtraBody:
    return OpenAIChatCompletionRequestWithExtraBody(model=TINY_MODEL, messages=QUESTION, tools=[WEATHER, TIME], **extra)


async def _collect(stream: Any) -> tuple[str, list[Any], list[str], Any]:
    chunks = [c async for c in stream]
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    return text, calls, finish, chunks


async def test_a_call_against_the_schema_is_repaired_by_one_constrained_retry():
    provider, engine = _provider()
    engine.enqueue(f"Let me look.\n{BAD_CALL}")
    engine.enqueue(GOOD_JSON)

    reply = await provider.openai_chat_completion(_params())

    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me look."
    [call] = choice.message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris", "unit": "celsius"}
    retry = engine.requests[1]
    assert retry["json_schema"]["properties"]["name"] == {"const": "get_weather"}
    assert "tools" not in retry and "tool_choice" not in retry
    assert reply.usage.completion_tokens == len(f"Let me look.\n{BAD_CALL}") + len(GOOD_JSON)


async def test_when_the_retry_fails_too_the_text_comes_back_with_the_reason_logged(caplog):
    provider, engine = _provider()
    engine.enqueue(BAD_CALL)
    engine.enqueue('{"name": "get_weather", "arguments": {"ci', "length")

    with caplog.at_level(logging.WARNING, logger="herd.toolcalls"):
        reply = await provider.openai_chat_completion(_params(max_tokens=12))

    choice = reply.choices[0]
    assert (choice.finish_reason, choice.message.content, choice.message.tool_calls) == ("stop", BAD_CALL, None)
    assert len(engine.requests) == 2, "exactly one retry"
    assert "'kelvin' is not one of" in caplog.text and "cut by max_tokens" in caplog.text


async def test_a_good_call_needs_no_retry_and_a_forced_call_gets_none():
    provider, engine = _provider()
    engine.enqueue('<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>')
    reply = await provider.openai_chat_completion(_params())
    assert reply.choices[0].message.tool_calls[0].function.name == "get_weather"

    engine.enqueue('{"name": "get_time", "arguments": {"timez', "length")
    forced = await provider.openai_chat_completion(_params(tool_choice="required", max_tokens=8))
    assert forced.choices[0].finish_reason == "length"
    assert forced.choices[0].message.content == '{"name": "get_time", "arguments": {"timez'
    assert len(engine.requests) == 2


async def test_streamed_prose_comes_live_and_a_repaired_call_at_the_end():
    provider, engine = _provider()
    engine.enqueue(f"Sure, checking the weather for you.\n{BAD_CALL}")
    engine.enqueue(GOOD_JSON)

    stream = await provider.openai_chat_completion(_params(stream=True, stream_options={"include_usage": True}))
    text, calls, finish, chunks = await _collect(stream)

    assert text == "Sure, checking the weather for you."
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content_chunks) > 3, "prose streams in the engine's chunks, not in one piece at the end"
    assert finish == ["tool_calls"]
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": "Paris", "unit": "celsius"})
    ]
    assert chunks[-1].usage.completion_tokens == len(f"Sure, checking the weather for you.\n{BAD_CALL}") + len(
        GOOD_JSON
    )
    assert provider.pool.inflight[TINY_MODEL] == 0


async def test_a_stream_given_up_on_shows_the_whole_text():
    provider, engine = _provider()
    engine.enqueue(f"Checking.\n{BAD_CALL}")
    engine.enqueue("no call at all")
    text, calls, finish, _ = await _collect(await provider.openai_chat_completion(_params(stream=True)))
    assert (text, calls, finish) == (f"Checking.\n{BAD_CALL}", [], ["stop"])


async def test_leaving_a_tool_stream_early_frees_the_slot():
    provider, engine = _provider()
    engine.enqueue("A long answer about the weather that goes on. " * 20)
    stream = await provider.openai_chat_completion(_params(stream=True))
    assert provider.pool.inflight[TINY_MODEL] == 1
    first = await anext(stream)
    assert first.choices
    await stream.aclose()
    assert provider.pool.inflight[TINY_MODEL] == 0


async def test_off_mode_passes_tools_through_and_returns_the_text():
    provider, engine = _provider(normalise=False)
    engine.enqueue(BAD_CALL)
    reply = await provider.openai_chat_completion(_params(tool_choice="auto"))
    assert reply.choices[0].message.content == BAD_CALL
    assert reply.choices[0].message.tool_calls is None
    sent = engine.requests[0]
    assert [t["function"]["name"] for t in sent["tools"]] == ["get_weather", "get_time"]
    assert sent["tool_choice"] == "auto"
    assert sent["messages"] == QUESTION and "json_schema" not in sent

    engine.enqueue(BAD_CALL)
    text, calls, _, _ = await _collect(await provider.openai_chat_completion(_params(stream=True)))
    assert (text, calls) == (BAD_CALL, [])


# -- the real server, tiny model ------------------------------------------------------

# The tiny model copies the call it saw twice before: a call whose unit is not in the enum.
FEW_SHOT = [
    QUESTION[0],
    {"role": "assistant", "content": BAD_CALL},
    QUESTION[0],
    {"role": "assistant", "content": BAD_CALL},
    QUESTION[0],
]
GREEDY = {"temperature": 0, "seed": 11}


@pytest.fixture(scope="module")
def off_server(herd_server_factory: Any) -> str:
    config = templates.embedded(chat_model=TINY_MODEL)
    config["providers"]["inference"][0]["config"]["normalise_tool_calls"] = False
    return herd_server_factory(config, "herd-tools-off").base_url


def _chat(base_url: str, **body: Any) -> dict[str, Any]:
    request = {"model": CHAT_MODEL, "max_tokens": 48, **GREEDY, **body}
    response = httpx.post(f"{base_url}/v1/chat/completions", json=request, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def test_off_mode_returns_the_models_text_call(off_server):
    choice = _chat(off_server, messages=FEW_SHOT, tools=[WEATHER])["choices"][0]
    assert not choice["message"].get("tool_calls")
    assert "kelvin" in choice["message"]["content"]


def test_the_same_bad_call_is_repaired_by_the_server(base_url):
    reply = _chat(base_url, messages=FEW_SHOT, tools=[WEATHER])
    choice = reply["choices"][0]
    assert choice["finish_reason"] == "tool_calls", choice
    [call] = choice["message"]["tool_calls"]
    arguments = json.loads(call["function"]["arguments"])
    assert call["function"]["name"] == "get_weather"
    assert isinstance(arguments["city"], str)
    assert arguments.get("unit", "celsius") in ("celsius", "fahrenheit")


def test_the_bad_call_is_repaired_when_streaming_too(oa_client):
    stream = oa_client.chat.completions.create(
        model=CHAT_MODEL, messages=FEW_SHOT, tools=[WEATHER], max_tokens=48, stream=True, **GREEDY
    )
    chunks = list(stream)
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["tool_calls"]
    assert [c.function.name for c in calls] == ["get_weather"]
    assert json.loads(calls[0].function.arguments).get("unit", "celsius") in ("celsius", "fahrenheit")


def test_prose_beside_tools_streams_over_several_chunks(oa_client):
    request = {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": "Write two sentences about the history of Paris."}],
        "tools": [WEATHER, TIME],
        "max_tokens": 24,
        **GREEDY,
    }
    # llama.cpp decodes a prompt it has cached slightly differently from a fresh one: warm the cache first.
    oa_client.chat.completions.create(**request)
    chunks = list(oa_client.chat.completions.create(**request, stream=True))
    content = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(content) > 3, content
    whole = oa_client.chat.completions.create(**request)
    assert not whole.choices[0].message.tool_calls, "the question calls for prose"
    assert "".join(content) == whole.choices[0].message.content


def test_leaving_a_tool_stream_frees_the_slot_on_the_server(base_url):
    body = {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": "Write a very long story about the sea."}],
        "tools": [WEATHER],
        "max_tokens": 4000,
        "stream": True,
    }
    with httpx.Client(base_url=base_url, timeout=60) as http:
        with http.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            lines = [
                line for line, _ in zip(response.iter_lines(), range(8), strict=False) if line.startswith("data: ")
            ]
            assert any('"content"' in line for line in lines), "prose streams before the reply ends"
        deadline = time.monotonic() + 10
        while _in_flight(http) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _in_flight(http) == 0


def _in_flight(http: httpx.Client) -> int:
    return http.get("/v1/herd/status").json()["models_loaded"][TINY_MODEL]["in_flight"]


class NativeEngine(ScriptedEngine):
    """An engine whose chat template parses calls itself (as llama.cpp does for Qwen's)."""

    template_supports_tools = True

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        result = super().chat(body)
        if body.get("tools"):  # the first, unconstrained request: the call comes parsed
            message = result["choices"][0]["message"]
            call = {"id": "x", "type": "function", "function": {"name": "set_alarm", "arguments": message["content"]}}
            result["choices"][0]["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
        return result


async def test_a_call_the_engine_parsed_itself_is_checked_and_shown_as_text_when_given_up():
    provider, engine = _provider(engine=NativeEngine(), tool_prompt="template")
    engine.enqueue('{"hour": 7}')  # a call to set_alarm, which this request does not declare
    engine.enqueue("not a call")

    reply = await provider.openai_chat_completion(_params())

    choice = reply.choices[0]
    assert (choice.finish_reason, choice.message.tool_calls) == ("stop", None)
    assert json.loads(choice.message.content) == {"name": "set_alarm", "arguments": '{"hour": 7}'}
    assert engine.requests[1]["json_schema"]["anyOf"], "the retry may call any declared function"
