"""Bad requests get a 4xx with an OpenAI-shaped JSON error that says what to fix, never a 5xx,
and the server keeps serving afterwards.

Raw HTTP (httpx) so every status code and body is seen exactly as a client gets it.
"""

import asyncio
import json
import random
import time

import httpx
import pytest
import yaml

from herd.distribution import templates
from tests.conftest import CHAT_MODEL, EMBEDDING_MODEL, TINY_MODEL

CHAT = "/v1/chat/completions"
HELLO = [{"role": "user", "content": "Say hello."}]


def error_message(response: httpx.Response, *statuses: int) -> str:
    """Check the status and the ``{"error": {"message": ...}}`` body; return the message."""
    assert response.status_code in statuses, f"got {response.status_code}: {response.text[:500]}"
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    message = body["error"].get("message")
    assert isinstance(message, str) and message.strip(), body
    return message


def assert_still_serves(http: httpx.Client) -> None:
    response = http.post(CHAT, json={"model": CHAT_MODEL, "messages": HELLO, "max_tokens": 4})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"]


def long_prompt(words: int = 5000) -> str:
    """~40,000 characters of varied words: over 8192 tokens for any tokenizer of this size."""
    rng = random.Random(7)
    vocabulary = ["apple", "river", "stone", "cloud", "seven", "quick", "lamp", "orbit", "violet", "mango"]
    return " ".join(f"{rng.choice(vocabulary)}{rng.randint(0, 99)}" for _ in range(words))


# -- unknown model -----------------------------------------------------------


@pytest.mark.parametrize("model", ["herd/does-not-exist", "does-not-exist"])
def test_unknown_model(http, model):
    response = http.post(CHAT, json={"model": model, "messages": HELLO, "max_tokens": 4})

    message = error_message(response, 400, 404)
    assert "does-not-exist" in message
    assert_still_serves(http)


def test_unknown_model_says_what_is_served(http):
    response = http.post(CHAT, json={"model": "herd/does-not-exist", "messages": HELLO, "max_tokens": 4})

    message = error_message(response, 404)
    assert TINY_MODEL in message, message
    assert_still_serves(http)


# -- malformed and mistyped requests -----------------------------------------


def test_malformed_json_body(http):
    response = http.post(CHAT, content=b'{"model": ', headers={"content-type": "application/json"})

    message = error_message(response, 400)
    assert "not valid JSON" in message, message
    assert "{'errors'" not in message, "the message should be a sentence, not a printed dict"
    assert_still_serves(http)


@pytest.mark.parametrize(
    ("field", "value"),
    [("messages", "hello"), ("temperature", "hot"), ("max_tokens", -5), ("messages", [])],
    ids=["messages-string", "temperature-string", "max_tokens-negative", "messages-empty"],
)
def test_wrong_field_values(http, field, value):
    body = {"model": CHAT_MODEL, "messages": HELLO, "max_tokens": 4, field: value}

    response = http.post(CHAT, json=body)

    message = error_message(response, 400)
    assert message.startswith(f"invalid request: {field}"), f"the message should name the field {field!r}: {message}"
    assert_still_serves(http)


def test_more_than_one_choice(http):
    response = http.post(CHAT, json={"model": CHAT_MODEL, "messages": HELLO, "max_tokens": 4, "n": 2})

    message = error_message(response, 400)
    assert "n=1" in message, message
    assert_still_serves(http)


def test_tool_choice_names_undeclared_function(http):
    tool = {
        "type": "function",
        "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {}}},
    }
    response = http.post(
        CHAT,
        json={
            "model": CHAT_MODEL,
            "messages": HELLO,
            "max_tokens": 16,
            "tools": [tool],
            "tool_choice": {"type": "function", "function": {"name": "get_time"}},
        },
    )

    message = error_message(response, 400)
    assert "get_time" in message and "get_weather" in message, message
    assert_still_serves(http)


@pytest.mark.parametrize(
    "items",
    [[], [{"type": "web_search_call", "id": "ws_1", "status": "completed"}]],
    ids=["empty", "only-a-search-call"],
)
def test_response_with_no_message_to_answer(http, items):
    # Found by tests/test_fuzz.py: llama-stack built an empty chat request from these and answered 500.
    response = http.post("/v1/responses", json={"model": CHAT_MODEL, "input": items})

    message = error_message(response, 400)
    assert "input holds no message" in message, message
    assert "or instructions" in message, message
    assert_still_serves(http)


@pytest.mark.parametrize("path", ["/v1/responses", CHAT])
def test_tools_that_are_not_a_list(http, path):
    # Found by tests/test_fuzz.py: `tools: true` broke Herd's tool checks with a TypeError (500).
    prompt = {"input": "hi"} if path == "/v1/responses" else {"messages": HELLO}
    body = {"model": CHAT_MODEL, **prompt, "tools": True}

    response = http.post(path, json=body)

    message = error_message(response, 400)
    assert "tools must be a list of tool objects, not bool" in message, message
    assert_still_serves(http)


# -- context window ----------------------------------------------------------


def test_max_tokens_beyond_context_window(http):
    response = http.post(CHAT, json={"model": CHAT_MODEL, "messages": HELLO, "max_tokens": 10**6})

    message = error_message(response, 400)
    assert "max_tokens" in message and "8192" in message, message
    assert_still_serves(http)


