"""The `ollama` distribution against an Ollama-compatible server started by the test (real tiny model)."""

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from herd.distribution import templates

from .conftest import free_port

FAKE = Path(__file__).with_name("fake_ollama.py")


@pytest.fixture(scope="module")
def ollama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
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
    yield url
    process.terminate()
    process.wait(10)


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
    body = {"model": "ollama/llama3.2-vision", "messages": [{"role": "user", "content": "hi"}]}
    response = httpx.post(f"{ollama_herd}/v1/chat/completions", json=body, timeout=60)
    assert response.status_code == 404
    assert "llama3.2-vision" in response.json()["error"]["message"]


def test_without_ollama_the_server_still_starts_and_serves_embeddings(herd_server_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OLLAMA_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
        url = herd_server_factory(templates.ollama(), "herd-no-ollama").base_url
    models = [m["id"] for m in httpx.get(f"{url}/v1/models").json()["data"]]
    assert not [m for m in models if m.startswith("ollama/")]
    body = {"model": "herd/all-minilm-l6-v2", "input": "hello"}
    assert httpx.post(f"{url}/v1/embeddings", json=body, timeout=60).status_code == 200
