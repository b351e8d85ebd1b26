"""Inference benchmark: the Herd server against the llama.cpp binding called directly.

In one run, with the same model, prompt, sampling and thread count:
- generation tokens/s and time to first token, streaming, Herd vs direct (xllamacpp), and
  the floor: the thinnest Python HTTP server over the same engine (``floor_server.py``),
  which shows what HTTP streaming itself costs on this machine;
- a multi-turn conversation through Herd: each next turn's TTFT against a single short
  prompt's, with the prompt cache on (default) and off;
- server cold start to healthy, model-load time (reported apart), peak RSS.

    .venv/bin/python bench/inference.py [--model qwen2.5-coder-1.5b-instruct] [--tokens 128] [--rounds 3]

Targets (issue #3): throughput >= 0.99x direct, TTFT overhead <= 5 ms, next-turn TTFT
<= 1.5x a short prompt's, cold start <= 3 s.
"""

import argparse
import functools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

# Run as a script, this folder is on sys.path; the launcher is a plain module beside it.
from launch import Launched, free_port

from herd.distribution.catalog import get_model
from herd.distribution.templates import embedded
from herd.distribution.weights import prepare

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."
CTX = 8192
PAUSE = 0.2  # seconds before each TTFT request
Stream = Callable[[str, int], tuple[Any, ...]]  # (prompt, tokens) -> (TTFT, decode tokens/s, ...)


class Direct:
    """The same model through xllamacpp in this process: the baseline."""

    def __init__(self, model_path: Path) -> None:
        import xllamacpp as xlc

        from herd.providers.embedded.llamacpp_engine import server_params

        self.server = xlc.Server(server_params(model_path, CTX)[0])

    def stream(self, prompt: str, tokens: int) -> tuple[float, float]:
        marks: list[float] = []
        start = time.perf_counter()
        body = {**_body(tokens, prompt), "stream": True}
        self.server.handle_chat_completions(body, functools.partial(_mark, marks=marks))
        return _rates(start, marks)


def _body(tokens: int, prompt: str) -> dict:
    return {
        "messages": [{"role": "user", "content": prompt}],
        "max_tokens": tokens,
        "temperature": 0,
        "seed": 7,
    }


def _mark(chunk: dict, marks: list[float]) -> bool:
    for choice in chunk.get("choices") or []:
        if (choice.get("delta") or {}).get("content"):
            marks.append(time.perf_counter())
    return False


def _in_turn(order: random.Random, prompt: str, tokens: int, streams: list[Stream], pause: float = 0.0) -> list[Any]:
    """(TTFT, decode) of ``prompt`` through each of ``streams``, run in a shuffled order, each after ``pause``."""
    got: list[Any] = [None] * len(streams)
    for k in order.sample(range(len(streams)), len(streams)):
        time.sleep(pause)
        got[k] = streams[k](prompt, tokens)[:2]
    return got


def _rates(start: float, marks: list[float]) -> tuple[float, float]:
    ttft = marks[0] - start
    decode = (len(marks) - 1) / (marks[-1] - marks[0]) if len(marks) > 1 else 0.0
    return ttft, decode


def stream_sse(http: httpx.Client, body: dict, tokens: int, **extra) -> tuple[float, float, str]:
    """TTFT, decode tokens/s and text of one streamed chat completion, read as an SDK would."""
    body = {**body, "max_tokens": tokens, "temperature": 0, "seed": 7, "stream": True, **extra}
    marks: list[float] = []
    text = []
    start = time.perf_counter()
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            for choice in json.loads(line[6:]).get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    marks.append(time.perf_counter())
                    text.append(piece)
    ttft, decode = _rates(start, marks)
    return ttft, decode, "".join(text)


class HerdServer(Launched):
    def __init__(self, model_id: str, home: Path) -> None:
        super().__init__(embedded(chat_model=model_id, context_length=CTX), home)
        # One keep-alive client: building an httpx client per request costs milliseconds
        # (an SSL context) that would be billed to the server's time to first token.
        self.http = httpx.Client(base_url=self.url, timeout=600)
        self.healthy_after = self.wait("/v1/health", lambda r: r.status_code == 200, timeout=120)
        self.status = self.wait_loaded(model_id, timeout=120)

    def stream(self, messages: list[dict], tokens: int, **extra) -> tuple[float, float, str]:
        return stream_sse(self.http, {"model": self.model_ref, "messages": messages}, tokens, **extra)

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")


class Floor:
    """``floor_server.py`` on a free port: the same engine behind the thinnest HTTP server."""

    def __init__(self, model_path: Path) -> None:
        port = free_port()
        script = Path(__file__).with_name("floor_server.py")
        self.proc = subprocess.Popen([sys.executable, str(script), str(model_path), str(port), str(CTX)])
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600)
        deadline = time.monotonic() + 120
        while True:
            try:
                self.http.get("/health")
                return
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise SystemExit("the floor server did not start") from None
                time.sleep(0.1)

    def stream(self, prompt: str, tokens: int) -> tuple[float, float]:
        return stream_sse(self.http, {"messages": [{"role": "user", "content": prompt}]}, tokens)[:2]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