def test_prompt_longer_than_context_window(http):
    started = time.perf_counter()
    response = http.post(
        CHAT, json={"model": CHAT_MODEL, "messages": [{"role": "user", "content": long_prompt()}], "max_tokens": 8}
    )

    message = error_message(response, 400)
    assert "context window" in message and "8192" in message, message
    assert time.perf_counter() - started < 30, "an over-long prompt must be refused before it is evaluated"
    assert_still_serves(http)


@pytest.mark.parametrize("endpoint", ["chat", "completion"])
def test_streaming_prompt_too_long_fails_before_the_stream(http, endpoint):
    if endpoint == "chat":
        path, body = CHAT, {"messages": [{"role": "user", "content": long_prompt()}]}
    else:
        path, body = "/v1/completions", {"prompt": long_prompt()}
    body |= {"model": CHAT_MODEL, "max_tokens": 8, "stream": True}

    with http.stream("POST", path, json=body) as response:
        response.read()

    message = error_message(response, 400)
    assert "context window" in message, message
    assert_still_serves(http)


def test_completion_max_tokens_beyond_context_window(http):
    response = http.post("/v1/completions", json={"model": CHAT_MODEL, "prompt": "Hello", "max_tokens": 10**6})

    message = error_message(response, 400)
    assert "max_tokens" in message and "8192" in message, message


# -- request size ------------------------------------------------------------


def test_oversized_body_is_refused_early(http):
    body = b" " * (50 * 1024 * 1024)
    started = time.perf_counter()
    try:
        response = http.post(CHAT, content=body, headers={"content-type": "application/json"})
    finally:
        elapsed = time.perf_counter() - started
        print(f"\n50 MiB body answered in {elapsed:.2f} s")

    message = error_message(response, 413)
    assert "--max-request-bytes" in message, message
    assert elapsed < 5, f"a 50 MiB body took {elapsed:.1f} s to refuse; it should be refused from its headers"
    assert_still_serves(http)


# -- embeddings and model types ----------------------------------------------


def test_embeddings_empty_input(http):
    response = http.post("/v1/embeddings", json={"model": EMBEDDING_MODEL, "input": []})

    message = error_message(response, 400)
    assert "input" in message, message


def test_embeddings_wrong_dimensions(http):
    response = http.post("/v1/embeddings", json={"model": EMBEDDING_MODEL, "input": "hi", "dimensions": 16})

    message = error_message(response, 400)
    assert "384" in message, message


def test_chat_with_embedding_model(http):
    response = http.post(CHAT, json={"model": EMBEDDING_MODEL, "messages": HELLO, "max_tokens": 4})

    message = error_message(response, 400, 404)
    assert "embedding" in message, message
    assert_still_serves(http)


def test_embeddings_with_chat_model(http):
    response = http.post("/v1/embeddings", json={"model": CHAT_MODEL, "input": "hello"})

    message = error_message(response, 400, 404)
    assert "embedding" in message, message


# -- overload ----------------------------------------------------------------


@pytest.fixture(scope="module")
def small_queue_server(herd_server_factory):
    """A tiny-model server that admits two requests at a time (parallel=1, max_queue=1)."""
    config = templates.embedded(chat_model=TINY_MODEL)
    for provider in config["providers"]["inference"]:
        if provider["provider_type"] == "inline::herd-embedded":
            provider["config"]["max_queue"] = 1
    # The config goes through YAML like a hand-edited file would.
    config = yaml.safe_load(yaml.safe_dump(config))
    server = herd_server_factory(config, "herd-small-queue")
    yield server
    server.stop()


async def test_burst_beyond_queue_gets_503_not_a_hang(small_queue_server):
    body = {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": "Write a long story about a lighthouse keeper."}],
        "max_tokens": 200,
        "stream": True,
    }

    retry_after: list[str | None] = []

    async def one(client: httpx.AsyncClient) -> tuple[int, float, str]:
        started = time.perf_counter()
        async with client.stream("POST", CHAT, json=body) as response:
            payload = await response.aread()
        if response.status_code == 503:
            retry_after.append(response.headers.get("retry-after"))
        return response.status_code, time.perf_counter() - started, payload.decode()

    async with httpx.AsyncClient(base_url=small_queue_server.base_url, timeout=120) as client:
        results = await asyncio.wait_for(asyncio.gather(*(one(client) for _ in range(6))), timeout=300)

        statuses = sorted(status for status, _, _ in results)
        print(f"\nburst of 6 → statuses {statuses}; times {[round(t, 2) for _, t, _ in results]}")
        assert set(statuses) <= {200, 503}, results
        busy = [(t, text) for status, t, text in results if status == 503]
        served = [text for status, _, text in results if status == 200]
        assert busy, "capacity is 2, so some of 6 concurrent requests must be refused"
        assert retry_after and all(value == "1" for value in retry_after), retry_after
        assert len(served) >= 1
        for elapsed, text in busy:
            message = json.loads(text)["error"]["message"]
            assert "retry" in message, message
            assert elapsed < 10, f"a refused request took {elapsed:.1f} s; it should be refused at once"
        for text in served:
            events = [line.removeprefix("data: ") for line in text.splitlines() if line.startswith("data: ")]
            chunks = [json.loads(e) for e in events if e != "[DONE]"]
            assert chunks and chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length"), text[-300:]
            assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])

        response = await client.post(CHAT, json={"model": CHAT_MODEL, "messages": HELLO, "max_tokens": 4})
        assert response.status_code == 200, response.text
