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

Vision: ``llama3.2-vision:latest`` (and ``llama-guard3-vision:11b``) report the ``vision``
capability in ``/api/show``, as Ollama does; the vision model answers with what it got
(``saw 2 image(s): <sha256 prefixes>``). ``/fake/images`` lists, per chat request, the
model and the base64 payloads of the images it carried. Names without a tag mean
``:latest``, as in Ollama. ``/api/pull`` streams progress lines for a name in
``PULLABLE`` (then ``/api/tags`` lists it), an error line for any other name, and cuts
the connection mid-way for ``BROKEN_PULL``.

Run: ``python tests/fake_ollama.py PORT`` (binds 127.0.0.1).
"""

import asyncio
import base64
import hashlib
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
VISION = "llama3.2-vision:latest"
CAPABILITIES = {MODEL: ["completion", "tools"], GUARD: ["completion"], VISION_GUARD: ["completion", "vision"]}
CAPABILITIES[VISION] = ["completion", "vision"]
PULLABLE = {"qwen2.5:0.5b": ["completion", "tools"]}
BROKEN_PULL = "flaky:1b"
PULL_TOTAL = 4_000_000


def canonical(name: str) -> str:
    return name if ":" in name else f"{name}:latest"


def _engine() -> tuple[Any, str, str]:
    import xllamacpp as xlc

    params, key = server_params(get_model(TINY_CHAT_MODEL).require_weights(), 4096)
    server = xlc.Server(params)
    return server, server.listening_address, key


def build_app() -> Starlette:
    server, upstream, key = _engine()
    client = httpx.AsyncClient(base_url=upstream, headers={"Authorization": f"Bearer {key}"}, timeout=300)
    pulled = dict(CAPABILITIES)  # name -> capabilities; /api/pull adds to it
    guard_prompts: list[Any] = []

    def rows() -> list[dict[str, Any]]:
        size = {MODEL: 98_362_432}
        return [
            {"name": m, "model": m, "size": size.get(m, 1_600_000_000), "details": {"family": "llama"}} for m in pulled
        ]

    async def ps(_: Request) -> Response:
        return JSONResponse({"models": rows()})

    async def tags(_: Request) -> Response:
        return JSONResponse({"models": rows()})

    async def show(request: Request) -> Response:
        name = canonical(str((await request.json()).get("model")))
        if name not in pulled:
            return JSONResponse({"error": f"model '{name}' not found"}, status_code=404)
        details = {"family": "mllama" if "vision" in pulled[name] else "llama", "format": "gguf"}
        shown = {"modelfile": "", "template": "", "parameters": "", "license": "", "details": details}
        info = {"general.architecture": details["family"]}
        return JSONResponse({**shown, "model_info": info, "capabilities": pulled[name]})

    async def pull(request: Request) -> Response:
        body = await request.json()
        name = canonical(str(body.get("model") or body.get("name")))
        return StreamingResponse(_pull_lines(name, pulled), media_type="application/x-ndjson")

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
        listed = [{"id": m, "object": "model", "owned_by": "library"} for m in pulled]
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

    seen_images: list[dict[str, Any]] = []

    async def images_log(_: Request) -> Response:
        return JSONResponse({"requests": seen_images})

    async def proxy(request: Request) -> Response:
        body = await request.json()
        name = canonical(str(body.get("model")))
        chat = request.url.path == "/v1/chat/completions"
        if chat:
            seen_images.append({"model": name, "images": _images(body.get("messages") or [])})
        if name == VISION_GUARD:
            guard_prompts.append(body.get("messages"))
            return _vision_guard(body.get("messages") or [])
        if name not in pulled or name == GUARD:
            message = f'model "{body.get("model")}" not found, try pulling it first'
            return JSONResponse({"error": {"message": message, "type": "api_error"}}, status_code=404)
        if chat:
            received.append(body)
            if script:
                return _scripted(*script.pop(0), stream=bool(body.get("stream")), model=name)
            if name == VISION:
                return _scripted(_saw(seen_images[-1]["images"]), 0, stream=bool(body.get("stream")), model=name)
            if seen_images[-1]["images"]:  # what Ollama answers for an image sent to a text-only model
                message = "this model is missing data required for image input"
                return JSONResponse({"error": {"message": message, "type": "api_error"}}, status_code=500)
        upstream_request = client.build_request("POST", request.url.path, content=json.dumps(body))
        reply = await client.send(upstream_request, stream=True)
        headers = {"content-type": reply.headers.get("content-type", "application/json")}
        return StreamingResponse(reply.aiter_raw(), status_code=reply.status_code, headers=headers)

    app = Starlette(
        routes=[
            Route("/api/ps", ps),
            Route("/api/tags", tags),
            Route("/api/version", version),
            Route("/api/show", show, methods=["POST"]),
            Route("/api/pull", pull, methods=["POST"]),
            Route("/fake/images", images_log),
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


def _images(messages: list[dict[str, Any]]) -> list[str]:
    """The base64 payloads of the ``image_url`` parts (Ollama's OpenAI-compatible chat decodes data URLs only)."""
    found = []
    for message in messages:
        parts = message.get("content")
        for part in parts if isinstance(parts, list) else []:
            if isinstance(part, dict) and part.get("type") == "image_url":
                url = (part.get("image_url") or {}).get("url", "")
                found.append(url.partition(",")[2] if url.startswith("data:") else url)
    return found


def _saw(images: list[str]) -> str:
    digests = [hashlib.sha256(base64.b64decode(i)).hexdigest()[:12] for i in images]
    return f"saw {len(images)} image(s): {' '.join(digests)}" if images else "saw no image"


async def _pull_lines(name: str, pulled: dict[str, list[str]]) -> AsyncIterator[str]:
    yield json.dumps({"status": "pulling manifest"}) + "\n"
    if name not in PULLABLE and name != BROKEN_PULL:
        yield json.dumps({"error": "pull model manifest: file does not exist"}) + "\n"
        return
    digest = "sha256:" + hashlib.sha256(name.encode()).hexdigest()
    for completed in range(0, PULL_TOTAL + 1, PULL_TOTAL // 4):
        await asyncio.sleep(0.01)
        line = {"status": f"pulling {digest[7:19]}", "digest": digest, "total": PULL_TOTAL, "completed": completed}
        yield json.dumps(line) + "\n"
        if name == BROKEN_PULL and completed:
            raise ConnectionResetError("the fake cuts this pull")  # uvicorn drops the connection mid-body
    for status in ("verifying sha256 digest", "writing manifest", "success"):
        yield json.dumps({"status": status}) + "\n"
    pulled[name] = PULLABLE[name]


def _scripted(text: str, delay: float, stream: bool, model: str = MODEL) -> Response:
    head = {"id": f"chatcmpl-fake{time.monotonic_ns()}", "created": int(time.time()), "model": model}
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
