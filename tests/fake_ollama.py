"""An Ollama-API-compatible server for tests, with a real model behind it.

There is no Ollama binary on these machines. This stands in for one: llama.cpp's own
server (xllamacpp, the tiny GGUF model) answers the OpenAI-compatible ``/v1`` routes,
and this app adds the native routes llama-stack's Ollama adapter calls (``/api/ps``,
``/api/tags``, ``/api/version``) and Ollama's model naming (``smollm2:135m``).

Run: ``python tests/fake_ollama.py PORT`` (binds 127.0.0.1).
"""

import json
import sys
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


def _engine() -> tuple[Any, str, str]:
    import xllamacpp as xlc

    params, key = server_params(get_model(TINY_CHAT_MODEL).require_weights(), 4096)
    server = xlc.Server(params)
    return server, server.listening_address, key


def build_app() -> Starlette:
    server, upstream, key = _engine()
    client = httpx.AsyncClient(base_url=upstream, headers={"Authorization": f"Bearer {key}"}, timeout=300)
    model_row = {"name": MODEL, "model": MODEL, "size": 98_362_432, "details": {"family": "llama"}}

    async def ps(_: Request) -> Response:
        return JSONResponse({"models": [model_row]})

    async def tags(_: Request) -> Response:
        return JSONResponse({"models": [model_row]})

    async def version(_: Request) -> Response:
        return JSONResponse({"version": "0.12.0"})

    async def models(_: Request) -> Response:
        return JSONResponse({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "library"}]})

    async def proxy(request: Request) -> Response:
        body = await request.json()
        if body.get("model") != MODEL:
            message = f'model "{body.get("model")}" not found, try pulling it first'
            return JSONResponse({"error": {"message": message, "type": "api_error"}}, status_code=404)
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
        ]
    )
    app.state.engine = server  # keep llama.cpp alive as long as the app
    return app


if __name__ == "__main__":
    uvicorn.run(build_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
