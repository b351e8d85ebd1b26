"""Where the server's time to first token goes: timestamps along one streaming request.

The client and the server stamp the same monotonic clock (``time.perf_counter``), so
one request's stamps line up across the two processes:

    sent           the client starts the request
    middleware     Herd's outermost ASGI app gets it
    screening      input screening starts ... screened: it ends
    router         llama-stack's inference router is called
    provider       the embedded provider is called
    engine         the worker thread calls the engine (llama.cpp prefill starts)
    first token    the engine hands over the first content chunk
    written        Herd's outermost ASGI app sends that chunk to uvicorn
    received       the client has read it

Each segment's median is printed, and the same prompts through xllamacpp called in this
process (as ``inference.py`` does) give the engine's own time; the server's stamps are
written by probes this script installs around Herd's code, in a server it starts.

    .venv/bin/python bench/ttft_breakdown.py [--model qwen2.5-coder-1.5b-instruct] [--requests 30]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

# Run as a script, this folder is on sys.path; the launcher is a plain module beside it.
from launch import Launched

STAMPS = [
    *("sent", "middleware", "screening", "screened", "router", "provider"),
    *("engine", "first token", "written", "received"),
]
PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."


def _stamp(fd: int, name: str) -> None:
    os.write(fd, f"{name}\t{time.perf_counter():.7f}\n".encode())


def serve_with_probes(config: Path, port: int, log: Path) -> None:
    """The Herd server, with a stamp at each point of ``STAMPS`` that is on the server's side."""
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    from llama_stack.core.routers.inference import InferenceRouter

    from herd.distribution.guard import Guard
    from herd.distribution.middleware import HerdMiddleware
    from herd.distribution.server import serve
    from herd.providers.embedded.impl import EmbeddedInference
    from herd.providers.embedded.pool import ModelPool

    guard_call = Guard.__call__

    async def guarded(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http" or scope["method"] != "POST":
            return await guard_call(self, scope, receive, send)
        _stamp(fd, "middleware")
        first = True

        async def stamped_send(message):  # type: ignore[no-untyped-def]
            nonlocal first
            if first and message["type"] == "http.response.body" and b'"content":"' in message.get("body", b""):
                first = False
                _stamp(fd, "written")
            await send(message)

        return await guard_call(self, scope, receive, stamped_send)

    def around(cls, name, before, after=None):  # type: ignore[no-untyped-def]
        inner = getattr(cls, name)

        async def probe(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            _stamp(fd, before)
            result = await inner(self, *args, **kwargs)
            if after:
                _stamp(fd, after)
            return result

        setattr(cls, name, probe)

    stream = ModelPool.stream

    async def probed_stream(self, start):  # type: ignore[no-untyped-def]
        def probed_start(on_chunk):  # type: ignore[no-untyped-def]
            _stamp(fd, "engine")
            waiting = True

            def probed_chunk(chunk):  # type: ignore[no-untyped-def]
                nonlocal waiting
                if waiting and any((c.get("delta") or {}).get("content") for c in chunk.get("choices") or []):
                    waiting = False
                    _stamp(fd, "first token")
                return on_chunk(chunk)

            return start(probed_chunk)

        return await stream(self, probed_start)

    Guard.__call__ = guarded
    around(HerdMiddleware, "_screen", "screening", "screened")
    around(InferenceRouter, "openai_chat_completion", "router")
    around(EmbeddedInference, "openai_chat_completion", "provider")
    ModelPool.stream = probed_stream
    serve(config, "127.0.0.1", port)


class Probed(Launched):
    """The Herd server started by this script in its probing mode, stamping into ``stamps``."""

    def __init__(self, config: dict[str, Any], home: Path, stamps: Path) -> None:
        self.stamps = stamps
        super().__init__(config, home)

    def command(self, path: Path) -> list[str]:
        return [sys.executable, __file__, "--serve", str(path), str(self.port), str(self.stamps)]


def _requests(log: Path) -> list[dict[str, float]]:
    requests: list[dict[str, float]] = []
    for line in log.read_text().splitlines():
        name, stamp = line.split("\t")
        if name == "sent":
            requests.append({})
        if requests:
            requests[-1][name] = float(stamp)
    return [r for r in requests if all(s in r for s in [*STAMPS, "direct"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b-instruct")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--serve", nargs=3, metavar=("CONFIG", "PORT", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_with_probes(Path(args.serve[0]), int(args.serve[1]), Path(args.serve[2]))
        return

    from inference import CTX, Direct

    from herd.distribution.catalog import get_model
    from herd.distribution.templates import embedded
    from herd.distribution.weights import prepare

    home = Path(tempfile.mkdtemp(prefix="herd-ttft-"))
    os.environ["HERD_HOME"] = str(home)
    log = home / "stamps.tsv"
    model_path = prepare(get_model(args.model))
    server = Probed(embedded(chat_model=args.model, context_length=CTX), home, log)
    try:
        server.wait_loaded(args.model, timeout=180)
        http = httpx.Client(base_url=server.url, timeout=600)
        direct = Direct(model_path)
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        for i in range(args.requests + 2):  # two warm-up requests, dropped
            body = {"model": f"herd/{args.model}", "messages": [{"role": "user", "content": f"{PROMPT} [{i}]"}]}
            body.update(max_tokens=2, temperature=0, seed=7, stream=True)
            _stamp(fd, "sent")
            with http.stream("POST", "/v1/chat/completions", json=body) as response:
                got = False
                for line in response.iter_lines():
                    if not got and '"content":"' in line:
                        got = True
                        _stamp(fd, "received")
            # The engines' threads settle between requests, as a user's would; without the first
            # pause the direct call would share the cores with the end of the server's request.
            time.sleep(0.2)
            os.write(fd, f"direct\t{direct.stream(f'{PROMPT} [{i}]', 2)[0]:.7f}\n".encode())
            time.sleep(0.2)
    finally:
        server.stop()

    requests = _requests(log)[2:]
    print(f"model {args.model}; {len(requests)} requests; medians, ms")
    for a, b in zip(STAMPS, STAMPS[1:], strict=False):
        spans = [(r[b] - r[a]) * 1e3 for r in requests]
        label = f"{a} -> {b}"
        print(f"  {label:28}{statistics.median(spans):8.2f}   (min {min(spans):.2f}, max {max(spans):.2f})")
    herd = [r["received"] - r["sent"] for r in requests]
    engine = [r["first token"] - r["engine"] for r in requests]
    print(f"  {'Herd TTFT':28}{statistics.median(herd) * 1e3:8.2f}")
    print(f"  {'direct TTFT':28}{statistics.median(r['direct'] for r in requests) * 1e3:8.2f}")
    pairs = [(h - r["direct"]) * 1e3 for h, r in zip(herd, requests, strict=True)]
    print(f"  {'Herd - direct, per pair':28}{statistics.median(pairs):8.2f}")
    engine_pairs = [(e - r["direct"]) * 1e3 for e, r in zip(engine, requests, strict=True)]
    print(f"  {'engine in server - direct':28}{statistics.median(engine_pairs):8.2f}")
    outside = [(r["received"] - r["sent"] - (r["first token"] - r["engine"])) * 1e3 for r in requests]
    print(f"  {'outside the engine':28}{statistics.median(outside):8.2f}")


if __name__ == "__main__":
    main()
