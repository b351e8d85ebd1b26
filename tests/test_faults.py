"""Faults, each on servers the test starts and stops itself.

- the inference provider (a fake Ollama, its own process) killed mid-stream;
- the vector store (a Chroma server) gone;
- the disk holding the stores full (a small tmpfs under bubblewrap);
- the server killed with SIGKILL and started again on the same state.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from herd.distribution import templates

from .conftest import CHAT_MODEL, TINY_MODEL, HerdServer, free_port, make_home, start_server
from .rag_files import CORPUS, attach
from .test_rag_restart import _start_chroma, _stop

FAKE_OLLAMA = Path(__file__).with_name("fake_ollama.py")
OLLAMA_MODEL = "ollama/smollm2:135m"
LONG_REPLY = " ".join(f"word{i}" for i in range(120))  # 5 characters a piece: ~130 pieces, 50 ms apart


@contextlib.contextmanager
def running(config: dict[str, Any], root: Path, models_dir: Path, **kwargs: Any) -> Iterator[HerdServer]:
    server = start_server(config, make_home(root / "home", models_dir), root / "run", **kwargs)
    try:
        yield server
    finally:
        server.stop()


def _chat(url: str, model: str = CHAT_MODEL, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8}
    return httpx.post(f"{url}/v1/chat/completions", json={**body, "temperature": 0, **extra}, timeout=60)


def _message(response: httpx.Response) -> str:
    return str(response.json()["error"]["message"])


# -- the inference provider killed mid-stream ------------------------------------------


def _start_ollama(port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, str(FAKE_OLLAMA), str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=FAKE_OLLAMA.parent.parent,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/api/version", timeout=2).status_code == 200:
                return process
        time.sleep(0.2)
    process.kill()
    pytest.fail(f"fake Ollama did not start: {log.read_text()[-2000:]}")


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def _stream_and_kill(url: str, victim: subprocess.Popen[bytes]) -> tuple[str, list[dict[str, Any]], list[str]]:
    """Stream a long reply, SIGKILL ``victim`` after the first piece; the text, the error events, the raw lines."""
    body = {"model": OLLAMA_MODEL, "messages": [{"role": "user", "content": "Count."}], "stream": True}
    text, errors, lines = "", [], []
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=60) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line:
                lines.append(line)
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            if "error" in chunk:
                errors.append(chunk["error"])
                continue
            text += "".join((c.get("delta") or {}).get("content") or "" for c in chunk.get("choices") or [])
            if text and victim.poll() is None:
                _kill(victim)
    return text, errors, lines


def test_ollama_killed_mid_stream_is_an_error_event_and_the_next_request_works(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    ollama_url = f"http://127.0.0.1:{port}"
    ollama = _start_ollama(port, tmp_path / "ollama.log")
    monkeypatch.setenv("OLLAMA_URL", ollama_url)
    try:
        with running(templates.ollama(), tmp_path / "herd", models_dir) as server:
            script = {"replies": [LONG_REPLY], "delay": 0.05}
            httpx.post(f"{ollama_url}/fake/script", json=script, timeout=10).raise_for_status()
            text, errors, lines = _stream_and_kill(server.base_url, ollama)
            assert text and text != LONG_REPLY
            [error] = errors
            assert error["code"] == "503", error
            assert f"Ollama at {ollama_url}" in error["message"] and "mid-stream" in error["message"]
            assert lines[-1] == "data: [DONE]"  # the stream ended, it was not cut

            down = _chat(server.base_url, OLLAMA_MODEL)
            assert down.status_code == 503, down.text
            assert f"cannot reach the inference provider Ollama at {ollama_url}" in _message(down)
            streamed = _chat(server.base_url, OLLAMA_MODEL, stream=True)
            assert streamed.status_code == 503 and "Ollama" in _message(streamed)

            ollama = _start_ollama(port, tmp_path / "ollama.log")
            again = _chat(server.base_url, OLLAMA_MODEL)
            assert again.status_code == 200, again.text
            assert again.json()["choices"][0]["message"]["content"]
    finally:
        _kill(ollama)


# -- the vector store unreachable ------------------------------------------------------


def test_chroma_gone_is_a_503_naming_it_and_chat_without_rag_still_works(tmp_path: Path, models_dir: Path) -> None:
    port = free_port()
    chroma = _start_chroma(tmp_path / "chroma-data", port, tmp_path / "chroma.log")
    config = templates.embedded(chat_model=TINY_MODEL, chroma_url=f"http://127.0.0.1:{port}", distro="chroma")
    try:
        with running(config, tmp_path / "herd", models_dir) as server:
            oa = _openai(server.base_url)
            store = oa.vector_stores.create(name="faulty").id
            name = "alice_ch01_down_the_rabbit_hole.txt"
            assert attach(oa, store, name, (CORPUS / name).read_bytes()).status == "completed"
            _kill(chroma)

            search = httpx.post(
                f"{server.base_url}/v1/vector_stores/{store}/search", json={"query": "rabbit"}, timeout=60
            )
            assert search.status_code == 503, search.text
            assert f"chromadb at http://127.0.0.1:{port}" in _message(search)
            # The file_search call fails (llama-stack alone would report "0 chunks found"); the model reads why.
            tool = {"type": "file_search", "vector_store_ids": [store]}
            body = {"model": CHAT_MODEL, "input": "What did Alice see?", "tools": [tool], "tool_choice": "required"}
            answer = httpx.post(
                f"{server.base_url}/v1/responses", json={**body, "max_tool_calls": 1, "temperature": 0}, timeout=120
            )
            assert answer.status_code == 200, answer.text
            calls = [item for item in answer.json()["output"] if item["type"] == "file_search_call"]
            assert calls and all(call["status"] == "failed" for call in calls), answer.text

            chat = _chat(server.base_url)
            assert chat.status_code == 200, chat.text
            assert chat.json()["choices"][0]["message"]["content"]
    finally:
        _stop(chroma)


def _openai(url: str) -> Any:
    import openai

    return openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=120)


# -- the disk holding the stores full --------------------------------------------------

STORE_BYTES = 24 * 1024 * 1024
UPLOAD = 1024 * 1024


def _upload(url: str, name: str, content: bytes) -> httpx.Response:
    files = {"file": (name, content, "application/octet-stream")}
    return httpx.post(f"{url}/v1/files", files=files, data={"purpose": "assistants"}, timeout=60)


def _conversation(url: str, text: str) -> str:
    items = [{"type": "message", "role": "user", "content": text}]
    reply = httpx.post(f"{url}/v1/conversations", json={"items": items}, timeout=30)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["id"])


def _items(url: str, conversation: str) -> list[str]:
    reply = httpx.get(f"{url}/v1/conversations/{conversation}/items", params={"order": "asc"}, timeout=30)
    assert reply.status_code == 200, reply.text
    texts = []
    for item in reply.json()["data"]:
        content = item["content"]
        texts.extend([content] if isinstance(content, str) else [part["text"] for part in content])
    return texts


def _content(url: str, file_id: str) -> bytes:
    reply = httpx.get(f"{url}/v1/files/{file_id}/content", timeout=30)
    assert reply.status_code == 200, reply.text
    return reply.content


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")
def test_a_full_disk_is_a_clear_507_and_breaks_nothing(tmp_path: Path, models_dir: Path) -> None:
    home = make_home(tmp_path / "home", models_dir)
    state = home / "embedded"
    state.mkdir()
    # The stores (sqlite, files, chromadb) on a small tmpfs; the models stay outside it.
    sandbox = ("bwrap", "--dev-bind", "/", "/", "--size", str(STORE_BYTES), "--tmpfs", str(state), "--")
    server = start_server(templates.embedded(chat_model=TINY_MODEL), home, tmp_path / "run", wrapper=sandbox)
    try:
        url = server.base_url
        kept = os.urandom(4096)
        kept_id = _upload(url, "kept.bin", kept).json()["id"]
        conversation = _conversation(url, "remember the lighthouse")
        uploaded, refusal = [], None
        for i in range(STORE_BYTES // UPLOAD + 4):
            reply = _upload(url, f"fill{i}.bin", os.urandom(UPLOAD))
            if reply.status_code != 200:
                refusal = reply
                break
            uploaded.append(reply.json()["id"])
        assert refusal is not None, "the store never filled up"
        assert refusal.status_code == 507, refusal.text
        assert "full" in _message(refusal) and str(state) in _message(refusal)
        assert httpx.get(f"{url}/v1/health", timeout=10).status_code == 200
        items = [{"type": "message", "role": "user", "content": "while full"}]
        while_full = httpx.post(f"{url}/v1/conversations", json={"items": items}, timeout=30)
        assert while_full.status_code in (200, 507), while_full.text  # sqlite may still have a free page
        if while_full.status_code == 507:
            assert "full" in _message(while_full)
        assert _content(url, kept_id) == kept
        assert _items(url, conversation) == ["remember the lighthouse"]
        listed = {f["id"] for f in httpx.get(f"{url}/v1/files", params={"limit": 100}, timeout=30).json()["data"]}
        assert listed == {kept_id, *uploaded}  # the refused upload left no record

        for file_id in uploaded[:3]:
            assert httpx.delete(f"{url}/v1/files/{file_id}", timeout=30).status_code == 200
        after = _upload(url, "after.bin", b"room again")
        assert after.status_code == 200, after.text
        assert _content(url, after.json()["id"]) == b"room again"
        assert _items(url, _conversation(url, "and again")) == ["and again"]
        assert "Traceback" not in server.log_path.read_text()
    finally:
        server.stop()


# -- kill -9 and restart ---------------------------------------------------------------


def test_kill_9_and_restart_keeps_every_committed_conversation_and_file(tmp_path: Path, models_dir: Path) -> None:
    config = templates.embedded(chat_model=TINY_MODEL)
    home = make_home(tmp_path / "home", models_dir)
    server = start_server(config, home, tmp_path / "first")
    try:
        url = server.base_url
        conversations = {}
        for i in range(3):
            conversation = _conversation(url, f"first message {i}")
            more = [{"type": "message", "role": "assistant", "content": f"reply {i}"}]
            added = httpx.post(f"{url}/v1/conversations/{conversation}/items", json={"items": more}, timeout=30)
            assert added.status_code == 200, added.text
            conversations[conversation] = [f"first message {i}", f"reply {i}"]
        files = {}
        for i in range(3):
            content = os.urandom(50_000 + i)
            files[_upload(url, f"blob{i}.bin", content).json()["id"]] = content
    finally:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(10)

    again = start_server(config, home, tmp_path / "again")
    try:
        for conversation, texts in conversations.items():
            assert _items(again.base_url, conversation) == texts
        for file_id, content in files.items():
            assert _content(again.base_url, file_id) == content
    finally:
        again.stop()


def test_a_full_disk_is_recognised_however_it_is_wrapped() -> None:
    import errno
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from herd.distribution.disk_full import is_disk_full

    full = sqlite3.OperationalError("database or disk is full")
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OperationalError("INSERT ...", {}, full))
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(sqlite3.OperationalError("no such table: files"))
