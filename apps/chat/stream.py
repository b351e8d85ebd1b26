"""A Responses stream as the ``ReplyEvent``s of ``events.py``: a pure translator, no SDK, no I/O.

Herd's additions are read here too: the ``herd_shields`` verdicts on ``response.completed``
(a shield's refusal is a ``message`` whose content is a ``refusal`` part) and the
``file_citation`` annotations Herd puts on the answer, whose passages come from the
``file_search_call`` results of the same file.
"""

import time
from typing import Any

from herd.apps.agents.steps import get
from herd.apps.chat.events import Blocked, Citation, ErrorKind, Failed, Finished, ReplyEvent, ShieldVerdict, TextDelta
from herd.apps.chat.items import TOOL_TYPES, approval_request, tool_call
from herd.providers.shields.categories import NAMES


def error_kind(status: int | None) -> ErrorKind:
    """The ``ChatError`` kind of an HTTP status."""
    if status == 404:
        return "missing"
    return "refused" if status is not None and 400 <= status < 500 else "failed"


def _status(code: Any) -> int | None:
    return int(code) if isinstance(code, int | str) and str(code).isdigit() else None


def failure(event: Any) -> Failed:
    """The ``Failed`` of a ``response.failed``, ``response.incomplete`` or ``error`` event."""
    response = get(event, "response")
    if get(event, "type") == "response.incomplete":
        reason = get(get(response, "incomplete_details"), "reason") or "no reason given"
        return Failed(f"the reply stopped before its end ({reason})")
    error = get(response, "error") if response is not None else get(event, "error", event)
    message = get(error, "message") or get(event, "message") or "the server gave no reason"
    return Failed(f"the reply failed: {message}", error_kind(_status(get(error, "code") or get(event, "code"))))


def _verdict(v: Any) -> ShieldVerdict:
    shown = tuple(f"{c} {NAMES[c]}" if c in NAMES else str(c) for c in get(v, "categories") or [])
    return ShieldVerdict(str(get(v, "shield") or "?"), str(get(v, "stage") or "input"), shown, get(v, "reason") or "")


def verdicts(report: Any) -> tuple[ShieldVerdict, ...]:
    """The verdicts of a ``herd_shields`` report that blocked something (flagged, not a shield error)."""
    return tuple(_verdict(v) for v in report or [] if get(v, "flagged") and not get(v, "error"))


def _parts(output: list[Any], kind: str) -> list[Any]:
    messages = [i for i in output if get(i, "type") == "message"]
    return [p for m in messages for p in get(m, "content") or [] if get(p, "type") == kind]


def citations(output: list[Any], results: list[Any]) -> tuple[Citation, ...]:
    """The answer's ``file_citation``s, each with the passages its file gave the file_search calls."""
    searched = [r for i in output if get(i, "type") == "file_search_call" for r in get(i, "results") or []]
    passages: dict[str, list[str]] = {}
    for result in results + searched:
        texts = passages.setdefault(get(result, "file_id") or "", [])
        if get(result, "text") and get(result, "text") not in texts:
            texts.append(get(result, "text"))
    cited: dict[str, Citation] = {}
    for part in _parts(output, "output_text"):
        for note in get(part, "annotations") or []:
            file_id = get(note, "file_id") or ""
            if get(note, "type") == "file_citation" and file_id not in cited:
                name = get(note, "filename") or file_id
                cited[file_id] = Citation(file_id, name, tuple(passages.get(file_id, ())))
    return tuple(cited.values())


class ReplyTranslator:
    """Feed it the stream's events in order; it answers the ``ReplyEvent``s each one makes."""

    def __init__(self, started: float | None = None) -> None:
        self.started = time.perf_counter() if started is None else started  # when the request was sent
        self.text = ""
        self.response_id = ""
        self.message_ids: list[str] = []  # the assistant message items the stream opened
        self.ttft_s: float | None = None
        self.ended = False  # a completed, failed or incomplete event came
        self._refusal = ""
        self._running: dict[str, float] = {}  # tool item id -> when it started
        self._results: list[Any] = []  # file_search results seen so far

    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    def feed(self, event: Any) -> list[ReplyEvent]:
        kind = get(event, "type")
        if kind in ("response.created", "response.in_progress"):
            self.response_id = get(get(event, "response"), "id") or self.response_id
        elif kind == "response.output_text.delta" and get(event, "delta"):
            self.ttft_s = self._elapsed() if self.ttft_s is None else self.ttft_s
            self.text += get(event, "delta")
            return [TextDelta(get(event, "delta"))]
        elif kind == "response.refusal.delta":
            self._refusal += get(event, "delta") or ""
        elif kind == "response.output_item.added":
            return self._added(get(event, "item"))
        elif kind == "response.output_item.done" and get(get(event, "item"), "type") in TOOL_TYPES:
            return [self._tool_done(get(event, "item"))]
        elif kind == "response.output_item.done" and get(get(event, "item"), "type") == "mcp_approval_request":
            return [approval_request(get(event, "item"))]
        elif kind == "response.completed":
            self.ended = True
            return [self._completed(get(event, "response"))]
        elif kind in ("response.failed", "response.incomplete", "error"):
            self.ended = True
            return [failure(event)]
        return []

    def _added(self, item: Any) -> list[ReplyEvent]:
        if get(item, "type") == "message" and get(item, "id"):
            self.message_ids.append(get(item, "id"))
        if get(item, "type") not in TOOL_TYPES:
            return []
        self._running[get(item, "id") or ""] = time.perf_counter()
        return [tool_call(item, done=False)]

    def _tool_done(self, item: Any) -> ReplyEvent:
        started = self._running.pop(get(item, "id") or "", None)
        if get(item, "type") == "file_search_call":
            self._results += get(item, "results") or []
        return tool_call(item, done=True, duration_s=None if started is None else time.perf_counter() - started)

    def _completed(self, response: Any) -> ReplyEvent:
        self.response_id = get(response, "id") or self.response_id
        output = get(response, "output") or []
        refusal = self._refusal or "".join(get(p, "refusal") or "" for p in _parts(output, "refusal"))
        blocked = [v for v in verdicts(get(response, "herd_shields")) if v.stage in ("input", "output")]
        if refusal or blocked:
            return Blocked(refusal or f"Blocked by shield '{blocked[0].shield}': {blocked[0].reason}", tuple(blocked))
        usage = get(response, "usage")
        return Finished(
            self.response_id,
            "".join(get(p, "text") or "" for p in _parts(output, "output_text")) or self.text,
            get(usage, "input_tokens"),
            get(usage, "output_tokens"),
            self.ttft_s,
            self._elapsed(),
            citations(output, self._results),
        )

    def stopped(self) -> Finished:
        """The reply as far as it came, for a user who stopped it."""
        return Finished(self.response_id, self.text, ttft_s=self.ttft_s, total_s=self._elapsed(), stopped=True)
