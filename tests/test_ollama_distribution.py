"""The `ollama` distribution against an Ollama-compatible server started by the test (real tiny model)."""

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from herd.distribution import templates

from .conftest import free_port
from .tools import WEATHER

FAKE = Path(__file__).with_name("fake_ollama.py")


@contextlib.contextmanager
def fake_ollama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A fake Ollama on a free port: (its URL, its process); stopped on exit if still running."""
    port = free_port()
    log = tmp_path_factory.mktemp("ollama") / "ollama.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(FAKE), str(port)], stdout=out, stderr=subprocess.STDOUT, cwd=FAKE.parent.parent
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url + "/api/version", timeout=2).status_code == 200:
                break
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"fake Ollama did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    try:
        yield url, process
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture(scope="module")
def ollama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fake_ollama(tmp_path_factory) as (url, _process):
        yield url


@pytest.fixture(scope="module")
def ollama_herd(ollama_url: str, herd_server_factory) -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OLLAMA_URL", ollama_url)
        return herd_server_factory(templates.ollama(), "herd-ollama").base_url


def test_ollama_models_are_listed_beside_the_embedded_embedder(ollama_herd):
    ids = {m["id"]: m for m in httpx.get(f"{ollama_herd}/v1/models").json()["data"]}
    assert "ollama/smollm2:135m" in ids
    assert ids["herd/all-minilm-l6-v2"]["custom_metadata"]["model_type"] == "embedding"


def test_chat_through_ollama_streams_and_not(ollama_herd):
    import openai

    client = openai.OpenAI(base_url=f"{ollama_herd}/v1", api_key="none", max_retries=0)
    messages = [{"role": "user", "content": "Say hello."}]
    reply = client.chat.completions.create(
        model="ollama/smollm2:135m", messages=messages, max_tokens=8, temperature=0, seed=1
    )
    assert reply.choices[0].message.content
    assert reply.usage.completion_tokens <= 8
    stream = client.chat.completions.create(
        model="ollama/smollm2:135m", messages=messages, max_tokens=8, temperature=0, seed=1, stream=True
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert streamed == reply.choices[0].message.content


def test_embeddings_stay_in_process(ollama_herd):
    body = {"model": "herd/all-minilm-l6-v2", "input": "hello"}
    data = httpx.post(f"{ollama_herd}/v1/embeddings", json=body, timeout=60).json()["data"]
    assert len(data[0]["embedding"]) == 384


def test_a_model_ollama_does_not_have_is_a_clear_404(ollama_herd):
    body = {"model": "ollama/llama3.3:70b", "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(f"{ollama_herd}/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 404
    assert "run `herd models pull llama3.3:70b`" in response.json()["error"]["message"]


def test_without_ollama_the_server_still_starts_and_serves_embeddings(herd_server_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OLLAMA_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
        url = herd_server_factory(templates.ollama(), "herd-no-ollama").base_url
    models = [m["id"] for m in httpx.get(f"{url}/v1/models").json()["data"]]
    assert not [m for m in models if m.startswith("ollama/")]
    body = {"model": "herd/all-minilm-l6-v2", "input": "hello"}
    assert httpx.post(f"{url}/v1/embeddings", json=body, timeout=60).status_code == 200


# -- tool calls written as text ---------------------------------------------------------

FENCED_CALL = 'Sure! Let me check.\n```json\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```'


def _script(ollama_url: str, *replies: str) -> None:
    httpx.post(f"{ollama_url}/fake/script", json={"replies": list(replies)}, timeout=10).raise_for_status()


def _received(ollama_url: str) -> list[dict]:
    return httpx.get(f"{ollama_url}/fake/requests", timeout=10).json()["requests"]


def _client(ollama_herd: str):
    import openai

    return openai.OpenAI(base_url=f"{ollama_herd}/v1", api_key="none", max_retries=0, timeout=120)


def test_a_fenced_text_call_comes_back_as_tool_calls(ollama_url, ollama_herd):
    _script(ollama_url, FENCED_CALL)
    reply = _client(ollama_herd).chat.completions.create(
        model="ollama/smollm2:135m", messages=[{"role": "user", "content": "Weather in Paris?"}], tools=[WEATHER]
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Sure! Let me check."
    [call] = choice.message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})
    assert _received(ollama_url)[-1]["tools"][0]["function"]["name"] == "get_weather"


def test_a_streamed_text_call_comes_back_as_tool_call_deltas(ollama_url, ollama_herd):
    _script(ollama_url, FENCED_CALL)
    chunks = list(
        _client(ollama_herd).chat.completions.create(
            model="ollama/smollm2:135m",
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[WEATHER],
            stream=True,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    calls = [tc for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])]
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert text == "Sure! Let me check."
    assert [c.function.name for c in calls] == ["get_weather"]
    assert json.loads(calls[0].function.arguments) == {"city": "Paris"}
    assert finish == ["tool_calls"]


def test_a_bad_call_is_repaired_by_a_json_schema_retry_on_the_real_model(ollama_url, ollama_herd):
    _script(ollama_url, '[get_weather(city="Paris", unit="kelvin")]')
    reply = _client(ollama_herd).chat.completions.create(
        model="ollama/smollm2:135m",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[WEATHER],
        max_tokens=64,
        temperature=0,
    )
    retry = _received(ollama_url)[-1]
    assert retry["response_format"]["type"] == "json_schema"
    assert retry["response_format"]["json_schema"]["schema"]["properties"]["name"] == {"const": "get_weather"}
    assert "tools" not in retry
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls", choice
    arguments = json.loads(choice.message.tool_calls[0].function.arguments)
    assert isinstance(arguments["city"], str)
    assert arguments.get("unit", "celsius") in ("celsius", "fahrenheit")


def test_completions_reach_ollama_as_raw_prompts(ollama_herd, ollama_url):
    """Ollama's /v1/completions would wrap the prompt in the model's chat template; Herd sends it raw."""
    import openai

    client = openai.OpenAI(base_url=ollama_herd + "/v1", api_key="none", max_retries=0)
    prompt = "<|im_start|>user\nName a fruit.<|im_end|>\n<|im_start|>assistant\n"
    reply = client.completions.create(
        model="ollama/smollm2:135m", prompt=prompt, max_tokens=8, temperature=0, stop="\n"
    )
    assert reply.choices[0].text.strip() and reply.choices[0].finish_reason in ("stop", "length")
    sent = httpx.get(ollama_url + "/fake/generate").json()["requests"][-1]
    assert sent["raw"] is True and sent["prompt"] == prompt
    assert sent["options"] == {"temperature": 0.0, "stop": ["\n"], "num_predict": 8}
