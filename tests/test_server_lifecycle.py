"""A client that goes away mid-stream stops generation and frees its slot."""

import time

import httpx

from tests.conftest import CHAT_MODEL, TINY_MODEL


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
