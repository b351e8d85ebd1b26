"""The default embedded distribution (Qwen2.5-Coder-1.5B) answering through the OpenAI SDK.

Slow: joins the model's split weights (~1.1 GB, once per session) and runs a 1.5B
model on the CPU, so every request keeps max_tokens small.
"""

import json

import openai
import pytest

from herd.distribution import templates
from tests.tools import WEATHER, WEATHER_RESULT, with_tool_result

pytestmark = pytest.mark.slow

MODEL = "herd/qwen2.5-coder-1.5b-instruct"
WEATHER_QUESTION = [{"role": "user", "content": "What is the weather in Paris right now? Use the tool."}]


@pytest.fixture(scope="module")
def client(default_model_weights, herd_server_factory):
    server = herd_server_factory(templates.embedded(), "herd-default")
    yield openai.OpenAI(base_url=server.base_url + "/v1", api_key="none", timeout=180, max_retries=0)
    server.stop()


def test_default_model_is_listed(client):
    ids = [m.id for m in client.models.list()]

    assert MODEL in ids
    assert "herd/all-minilm-l6-v2" in ids


def test_capital_of_france(client):
    response = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What is the capital of France? Answer in one word."}],
        max_tokens=8,
        temperature=0,
    )

    assert "Paris" in response.choices[0].message.content


def test_streaming(client):
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "What is the capital of France? Answer in one word."}],
            max_tokens=8,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Paris" in text
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens <= 8


def _weather_call(response) -> dict:
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls", choice.message.content
    calls = choice.message.tool_calls
    assert calls and calls[0].function.name == "get_weather", calls
    arguments = json.loads(calls[0].function.arguments)
    assert "paris" in arguments["city"].lower(), arguments
    return arguments


def test_tool_call_auto(client):
    # Qwen2.5-Coder writes its calls as text (fenced, tagged or bare JSON) rather than
    # reliably in its template's format; Herd reads them, so "auto" works unconstrained.
    response = client.chat.completions.create(
        model=MODEL,
        messages=WEATHER_QUESTION,
        tools=[WEATHER],
        tool_choice="auto",
        max_tokens=64,
        temperature=0,
    )

    _weather_call(response)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_tool_call_auto_when_sampling(client, seed):
    # Sampled, the model often copies the `{{"name": ...}}` its chat template shows it.
    response = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "What's the weather like in Paris today?"}],
        tools=[WEATHER],
        tool_choice="auto",
        max_tokens=64,
        temperature=1.0,
        seed=seed,
    )

    _weather_call(response)


def test_tool_call_required(client):
    response = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Is it raining in Paris?"}],
        tools=[WEATHER],
        tool_choice="required",
        max_tokens=64,
    )

    _weather_call(response)


def test_tool_result_gives_an_answer(client):
    first = client.chat.completions.create(
        model=MODEL, messages=WEATHER_QUESTION, tools=[WEATHER], tool_choice="required", max_tokens=64
    )
    call = first.choices[0].message.tool_calls[0]
    messages = with_tool_result(WEATHER_QUESTION, call, WEATHER_RESULT)

    # With tool_choice "auto" this 1.5B model tends to call the tool again; "none" asks for the answer.
    second = client.chat.completions.create(
        model=MODEL, messages=messages, tools=[WEATHER], tool_choice="none", max_tokens=48, temperature=0
    )

    answer = second.choices[0].message
    assert not answer.tool_calls, answer.tool_calls
    assert "21" in answer.content, answer.content
