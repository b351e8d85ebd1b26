"""The thinnest HTTP server over the same engine: the floor for what any Python server can reach.

``bench/inference.py`` streams through it beside Herd and the direct binding. It has no
llama-stack, no validation, no middleware: uvicorn (uvloop and httptools, as Herd's server
runs), xllamacpp with the provider's own parameters on a worker thread, and one SSE event
per chunk the engine hands over. What it loses against the direct call is the cost of
HTTP streaming itself on this machine; what Herd loses against it is Herd's and
llama-stack's own.

    .venv/bin/python bench/floor_server.py MODEL.gguf PORT CTX
"""

import asyncio
import json
import sys
import threading
from pathlib import Path
from typing import Any

from herd.distribution.asgi import read_body


def app_for(engine: Any) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            return await send({"type": "lifespan.shutdown.complete"})
        body = await read_body(receive)
        if body is None:
            return None  # the client left
        if scope["path"] != "/v1/chat/completions":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            return await send({"type": "http.response.body", "body": b"ok"})
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            loop.call_soon_threadsafe(queue.put_nowait, chunk)
            return False  # go on

        def work() -> None:
            engine.handle_chat_completions({**json.loads(body), "stream": True}, on_chunk)
            loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=work, daemon=True).start()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        while (chunk := await queue.get()) is not None:
            event = b"data: " + json.dumps(chunk, separators=(",", ":")).encode() + b"\n\n"
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})

    return app


def main() -> None:
    import uvicorn
    import xllamacpp as xlc

    from herd.providers.embedded.llamacpp_engine import server_params

    model, port, ctx = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    engine = xlc.Server(server_params(model, ctx)[0])
    uvicorn.run(app_for(engine), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
