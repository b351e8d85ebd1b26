"""Small ASGI helpers for Herd's middleware: JSON replies and re-sent request bodies."""

import json
from typing import Any

Receive = Any
Send = Any


def json_messages(status: int, payload: Any) -> list[dict[str, Any]]:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


async def send_json(send: Send, status: int, payload: Any) -> None:
    for message in json_messages(status, payload):
        await send(message)


def error_payload(status: int, message: str) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "code": str(status)}}


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client left (or the size cap answered)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands over ``body`` once, then waits on the real one (for disconnects)."""
    sent = False

    async def wrapped() -> Any:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return wrapped


def with_length(scope: dict[str, Any], length: int) -> dict[str, Any]:
    headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(length).encode()))
    return {**scope, "headers": headers}
