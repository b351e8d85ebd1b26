"""Ollama vision, `herd models pull` and Ollama's errors, against the Ollama-compatible fake (``fake_ollama.py``).

There is no Ollama binary here; the fake answers Ollama's API (``/api/show`` with
capabilities, ``/api/pull``, its OpenAI-compatible chat) and records the images it got.
"""

import asyncio
import base64
import contextlib
import hashlib
import http.server
import io
import threading
from collections.abc import Iterator

import httpx
import openai
import pytest
from PIL import Image

from herd.cli.ollama import PullProgress
from herd.distribution import templates
from herd.errors import TooLarge
from herd.providers.ollama import images

from .conftest import free_port, run_main
from .test_ollama_distribution import fake_ollama

VISION = "ollama/llama3.2-vision"
TEXT = "ollama/smollm2:135m"


def _png(colour: str, size: tuple[int, int] = (24, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


RED, BLUE = _png("red"), _png("blue", (8, 8))


def _data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _saw(*datas: bytes) -> str:
    return f"saw {len(datas)} image(s): " + " ".join(hashlib.sha256(d).hexdigest()[:12] for d in datas)


def _ask(*urls: str) -> list[dict]:
    parts = [{"type": "text", "text": "What is in these images?"}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    return [{"role": "user", "content": parts}]


@pytest.fixture(scope="module")
def ollama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fake_ollama(tmp_path_factory) as (url, _process):
        yield url


@pytest.fixture(scope="module")
def herd_url(ollama_url: str, herd_server_factory) -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OLLAMA_URL", ollama_url)
        return herd_server_factory(templates.ollama(), "herd-ollama-vision").base_url


@pytest.fixture(scope="module")
def client(herd_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{herd_url}/v1", api_key="none", max_retries=0, timeout=120)


def _seen(ollama_url: str) -> list[dict]:
    return httpx.get(f"{ollama_url}/fake/images", timeout=10).json()["requests"]


def _post(herd_url: str, model: str, messages: list[dict]) -> httpx.Response:
    body = {"model": model, "messages": messages, "max_tokens": 8}  # the fake's real tiny model may ramble
    return httpx.post(f"{herd_url}/v1/chat/completions", json=body, timeout=60)


@contextlib.contextmanager
def image_site(files: dict[str, bytes]) -> Iterator[str]:
    """A tiny http server on a free port serving ``files`` as PNGs (any other path: 404)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802  (http.server's name)
            data = files.get(self.path)
            self.send_response(200 if data else 404)
            self.send_header("Content-Type", "image/png" if data else "text/plain")
            self.send_header("Content-Length", str(len(data or b"no")))
            self.end_headers()
            self.wfile.write(data or b"no")

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# -- models and images -------------------------------------------------------------------


def test_ollama_models_carry_their_capabilities(herd_url):
    models = {m["id"]: m for m in httpx.get(f"{herd_url}/v1/models", timeout=30).json()["data"]}
    vision = models[f"{VISION}:latest"]["custom_metadata"]
    assert "images" in vision["capabilities"] and vision["ollama_capabilities"] == ["completion", "vision"]
    text = models[TEXT]["custom_metadata"]["capabilities"]
    assert "tools" in text and "images" not in text


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_images_reach_ollama_with_their_exact_bytes(client, ollama_url, stream):
    reply = client.chat.completions.create(model=VISION, messages=_ask(_data_url(RED), _data_url(BLUE)), stream=stream)
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in reply if c.choices)
    else:
        text = reply.choices[0].message.content
    assert text == _saw(RED, BLUE)
    last = _seen(ollama_url)[-1]
    assert last["model"] == "llama3.2-vision:latest"
    assert [base64.b64decode(i) for i in last["images"]] == [RED, BLUE]


def test_a_responses_request_passes_its_image_through(client, ollama_url):
    content = [
        {"type": "input_text", "text": "What is this?"},
        {"type": "input_image", "image_url": _data_url(BLUE), "detail": "auto"},
    ]
    response = client.responses.create(model=VISION, input=[{"role": "user", "content": content}], store=False)
    assert response.output_text == _saw(BLUE)
    assert [base64.b64decode(i) for i in _seen(ollama_url)[-1]["images"]] == [BLUE]


def test_an_http_image_url_is_fetched_and_inlined(client, ollama_url):
    with image_site({"/red.png": RED}) as site:
        reply = client.chat.completions.create(model=VISION, messages=_ask(f"{site}/red.png"))
    assert reply.choices[0].message.content == _saw(RED)
    [sent] = _seen(ollama_url)[-1]["images"]
    assert base64.b64decode(sent) == RED


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("SITE/missing.png", "answered HTTP 404"),
        (f"http://127.0.0.1:{free_port()}/x.png", "could not fetch image"),  # nothing listens there
        ("/etc/passwd", "reads no local files"),
        ("file:///etc/passwd", "reads no local files"),
        ("data:image/png;base64,@@not-base64@@", "invalid base64"),
    ],
    ids=["http-404", "unreachable", "path", "file-url", "bad-data-url"],
)
def test_an_image_that_cannot_be_read_is_a_400_not_an_ollama_outage(herd_url, ollama_url, url, says):
    before = len(_seen(ollama_url))
    with image_site({}) as site:
        response = _post(herd_url, VISION, _ask(url.replace("SITE", site)))
    assert response.status_code == 400, response.text
    assert says in response.json()["error"]["message"]
    assert len(_seen(ollama_url)) == before


def test_a_fetched_image_past_the_cap_is_refused():
    transport = httpx.MockTransport(lambda _request: httpx.Response(200, content=RED * 4))
    with pytest.raises(TooLarge, match="the limit for a fetched image"):
        asyncio.run(images.fetch("http://images.test/big.png", len(RED) * 2, transport))


def test_an_image_for_a_model_without_vision_is_a_400(herd_url, ollama_url):
    before = len(_seen(ollama_url))
    response = _post(herd_url, TEXT, _ask(_data_url(RED)))
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "smollm2:135m cannot read images" in message
    assert "llama3.2-vision" in message and "compose/vision-composed" in message
    assert len(_seen(ollama_url)) == before  # refused before Ollama, not silently dropped


# -- a model Ollama does not have ----------------------------------------------------------


@pytest.mark.parametrize("with_image", [False, True], ids=["text", "image"])
def test_a_model_not_pulled_is_a_404_saying_how_to_pull_it(herd_url, ollama_url, with_image):
    messages = _ask(_data_url(RED)) if with_image else [{"role": "user", "content": "hi"}]
    response = _post(herd_url, "ollama/nope:1b", messages)
    assert response.status_code == 404, response.text
    message = response.json()["error"]["message"]
    assert f"model nope:1b is not pulled into Ollama at {ollama_url}" in message
    assert "run `herd models pull nope:1b`" in message


def test_a_streamed_chat_to_a_model_not_pulled_is_a_404(client):
    with pytest.raises(openai.NotFoundError, match="herd models pull nope:1b"):
        list(
            client.chat.completions.create(
                model="ollama/nope:1b", messages=[{"role": "user", "content": "hi"}], stream=True
            )
        )


# -- herd models pull ------------------------------------------------------------------------


def test_pull_shows_progress_and_the_model_then_answers(monkeypatch, capsys, ollama_url, herd_url):
    monkeypatch.setenv("OLLAMA_URL", ollama_url)
    code, out, err = run_main(monkeypatch, capsys, "models", "pull", "qwen2.5:0.5b")
    assert code == 0, err
    lines = err.splitlines()
    assert lines[0] == "pulling manifest" and lines[-1] == "success"
    percents = [line.split()[2] for line in lines if "%" in line]
    assert percents[0] == "0%" and percents[-1] == "100%"
    assert f"pulled qwen2.5:0.5b into Ollama at {ollama_url}" in out
    tags = [m["name"] for m in httpx.get(f"{ollama_url}/api/tags", timeout=10).json()["models"]]
    assert "qwen2.5:0.5b" in tags
    reply = _post(herd_url, "ollama/qwen2.5:0.5b", [{"role": "user", "content": "hi"}])  # no restart needed
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("no-such-model:7b", "Ollama has no model named no-such-model:7b (Ollama at URL answered: pull model manifest"),
        ("flaky:1b", "the pull of flaky:1b from Ollama at URL broke off"),
    ],
    ids=["unknown", "broken-stream"],
)
def test_pull_errors_are_one_line(monkeypatch, capsys, ollama_url, name, says):
    code, _out, err = run_main(monkeypatch, capsys, "models", "pull", name, "--url", ollama_url)
    assert code == 1
    [error] = [line for line in err.splitlines() if line.startswith("herd: error:")]
    assert says.replace("URL", ollama_url) in error


def test_pull_without_ollama_says_how_to_start_it(monkeypatch, capsys):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("OLLAMA_URL", url)
    code, _out, err = run_main(monkeypatch, capsys, "models", "pull", "llama3.2-vision")
    assert code == 1
    assert err.strip() == (
        f"herd: error: no Ollama server answers at {url}; start it with `ollama serve` or set OLLAMA_URL (or --url)"
    )


def test_pull_progress_rewrites_one_line_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    progress = PullProgress(out)
    progress.show({"status": "pulling manifest"})
    for done in (0, 50, 100):
        progress.show(
            {"status": "pulling abc", "digest": "sha256:abc", "total": 100_000_000, "completed": done * 10**6}
        )
    progress.show({"status": "success"})
    progress.close()
    assert out.getvalue().split("\x1b[K") == [
        "pulling manifest",
        "\npulling abc   0% (0.0/100.0 MB)",
        "\rpulling abc  50% (50.0/100.0 MB)",
        "\rpulling abc 100% (100.0/100.0 MB)",
        "\nsuccess",
        "\n",
    ]


def test_pull_help(monkeypatch, capsys):
    code, out, _err = run_main(monkeypatch, capsys, "models", "pull", "--help")
    assert code == 0
    assert all(word in out for word in ("NAME", "--url", "OLLAMA_URL", "Ollama"))
