"""Load test: many concurrent streaming chat clients on the tiny model, bounded in time and count.

Each client loops: a streaming chat completion with a short ``max_tokens`` and a varied
prompt, until ``--seconds`` have passed or ``--max-requests`` have been sent. Outcomes:
- ok: 200 and a stream that ends with ``data: [DONE]`` and carries no error event;
- refused: 429 or 503, Herd's documented answer when the provider's queue is full
  (``parallel + max_queue`` in flight); the client waits ``Retry-After`` (at most 1 s) and goes on;
- error: anything else (another status, an error event, a stream without ``[DONE]``,
  a broken connection, a timeout).
The server's RSS is read after a warm-up, before the load, and again after it settles.

    .venv/bin/python bench/load.py [--clients 64] [--seconds 60] [--max-requests 20000]
    .venv/bin/python bench/load.py --url http://127.0.0.1:8321 [--pid PID]   # a running server

Targets: 0 errors (refusals counted apart), RSS growth <= 10%. 127.0.0.1 only.
"""

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

# Run as a script, this folder is on sys.path; the launcher is a plain module beside it.
from launch import Launched

from herd.distribution.catalog import TINY_CHAT_MODEL
from herd.distribution.templates import embedded

TOPICS = ["the sea", "a lighthouse", "bread", "rain", "a cat", "mountains", "a train", "tea", "autumn", "a clock"]
ASKS = ["Write one sentence about {}.", "Name three words about {}.", "Give a short fact about {}.", "Describe {}."]
REFUSALS = (429, 503)
MAX_GROWTH = 0.10


@dataclass
class Tally:
    ok: int = 0
    refused: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    ttfts: list[float] = field(default_factory=list)
    sent: int = 0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def prompt(rng: random.Random) -> str:
    return rng.choice(ASKS).format(rng.choice(TOPICS)) + f" (#{rng.randrange(10_000)})"


async def one_request(http: httpx.AsyncClient, body: dict[str, Any], tally: Tally) -> float:
    """One streaming request into ``tally``; returns how long to wait before the next (Retry-After)."""
    start = time.perf_counter()
    first: float | None = None
    done = False
    try:
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            if response.status_code in REFUSALS:
                await response.aread()
                tally.refused[response.status_code] += 1
                return min(float(response.headers.get("retry-after") or 1), 1.0)
            if response.status_code != 200:
                await response.aread()
                tally.errors[f"HTTP {response.status_code}: {response.text[:120]}"] += 1
                return 0.0
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                if line == "data: [DONE]":
                    done = True
                    break
                chunk = json.loads(line[6:])
                if "error" in chunk:
                    tally.errors[f"error event: {str(chunk['error'].get('message'))[:120]}"] += 1
                    return 0.0
                if first is None and any((c.get("delta") or {}).get("content") for c in chunk.get("choices") or []):
                    first = time.perf_counter()
    except httpx.TimeoutException as exc:
        tally.errors[f"timeout ({type(exc).__name__})"] += 1
        return 0.0
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        tally.errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
        return 0.0
    if not done:
        tally.errors["stream ended without [DONE]"] += 1
        return 0.0
    tally.ok += 1
    if first is not None:
        tally.ttfts.append(first - start)
    return 0.0


async def client(http: httpx.AsyncClient, args: argparse.Namespace, seed: int, deadline: float, tally: Tally) -> None:
    rng = random.Random(seed)
    while time.perf_counter() < deadline and tally.sent < args.max_requests:
        tally.sent += 1
        body = {
            "model": args.model,
            "messages": [{"role": "user", "content": prompt(rng)}],
            "max_tokens": rng.randint(16, 32),
            "temperature": 0,
            "stream": True,
        }
        wait = await one_request(http, body, tally)
        if wait:
            await asyncio.sleep(min(wait, max(0.0, deadline - time.perf_counter())))


async def run_load(args: argparse.Namespace) -> tuple[Tally, float]:
    tally = Tally()
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=args.url, timeout=args.timeout, limits=limits) as http:
        start = time.perf_counter()
        deadline = start + args.seconds
        await asyncio.gather(*(client(http, args, i, deadline, tally) for i in range(args.clients)))
        return tally, time.perf_counter() - start


def rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def warm_up(url: str, model: str, rounds: int) -> None:
    """A few plain requests, so that model load and first-call costs are not billed to the load."""
    with httpx.Client(base_url=url, timeout=120) as http:
        for i in range(rounds):
            body = {"model": model, "messages": [{"role": "user", "content": f"Say hi ({i})."}], "max_tokens": 16}
            http.post("/v1/chat/completions", json=body).raise_for_status()


def quantile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def report(args: argparse.Namespace, tally: Tally, elapsed: float, before: float | None, after: float | None) -> dict:
    growth = (after - before) / before if before and after else None
    result = {
        "clients": args.clients,
        "seconds": elapsed,
        "sent": tally.sent,
        "ok": tally.ok,
        "requests_per_second": tally.ok / elapsed if elapsed else 0.0,
        "ttft_p50_ms": quantile(tally.ttfts, 0.50) * 1e3,
        "ttft_p95_ms": quantile(tally.ttfts, 0.95) * 1e3,
        "refused": dict(tally.refused),
        "errors": tally.error_count,
        "error_kinds": dict(tally.errors),
        "rss_before_mb": before,
        "rss_after_mb": after,
        "rss_growth": growth,
    }
    result["met"] = tally.error_count == 0 and tally.ok > 0 and (growth is None or growth <= MAX_GROWTH)
    print(f"{args.clients} streaming clients, {elapsed:.1f} s, model {args.model}, max_tokens 16-32")
    rows = [
        ("requests sent", f"{tally.sent}"),
        ("completed (200 + [DONE])", f"{tally.ok}"),
        ("completed requests/s", f"{result['requests_per_second']:.2f}"),
        ("TTFT p50 / p95 ms", f"{result['ttft_p50_ms']:.0f} / {result['ttft_p95_ms']:.0f}"),
        ("refused 429 / 503", f"{tally.refused[429]} / {tally.refused[503]}"),
        ("errors", f"{tally.error_count}"),
        ("server RSS before / after MB", _rss_text(before, after, growth)),
    ]
    for name, value in rows:
        print(f"  {name:30}{value:>28}")
    for kind, count in tally.errors.most_common(5):
        print(f"  error x{count}: {kind}")
    memory = "not measured (give --pid)" if growth is None else f"RSS growth {growth:+.1%} (target <= +10%)"
    print(f"targets {'met' if result['met'] else 'NOT met'}: {tally.error_count} errors (target 0); {memory}")
    return result


def _rss_text(before: float | None, after: float | None, growth: float | None) -> str:
    if before is None or after is None or growth is None:
        return "n/a"
    return f"{before:.0f} / {after:.0f} ({growth:+.1%})"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0, help="no request starts after this")
    parser.add_argument("--max-requests", type=int, default=20_000, help="stop after sending this many")
    parser.add_argument("--url", help="a running server on 127.0.0.1 (default: start a tiny-model server)")
    parser.add_argument("--pid", type=int, help="the running server's process id, for its RSS")
    parser.add_argument("--model", default=f"herd/{TINY_CHAT_MODEL}")
    parser.add_argument("--timeout", type=float, default=60.0, help="per request, seconds")
    parser.add_argument("--warmup", type=int, default=3, help="plain requests before the load")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the load before reading RSS")
    args = parser.parse_args(argv)
    if args.url and urlparse(args.url).hostname not in ("127.0.0.1", "localhost"):
        parser.error("--url must be on 127.0.0.1: this bench floods the server it is pointed at")
    return args


def main(argv: list[str] | None = None) -> dict:
    """Run the load and print the summary; returns the figures (for the smoke test)."""
    args = parse(argv)
    server = None
    if not args.url:
        home = Path(tempfile.mkdtemp(prefix="herd-load-"))
        server = Launched(embedded(chat_model=TINY_CHAT_MODEL), home)
        server.wait_loaded(TINY_CHAT_MODEL, timeout=180)
        args.url, args.pid = server.url, server.proc.pid
    try:
        warm_up(args.url, args.model, args.warmup)
        before = rss_mb(args.pid)
        tally, elapsed = asyncio.run(run_load(args))
        time.sleep(args.settle)
        after = rss_mb(args.pid)
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(home, ignore_errors=True)
    return report(args, tally, elapsed, before, after)


if __name__ == "__main__":
    sys.exit(0 if main()["met"] else 1)
