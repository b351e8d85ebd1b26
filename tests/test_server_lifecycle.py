"""A client that goes away mid-stream stops generation and frees its slot; SIGTERM drains the
streams in flight (bounded), refuses new requests with 503, and exits 0 with the stores intact;
the threads that answer HTTP run above the models' compute threads."""

import contextlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx

from herd.distribution import templates
from herd.distribution.lifecycle import HTTP_PRIORITY
from herd.distribution.priority import BASE, at_base_priority, raise_this_thread
from tests.conftest import CHAT_MODEL, TINY_MODEL, start_server

SAID = {"type": "message", "role": "user", "content": "kept?"}


def _in_flight(http: httpx.Client) -> int:
    return http.get("/v1/herd/status").json()["models_loaded"][TINY_MODEL]["in_flight"]


def test_disconnect_mid_stream_frees_the_slot(base_url):
    body = {
        "model": CHAT_MODEL,
        "messages": [{"role": "user", "content": "Write a very long story about the sea."}],
        "max_tokens": 4000,  # ~40 s of decoding on the tiny model if nothing stopped it
        "stream": True,
    }
    with httpx.Client(base_url=base_url, timeout=60) as http:
        with http.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            received = [line for line, _ in zip(lines, range(6), strict=False) if line.startswith("data: ")]
            assert received
            assert _in_flight(http) == 1
        # Leaving the block closed the connection after a few chunks.
        deadline = time.monotonic() + 10
        while _in_flight(http) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _in_flight(http) == 0
        start = time.monotonic()
        reply = http.post(
            "/v1/chat/completions",
            json={"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
        )
        assert reply.status_code == 200
        assert time.monotonic() - start < 10  # the slot is free, not still decoding 4000 tokens


# --- SIGTERM: drain, refuse, flush, exit 0 -----------------------------------------------------

LONG_STORY = {
    "model": CHAT_MODEL,
    "messages": [{"role": "user", "content": "Write a very long story about the sea."}],
    "temperature": 0,
    "stream": True,
}


def _stream_in_thread(url: str, max_tokens: int) -> tuple[threading.Thread, list[str], threading.Event]:
    """Streams a long reply in a thread; ``started`` is set at its first chunk; ``lines`` fills up."""
    lines: list[str] = []
    started = threading.Event()

    def run() -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            try:
                with http.stream("POST", "/v1/chat/completions", json={**LONG_STORY, "max_tokens": max_tokens}) as r:
                    for line in r.iter_lines():
                        if line.startswith("data: "):
                            lines.append(line[6:])
                            started.set()
            except httpx.HTTPError as exc:
                lines.append(f"error: {exc!r}")
            started.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, lines, started


def test_sigterm_drains_streams_refuses_new_requests_and_exits_0(herd_server_factory, tmp_path) -> None:
    config = templates.embedded(chat_model=TINY_MODEL)
    server = herd_server_factory(config, "herd-drain", ("--drain-seconds", "120"))  # a busy host decodes slowly
    with httpx.Client(base_url=server.base_url, timeout=60) as http:
        conversation = http.post("/v1/conversations", json={"items": [SAID]}).json()["id"]
        upload = http.post(
            "/v1/files", files={"file": ("kept.txt", b"kept across a stop")}, data={"purpose": "assistants"}
        )
        file_id = upload.json()["id"]
        thread, lines, started = _stream_in_thread(server.base_url, 64)
        assert started.wait(60)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        refused = http.post("/v1/chat/completions", json={**LONG_STORY, "stream": False, "max_tokens": 4})
        assert refused.status_code == 503 and "shutting down" in refused.json()["error"]["message"]
        assert int(refused.headers["retry-after"]) > 0
        assert http.get("/v1/health").status_code == 503  # a load balancer stops sending here
    thread.join(150)
    assert lines[-1] == "[DONE]", lines[-3:]
    finished = [json.loads(line)["choices"][0]["finish_reason"] for line in lines[:-1] if json.loads(line)["choices"]]
    assert finished[-1] in ("length", "stop")
    assert server.process.wait(30) == 0, server.log_tail()
    again = start_server(config, server.home, tmp_path / "again")
    try:
        with httpx.Client(base_url=again.base_url, timeout=60) as http:
            assert http.get(f"/v1/conversations/{conversation}/items").json()["data"][0]["content"] == "kept?"
            assert http.get(f"/v1/files/{file_id}/content").content == b"kept across a stop"
    finally:
        again.stop()


def test_the_drain_is_bounded(herd_server_factory) -> None:
    server = herd_server_factory(
        templates.embedded(chat_model=TINY_MODEL), "herd-drain-bound", ("--drain-seconds", "1")
    )
    thread, lines, started = _stream_in_thread(server.base_url, 4000)  # ~40 s of decoding if nothing stops it
    assert started.wait(60)
    begun = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(30) == 0, server.log_tail()
    assert time.monotonic() - begun < 15  # 1 s of drain, then uvicorn's 5 s for open connections
    thread.join(30)
    assert not thread.is_alive()
    assert "drain time is up with 1 requests still running" in server.log_path.read_text()


def _threads(pid: int) -> dict[int, tuple[int, int]]:
    """Each thread of ``pid``: (nice, CPU ticks so far)."""
    threads = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            fields = (task / "stat").read_text().rpartition(")")[2].split()
            threads[int(task.name)] = (int(fields[16]), int(fields[11]) + int(fields[12]))
    return threads


def test_the_http_side_runs_above_the_models_compute_threads(tiny_server) -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)  # the server inherits this process's nice
    pid = tiny_server.process.pid
    before = _threads(pid)
    body = {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Tell a story."}], "max_tokens": 200}
    httpx.post(f"{tiny_server.base_url}/v1/chat/completions", json=body, timeout=120).raise_for_status()
    after = _threads(pid)
    busiest = sorted(after, key=lambda t: after[t][1] - before.get(t, (0, 0))[1], reverse=True)[:2]
    assert {after[t][0] for t in busiest} == {base}, after  # llama.cpp's threads, at the process's priority
    assert pid not in busiest
    expected = max(-20, base - HTTP_PRIORITY) if os.geteuid() == 0 else base  # raising needs CAP_SYS_NICE
    assert after[pid][0] == expected  # the event loop's thread


def test_raising_a_thread_and_putting_it_back() -> None:
    seen: dict[str, int] = {}

    def work() -> None:
        raised = raise_this_thread(5)
        seen["raised"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        child = threading.Thread(target=lambda: seen.setdefault("child", os.getpriority(os.PRIO_PROCESS, 0)))
        child.start()
        child.join()
        at_base_priority()
        seen["back"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen["ok"] = raised

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen["ok"] == (os.geteuid() == 0)
    assert seen["raised"] == seen["child"] == (max(-20, BASE - 5) if seen["ok"] else BASE)  # a new thread inherits
    assert seen["back"] == BASE
    assert os.getpriority(os.PRIO_PROCESS, 0) == BASE  # this thread untouched
