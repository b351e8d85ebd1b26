"""An Ollama-API-compatible server for tests, with a real model behind it.

There is no Ollama binary on these machines. This stands in for one: llama.cpp's own
server (xllamacpp, the tiny GGUF model) answers the OpenAI-compatible ``/v1`` routes,
and this app adds the native routes llama-stack's Ollama adapter calls (``/api/ps``,
``/api/tags``, ``/api/version``) and Ollama's model naming (``smollm2:135m``).

``/api/generate`` takes raw prompts, as Herd sends completions (Ollama's ``/v1/completions``
would wrap them in the model's template); the requests are at ``/fake/generate``.
``llama-guard3:1b`` is a scripted Llama Guard (no guard weights ship on PyPI): it answers
``unsafe`` with a category when the judged message names one of ``GUARD_WORDS``, an
answer out of format for ``GUARD_GARBAGE``, ``safe`` otherwise, with first-token
logprobs; the prompts it got are at ``/fake/guard``.

A scripted mode stands in for a model that writes tool calls as text: texts posted to
``/fake/script`` are the replies to the next chat requests, in order (streamed or not, as
asked), before the real model answers again (``"reset": true`` drops unread ones first;
``"delay": 0.05`` streams them a piece every 50 ms, for a test that kills this server
mid-stream). ``/fake/requests`` lists the chat requests received, newest last.

Run: ``python tests/fake_ollama.py PORT`` (binds 127.0.0.1).
"""

import asyncio
import json
import math
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from herd.distribution.catalog import TINY_CHAT_MODEL, get_model
from herd.providers.embedded.llamacpp_engine import server_params

MODEL = "smollm2:135m"
GUARD = "llama-guard3:1b"
VISION_GUARD = "llama-guard3-vision:11b"  # as GUARD, and chat requests with an image: unsafe S1
GUARD_WORDS = {"pipe bomb": "S9", "stab my neighbour": "S1", "cook meth": "S2"}
GUARD_GARBAGE = "make the guard ramble"


def _engine() -> tuple[Any, str, str]:
    import xllamacpp as xlc

    params, key = server_params(get_model(TINY_CHAT_MODEL).require_weights(), 4096)
    server = xlc.Server(params)
    return server, server.listening_address, key


def build_app() -> Starlette:
    server, upstream, key = _engine()
    client = httpx.AsyncClient(base_url=upstream, headers={"Authorization": f"Bearer {key}"}, timeout=300)
    model_row = {"name": MODEL, "model": MODEL, "size": 98_362_432, "details": {"family": "llama"}}
    rows = [model_row] + [{**model_row, "name": m, "model": m, "size": 1_600_000_000} for m in (GUARD, VISION_GUARD)]
    guard_prompts: list[Any] = []

    async def ps(_: Request) -> Response:
        return JSONResponse({"models": rows})

    async def tags(_: Request) -> Response:
        return JSONResponse({"models": rows})

    async def guard_log(_: Request) -> Response:
        return JSONResponse({"prompts": guard_prompts})

    generated: list[dict[str, Any]] = []

    async def generate(request: Request) -> Response:
        """Ollama's native generate; ``raw`` prompts only (the templated kind is not needed here)."""
        body = await request.json()
        generated.append(body)
        if not body.get("raw"):
            return JSONResponse({"error": "this fake answers raw generate requests only"}, status_code=400)
        if body.get("model") in (GUARD, VISION_GUARD):
            guard_prompts.append(str(body.get("prompt")))
            return JSONResponse(_native(_guard_reply(str(body.get("prompt")))))
        options = body.get("options") or {}
        upstream = {
            "prompt": body.get("prompt"),
            "max_tokens": options.get("num_predict", 32),
            "temperature": options.get("temperature", 0.8),
        }
        reply = (await client.post("/v1/completions", json=upstream)).json()
        choice = {
            "text": reply["choices"][0]["text"],
            "finish_reason": reply["choices"][0]["finish_reason"],
            "logprobs": None,
        }
        return JSONResponse(_native({"choices": [choice], "usage": reply.get("usage", {})}, body.get("model")))

    async def generate_log(_: Request) -> Response:
        return JSONResponse({"requests": generated})

    async def version(_: Request) -> Response:
        return JSONResponse({"version": "0.12.0"})

    async def models(_: Request) -> Response:
        listed = [{"id": m, "object": "model", "owned_by": "library"} for m in (MODEL, GUARD, VISION_GUARD)]
        return JSONResponse({"object": "list", "data": listed})

    script: list[tuple[str, float]] = []
    received: list[dict[str, Any]] = []

    async def enqueue(request: Request) -> Response:
        body = await request.json()
        if body.get("reset"):
            script.clear()  # replies a failed test left unread
        script.extend((reply, float(body.get("delay") or 0)) for reply in body["replies"])
        return JSONResponse({"queued": len(script)})

    async def requests(_: Request) -> Response:
        return JSONResponse({"requests": received})

    async def proxy(request: Request) -> Response:
        body = await request.json()
        if body.get("model") == VISION_GUARD:
            guard_prompts.append(body.get("messages"))
            return _vision_guard(body.get("messages") or [])
        if body.get("model") != MODEL:
            message = f'model "{body.get("model")}" not found, try pulling it first'
            return JSONResponse({"error": {"message": message, "type": "api_error"}}, status_code=404)
        if request.url.path == "/v1/chat/completions":
            received.append(body)
            if script:
                return _scripted(*script.pop(0), stream=bool(body.get("stream")))
        upstream_request = client.build_request("POST", request.url.path, content=json.dumps(body))
        reply = await client.send(upstream_request, stream=True)
        headers = {"content-type": reply.headers.get("content-type", "application/json")}
        return StreamingResponse(reply.aiter_raw(), status_code=reply.status_code, headers=headers)

    app = Starlette(
        routes=[
            Route("/api/ps", ps),
            Route("/api/tags", tags),
            Route("/api/version", version),
            Route("/v1/models", models),
            Route("/v1/chat/completions", proxy, methods=["POST"]),
            Route("/v1/completions", proxy, methods=["POST"]),
            Route("/fake/script", enqueue, methods=["POST"]),
            Route("/fake/requests", requests),
            Route("/fake/guard", guard_log),
            Route("/api/generate", generate, methods=["POST"]),
            Route("/fake/generate", generate_log),
        ]
    )
    app.state.engine = server  # keep llama.cpp alive as long as the app
    return app


