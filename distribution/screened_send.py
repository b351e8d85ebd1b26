"""Shields on the model's reply: an ASGI ``send`` that checks chat and Responses replies.

A whole reply is checked once. A stream is held back at most until a sentence or
paragraph ends, or ``max_hold_chars`` characters wait; then the held text is checked
together with the segment released before it, and the held events go out. A flagged reply ends the stream with a refusal (chat: a
``content_filter`` chunk; Responses: ``response.completed`` with a refusal message);
what was already shown stays shown. Redacted text replaces the held deltas.
"""

import copy
import json
import re
from typing import Any, Literal

from herd.distribution.asgi import RewritingSend, Send
from herd.distribution.screening import Judgement, Screening, chat_refusal_chunk, refusal_message
from herd.errors import ShieldUnavailable
from herd.providers.shields.verdict import Turn, Verdict

Api = Literal["chat", "responses"]
BOUNDARY = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"')\]\u201d\u2019]*\s|\n")
_DONE_EVENTS = ("response.output_text.done", "response.content_part.done", "response.output_item.done")


class ScreenedSend(RewritingSend):
    def __init__(self, send: Send, screening: Screening, context: list[Turn], api: Api) -> None:
        super().__init__(send)
        self.screening = screening
        self.context = context
        self.api = api
        self.held: list[tuple[bytes, dict[str, Any]]] = []  # held events, as received and parsed
        self.pending = ""  # held text, not yet checked
        self.checked = ""  # text checked and released, as the model wrote it
        self.shown = ""  # the same text as the client got it (redacted)
        self.last_raw = self.last_shown = ""  # the segment released last, as written and as shown
        self.stopped = False
        self.snapshot: dict[str, Any] = {}
        self.sequence = 0

    def rewrites_streams(self) -> bool:
        return bool(self.screening.policy.output)  # nothing to check: the stream passes untouched

    async def _check(self, text: str) -> Judgement:
        try:
            return await self.screening.judge(
                self.screening.policy.output, [*self.context, Turn("assistant", text)], "output"
            )
        except ShieldUnavailable as exc:
            verdict = Verdict("output", True, ["shield-unavailable"], str(exc), 1.0, "error", error=True)
            return Judgement(verdict, None)

    # -- whole replies ---------------------------------------------------------

    async def rewrite_reply(self, body: bytes) -> bytes:
        try:
            reply = json.loads(body)
        except ValueError:
            return body
        if not isinstance(reply, dict):
            return body
        await (self._screen_chat(reply) if self.api == "chat" else self._screen_response(reply))
        reply["herd_shields"] = self.screening.report()
        return json.dumps(reply).encode()

    async def _screen_chat(self, reply: dict[str, Any]) -> None:
        for choice in reply.get("choices") or []:
            message = choice.get("message") or {}
            if not isinstance(message.get("content"), str) or not message["content"]:
                continue
            judgement = await self._check(message["content"])
            if judgement.flagged is not None:
                text = judgement.flagged.message()
                choice["message"] = {"role": "assistant", "content": text, "refusal": text}
                choice["finish_reason"] = "content_filter"
            elif judgement.redacted is not None:
                message["content"] = judgement.redacted

    async def _screen_response(self, reply: dict[str, Any]) -> None:
        output = reply.get("output") or []
        for index, item in enumerate(output):
            parts = [p for p in item.get("content") or [] if p.get("type") == "output_text"]
            if item.get("type") != "message" or not parts:
                continue
            judgement = await self._check("".join(p.get("text") or "" for p in parts))
            if judgement.flagged is not None:
                output[index] = refusal_message(judgement.flagged)
            elif judgement.redacted is not None:
                item["content"] = [{**parts[0], "text": judgement.redacted, "annotations": []}]

    # -- streams ---------------------------------------------------------------

    async def rewrite_event(self, raw: bytes) -> list[bytes]:
        return [] if self.stopped else await self._event(raw)

    async def end_of_stream(self) -> list[bytes]:
        return [] if self.stopped else await self._release()  # a stream that ends on a delta still shows it

    async def _event(self, raw: bytes) -> list[bytes]:
        data = raw[6:] if raw.startswith(b"data: ") else None
        try:
            event = json.loads(data) if data and data != b"[DONE]" else None
        except ValueError:
            event = None
        if not isinstance(event, dict):
            out = await self._release()
            return out if self.stopped else [*out, raw]
        delta = self._delta(event)
        if delta is not None:
            self.held.append((raw, event))
            self.pending += delta
            if BOUNDARY.search(self.pending) or len(self.pending) >= self.screening.policy.max_hold_chars:
                return await self._release()
            return []
        out = await self._release()
        if self.stopped:
            return out
        return [*out, self._annotated(raw, event)]

    def _delta(self, event: dict[str, Any]) -> str | None:
        """The text an event adds to the reply, or None for every other event."""
        if self.api == "responses":
            if event.get("type") in ("response.created", "response.in_progress"):
                self.snapshot = copy.deepcopy(event.get("response") or {})
            self.sequence = max(self.sequence, int(event.get("sequence_number") or 0))
            return str(event["delta"]) if event.get("type") == "response.output_text.delta" else None
        choices = event.get("choices") or []
        if len(choices) != 1 or choices[0].get("finish_reason"):
            return None
        content = (choices[0].get("delta") or {}).get("content")
        return content if isinstance(content, str) and content else None

    def _annotated(self, raw: bytes, event: dict[str, Any]) -> bytes:
        """A redacted reply's final text in the events that repeat it; the verdicts on the last event.

        Every other event goes out as it came.
        """
        kind = event.get("type")
        redact = self.shown != self.checked and kind in _DONE_EVENTS + ("response.completed",)
        completed = kind == "response.completed" and isinstance(event.get("response"), dict)
        finished = self.api == "chat" and any(c.get("finish_reason") for c in event.get("choices") or [])
        if not (redact or completed or finished):
            return raw
        if redact:
            event = json.loads(json.dumps(event).replace(json.dumps(self.checked)[1:-1], json.dumps(self.shown)[1:-1]))
        if completed:
            event["response"]["herd_shields"] = self.screening.report()
        if finished:
            event["herd_shields"] = self.screening.report()
        return _encode(event)

    async def _release(self) -> list[bytes]:
        """Check the held text with the segment released before it, and send it (or the refusal)."""
        if not self.pending:
            return []
        # The window is bounded: a shield reads each stretch of the reply about twice, not once
        # per boundary with everything before it.
        window = self.last_raw + self.pending
        judgement = await self._check(window)
        held, pending, self.held, self.pending = self.held, self.pending, [], ""
        if judgement.flagged is not None:
            self.stopped = True
            return self._refusal(held[0][1], judgement.flagged)
        shown = judgement.redacted if judgement.redacted is not None else window
        start = len(self.last_shown) if shown.startswith(self.last_shown) else len(self.last_raw)
        segment = shown[start:]
        self.checked += pending
        self.shown += segment
        self.last_raw, self.last_shown = pending, segment
        if segment == pending:
            return [raw for raw, _event in held]
        first = copy.deepcopy(held[0][1])
        if self.api == "responses":
            first["delta"] = segment
        else:
            first["choices"][0]["delta"]["content"] = segment
        return [_encode(first)]

    def _refusal(self, base: dict[str, Any], verdict: Verdict) -> list[bytes]:
        report = self.screening.report()
        if self.api == "chat":
            return [_encode(chat_refusal_chunk(base, verdict, report)), b"data: [DONE]"]
        response = {**self.snapshot, "status": "completed", "output": [refusal_message(verdict)]}
        response["herd_shields"] = report
        event = {"type": "response.completed", "response": response, "sequence_number": self.sequence + 1}
        return [_encode(event)]


def _encode(event: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(event).encode()
