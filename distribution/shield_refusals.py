"""What a client gets when a shield refuses its input, in the shape of the API it called."""

import json
from typing import Any

from herd.distribution.asgi import send_json
from herd.distribution.screening import chat_refusal, chat_refusal_chunk, response_refusal
from herd.providers.shields.verdict import Verdict


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)


async def send_refusal(send: Any, path: str, body: dict[str, Any], verdict: Verdict, report: list[Any]) -> None:
    model = str(body.get("model", ""))
    if not body.get("stream"):
        reply = (
            response_refusal(body, verdict, report) if path == "/v1/responses" else chat_refusal(model, verdict, report)
        )
        return await send_json(send, 200, reply)
    if path == "/v1/responses":
        response = response_refusal(body, verdict, report)
        started = {**response, "status": "in_progress", "output": []}
        payload = _sse(
            {"type": "response.created", "response": started, "sequence_number": 0},
            {"type": "response.completed", "response": response, "sequence_number": 1},
        )
    else:
        payload = _sse(chat_refusal_chunk({"model": model}, verdict, report)) + b"data: [DONE]\n\n"
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload, "more_body": False})