def _guard_reply(prompt: str) -> dict[str, Any]:
    judged = prompt.split("<BEGIN CONVERSATION>")[-1].split("<END CONVERSATION>")[0].strip().split("\n\n")[-1]
    code = next((c for word, c in GUARD_WORDS.items() if word in judged.lower()), None)
    text, p_unsafe = (f"\n\nunsafe\n{code}", 0.97) if code else ("\n\nsafe", 0.02)
    if GUARD_GARBAGE in judged.lower():
        text = "\n\nI am not sure what you mean."
    first = "unsafe" if code else "safe"
    top = [{"token": "unsafe", "logprob": math.log(p_unsafe)}, {"token": "safe", "logprob": math.log(1 - p_unsafe)}]
    content = [
        {"token": "\n\n", "logprob": -0.001, "top_logprobs": [{"token": "\n\n", "logprob": -0.001}]},
        {"token": first, "logprob": math.log(p_unsafe if code else 1 - p_unsafe), "top_logprobs": top},
    ]
    usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": 3}
    return {"choices": [{"text": text, "finish_reason": "stop", "logprobs": content}], "usage": usage}


def _native(reply: dict[str, Any], model: str = GUARD) -> dict[str, Any]:
    """A completion as Ollama's native generate answers it."""
    choice, usage = reply["choices"][0], reply.get("usage") or {}
    out = {
        "model": model,
        "created_at": "2026-12-01T00:00:00Z",
        "response": choice["text"],
        "done": True,
        "done_reason": choice.get("finish_reason") or "stop",
        "prompt_eval_count": usage.get("prompt_tokens", 0),
        "eval_count": usage.get("completion_tokens", 0),
    }
    if choice.get("logprobs"):
        out["logprobs"] = choice["logprobs"]
    return out


def _vision_guard(messages: list[dict[str, Any]]) -> Response:
    parts = messages[-1].get("content") if messages else []
    seen = isinstance(parts, list) and any(p.get("type") == "image_url" for p in parts)
    message = {"role": "assistant", "content": "unsafe\nS1" if seen else "safe"}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    head = {"id": f"chatcmpl-guard{time.monotonic_ns()}", "created": int(time.time()), "model": VISION_GUARD}
    return JSONResponse({**head, "object": "chat.completion", "choices": [choice]})


def _scripted(text: str, delay: float, stream: bool) -> Response:
    head = {"id": f"chatcmpl-fake{time.monotonic_ns()}", "created": int(time.time()), "model": MODEL}
    usage = {"prompt_tokens": 20, "completion_tokens": len(text.split()), "total_tokens": 20 + len(text.split())}
    if not stream:
        message = {"role": "assistant", "content": text}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        return JSONResponse({**head, "object": "chat.completion", "choices": [choice], "usage": usage})

    async def events() -> AsyncIterator[str]:
        pieces = [({"role": "assistant", "content": text[i : i + 5]}, None) for i in range(0, len(text), 5)]
        for delta, finish in [*pieces, ({}, "stop")]:
            await asyncio.sleep(delay)
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            yield f"data: {json.dumps({**head, 'object': 'chat.completion.chunk', 'choices': [choice]})}\n\n"
        yield f"data: {json.dumps({**head, 'object': 'chat.completion.chunk', 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


if __name__ == "__main__":
    uvicorn.run(build_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
