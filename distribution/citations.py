"""File citations on Responses that used ``file_search``, added by Herd when the model gave none.

llama-stack annotates an answer only where the model wrote a ``<|file-id|>`` marker,
and small models seldom do (the default 1.5B model wrote none in our trials, and
asking harder made it copy the example instead of answering). So Herd cites from
the evidence: a file is cited when the answer shares at least ``MIN_OVERLAP`` of its
content words with one of that file's retrieved chunks; at most ``MAX_CITED`` files,
best first, each a ``file_citation`` at the end of the text. An answer the model
annotated itself is left alone. Herd also gives each ``file_search_call`` result its
file's name (llama-stack puts the file id there).

Streams are rewritten event by event: the ``response.output_item.done`` of a message
and ``response.completed`` carry the annotations. The stored copy llama-stack returns
from ``GET /v1/responses/{id}`` is the model's own, without Herd's citations.
"""

import json
from typing import Any

from herd.distribution.asgi import RewritingSend, Send
from herd.providers.chroma.keyword import STOPWORDS, words

MIN_OVERLAP = 0.3
MAX_CITED = 3


def uses_file_search(body: dict[str, Any]) -> bool:
    return any(isinstance(t, dict) and t.get("type") == "file_search" for t in body.get("tools") or [])


def _terms(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOPWORDS and len(w) > 2}


def citations(text: str, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``file_citation`` annotations for an answer ``text`` given the file_search results it saw."""
    answer = _terms(text)
    if not answer:
        return []
    best: dict[str, tuple[float, str]] = {}
    for result in results:
        overlap = len(answer & _terms(result.get("text") or "")) / len(answer)
        file_id = result.get("file_id") or ""
        if overlap >= MIN_OVERLAP and overlap > best.get(file_id, (0.0, ""))[0]:
            best[file_id] = (overlap, result.get("filename") or file_id)
    ranked = sorted(best.items(), key=lambda item: -item[1][0])[:MAX_CITED]
    return [{"type": "file_citation", "file_id": f, "filename": name, "index": len(text)} for f, (_, name) in ranked]


def name_results(item: dict[str, Any]) -> list[dict[str, Any]]:
    """A file_search_call's results, each with its file's name from the chunk attributes."""
    results = item.get("results") or []
    for result in results:
        name = (result.get("attributes") or {}).get("filename")
        if name and result.get("filename") in (None, "", result.get("file_id")):
            result["filename"] = name
    return results


def cite_message(item: dict[str, Any], results: list[dict[str, Any]]) -> None:
    for part in item.get("content") or []:
        if part.get("type") == "output_text" and not part.get("annotations") and results:
            part["annotations"] = citations(part.get("text") or "", results)


def cite_response(response: dict[str, Any]) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for item in response.get("output") or []:
        if item.get("type") == "file_search_call":
            results.extend(name_results(item))
        elif item.get("type") == "message":
            cite_message(item, results)
    return response


class CitingSend(RewritingSend):
    """An ASGI ``send`` that rewrites a Responses reply (JSON or server-sent events) with citations."""

    def __init__(self, send: Send) -> None:
        super().__init__(send)
        self.results: list[dict[str, Any]] = []

    async def rewrite_reply(self, body: bytes) -> bytes:
        try:
            return json.dumps(cite_response(json.loads(body))).encode()
        except (ValueError, AttributeError, TypeError):
            return body

    async def rewrite_event(self, raw: bytes) -> list[bytes]:
        return [self._event(raw)]

    def _event(self, raw: bytes) -> bytes:
        lines = raw.split(b"\n")
        data = [i for i, line in enumerate(lines) if line.startswith(b"data: ")]
        if len(data) != 1:
            return raw
        try:
            event = json.loads(lines[data[0]][6:])
        except ValueError:
            return raw
        kind = event.get("type") if isinstance(event, dict) else None
        item = event.get("item") if kind == "response.output_item.done" else None
        if isinstance(item, dict) and item.get("type") == "file_search_call":
            self.results.extend(name_results(item))
        elif isinstance(item, dict) and item.get("type") == "message":
            cite_message(item, self.results)
        elif kind == "response.completed" and isinstance(event.get("response"), dict):
            cite_response(event["response"])
        else:
            return raw
        lines[data[0]] = b"data: " + json.dumps(event).encode()
        return b"\n".join(lines)
