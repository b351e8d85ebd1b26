"""Small ASGI helpers for Herd's middleware: JSON replies and re-sent request bodies."""

import json
from typing import Any

Receive = Any
Send = Any


def json_messages(status: int, payload: Any, extra: list[tuple[bytes, bytes]] | None = None) -> list[dict[str, Any]]:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(extra or [])]
    return [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]


async def send_json(send: Send, status: int, payload: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    for message in json_messages(status, payload, headers):
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


class RewritingSend:
    """An ASGI ``send`` that rewrites a reply on its way out: a 200 JSON body whole, a
    server-sent event stream event by event. Other replies pass untouched.

    Subclasses override ``rewrite_reply``, ``rewrite_event`` (one event in, the events to
    send out), ``end_of_stream`` (events to add when the stream ends) and
    ``rewrites_streams``.
    """

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: dict[str, Any] | None = None
        self.active = False
        self.streaming = False
        self.buffer = b""

    def rewrites_streams(self) -> bool:
        return True

    async def rewrite_reply(self, body: bytes) -> bytes:
        return body

    async def rewrite_event(self, raw: bytes) -> list[bytes]:
        return [raw]

    async def end_of_stream(self) -> list[bytes]:
        return []

    async def __call__(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = dict(message.get("headers", []))
            self.streaming = headers.get(b"content-type", b"").startswith(b"text/event-stream")
            if self.streaming or message.get("status") != 200:
                self.active = self.streaming and self.rewrites_streams()
                return await self.send(message)
            self.start, self.active = message, True
            return None
        if message["type"] != "http.response.body" or not self.active:
            return await self.send(message)
        self.buffer += message.get("body", b"")
        more = message.get("more_body", False)
        if self.streaming:
            return await self._send_events(more)
        if not more:
            await self._send_whole()
        return None

    async def _send_whole(self) -> None:
        assert self.start is not None
        body = await self.rewrite_reply(self.buffer)
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body, "more_body": False})

    async def _send_events(self, more: bool) -> None:
        *events, self.buffer = self.buffer.split(b"\n\n")
        if not more and self.buffer:
            events, self.buffer = [*events, self.buffer], b""
        out: list[bytes] = []
        for raw in events:
            if raw:
                out.extend(await self.rewrite_event(raw))
        if not more:
            out.extend(await self.end_of_stream())
        payload = b"".join(e + b"\n\n" for e in out)
        if payload or not more:
            await self.send({"type": "http.response.body", "body": payload, "more_body": more})