def conversation(server: HerdServer, turns: int, cache: bool) -> list[float]:
    """TTFT of each turn of a growing conversation."""
    history: list[dict] = [{"role": "system", "content": "You are a helpful writing assistant."}]
    questions = [
        "Give me three ideas for a story set at sea.",
        "Expand the second idea into a paragraph.",
        "Now give the main character a name and a secret.",
        "Write the opening line of the story.",
        "Suggest a title.",
        "Summarise the story in one sentence.",
    ]
    ttfts = []
    for question in questions[:turns]:
        history.append({"role": "user", "content": question})
        ttft, _, reply = server.stream(history, 48, cache_prompt=cache)
        history.append({"role": "assistant", "content": reply})
        ttfts.append(ttft)
    return ttfts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=4, help="decode rounds (each --tokens long)")
    parser.add_argument("--ttft-rounds", type=int, default=40, help="short rounds that measure TTFT only")
    parser.add_argument("--turns", type=int, default=6)
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="herd-bench-"))
    os.environ["HERD_HOME"] = str(home)
    entry = get_model(args.model)
    model_path = prepare(entry)

    print(f"model {args.model}; {args.tokens} tokens; {os.cpu_count()} cores")
    server = HerdServer(args.model, home)
    server.model_ref = f"herd/{args.model}"
    direct = Direct(model_path)
    floor = Floor(model_path)
    try:
        # Alternate the three so that drift on a shared machine hits them alike.
        direct_runs, floor_runs, herd_runs = [], [], []
        streams: list[Stream] = [
            direct.stream,
            floor.stream,
            lambda p, t: server.stream([{"role": "user", "content": p}], t),
        ]
        order = random.Random(7)  # each round runs the three in its own order: no one always follows another
        for i in range(args.rounds + 1):  # round 0 warms them up and is dropped
            prompt = f"{PROMPT} ({i})"
            got = _in_turn(order, prompt, args.tokens, streams)
            if i:
                direct_runs.append(got[0])
                floor_runs.append(got[1])
                herd_runs.append(got[2])
        # TTFT is a few hundred ms on the default model and this machine's jitter is tens
        # of ms, so it gets many short alternating rounds of its own.
        # Each request starts after a pause, as a user's would: llama.cpp's threads poll for a
        # while after a request, and one engine's would otherwise take cores from the next.
        direct_ttfts, floor_ttfts, herd_ttfts = [], [], []
        for i in range(args.ttft_rounds):
            got = _in_turn(order, f"{PROMPT} [{i}]", 2, streams, pause=PAUSE)
            direct_ttfts.append(got[0][0])
            floor_ttfts.append(got[1][0])
            herd_ttfts.append(got[2][0])
        del direct
        floor.stop()
        fresh = [{"role": "user", "content": "Hi!"}]
        short = statistics.median(server.stream(fresh, 16, cache_prompt=False)[0] for _ in range(3))
        cached = conversation(server, args.turns, cache=True)
        uncached = conversation(server, args.turns, cache=False)
        rss = server.peak_rss_mb()
    finally:
        floor.stop()
        server.stop()

    d_ttft = statistics.median(direct_ttfts)
    d_tps = statistics.median(r[1] for r in direct_runs)
    h_ttft = statistics.median(herd_ttfts)
    diffs = sorted(h - d for h, d in zip(herd_ttfts, direct_ttfts, strict=True))
    quartiles = statistics.quantiles(diffs, n=4)
    h_tps = statistics.median(r[1] for r in herd_runs)
    f_tps = statistics.median(r[1] for r in floor_runs)
    f_ttft = statistics.median(floor_ttfts)
    floor_quartiles = statistics.quantiles(sorted(f - d for f, d in zip(floor_ttfts, direct_ttfts, strict=True)), n=4)
    loads = {m: v["load_seconds"] for m, v in server.status["models_loaded"].items()}
    print(f"medians of {args.rounds} alternating decode rounds and {args.ttft_rounds} alternating TTFT rounds")
    print(f"{'':24}{'direct':>10}{'floor':>10}{'herd':>10}{'floor/direct':>14}{'herd/direct':>13}{'herd/floor':>12}")
    print(
        f"{'decode tokens/s':24}{d_tps:10.2f}{f_tps:10.2f}{h_tps:10.2f}"
        f"{f_tps / d_tps:13.3f}x{h_tps / d_tps:12.3f}x{h_tps / f_tps:11.3f}x"
    )
    print(
        f"{'time to first token ms':24}{d_ttft * 1e3:10.1f}{f_ttft * 1e3:10.1f}{h_ttft * 1e3:10.1f}"
        f"{(f_ttft - d_ttft) * 1e3:+12.1f}ms{(h_ttft - d_ttft) * 1e3:+11.1f}ms{(h_ttft - f_ttft) * 1e3:+10.1f}ms"
    )
    print(f"TTFT difference per round pair, quartiles ms: {' '.join(f'{q * 1e3:+.1f}' for q in quartiles)}")
    print(f"  floor - direct, quartiles ms: {' '.join(f'{q * 1e3:+.1f}' for q in floor_quartiles)}")
    print(f"short prompt TTFT (herd): {short * 1e3:.1f} ms")
    print("multi-turn TTFT ms, cache on:  " + " ".join(f"{t * 1e3:.0f}" for t in cached))
    print("multi-turn TTFT ms, cache off: " + " ".join(f"{t * 1e3:.0f}" for t in uncached))
    print(
        f"worst next-turn TTFT / short prompt TTFT: cache on {max(cached[1:]) / short:.2f}x, "
        f"cache off {max(uncached[1:]) / short:.2f}x"
    )
    # Preloaded models load before the server answers, so healthy = start-up + model loads.
    load_text = ", ".join(f"{m} {s:.2f} s" for m, s in loads.items())
    print(f"cold start to healthy: {server.healthy_after:.2f} s, of which model loads: {load_text}")
    print(f"start-up without model loads: {server.healthy_after - sum(loads.values()):.2f} s")
    print(f"server peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
