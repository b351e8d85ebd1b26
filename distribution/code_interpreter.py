"""The Responses API's ``code_interpreter`` tool, served by Herd's sandbox (``herd::code``).

llama-stack 0.7.3's Responses schema has no ``code_interpreter`` tool, so Herd maps it onto one
it has: the request's ``{"type": "code_interpreter", "container": {"type": "auto"}}`` becomes
an ``mcp`` tool pointed at this server's own ``/v1/herd/mcp/herd::code``; on the way back,
``mcp_call`` items of that server become ``code_interpreter_call`` items (code, container id,
``logs`` and ``image`` outputs, status) and the stream's ``response.mcp_call.*`` events
become ``response.code_interpreter_call.*`` ones. The ``mcp_list_tools`` item llama-stack
adds for the server is dropped, and later output indexes shift down to match.
"""

import json
from typing import Any

from herd.distribution.asgi import RewritingSend, Send
from herd.distribution.mcp_routes import PREFIX
from herd.errors import InvalidRequest
from herd.providers.code.code_tool import parse_result

LABEL = "herd_code_interpreter"
GROUP = "herd::code"
CONTAINER = "herd-sandbox"  # every call runs in a fresh sandbox: there is no container to keep
CODE_TOOL = {"type": "code_interpreter", "container": {"type": "auto"}}


def requested(body: dict[str, Any]) -> bool:
    return any(isinstance(t, dict) and t.get("type") == "code_interpreter" for t in body.get("tools") or [])


def _check_container(tool: dict[str, Any]) -> None:
    container = tool.get("container", {"type": "auto"})
    if isinstance(container, dict) and container.get("type", "auto") == "auto":
        if container.get("file_ids"):
            raise InvalidRequest(
                "code_interpreter: `container.file_ids` is not supported; Herd runs each call in a fresh, empty "
                "sandbox. Send the data in the prompt, or let the code create it"
            )
        return
    raise InvalidRequest(
        'code_interpreter: `container` must be {"type": "auto"}; Herd runs each call in a fresh sandbox and '
        f"keeps no containers (got {json.dumps(container)[:80]})"
    )


def to_mcp(body: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The request with its code_interpreter tool (and tool choice) as an mcp tool on this server."""
    tools = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") == "code_interpreter":
            _check_container(tool)
            tool = {
                "type": "mcp",
                "server_label": LABEL,
                "server_url": base_url.rstrip("/") + PREFIX + GROUP,
                "require_approval": "never",
                "allowed_tools": ["python"],
            }
        tools.append(tool)
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "code_interpreter":
        choice = {"type": "mcp", "server_label": LABEL, "name": "python"}
    return {**body, "tools": tools, **({"tool_choice": choice} if choice is not None else {})}


def _outputs(result: dict[str, Any]) -> list[dict[str, Any]]:
    logs = result.get("stdout") or ""
    if result.get("stderr"):
        logs += ("\n" if logs and not logs.endswith("\n") else "") + result["stderr"]
    if result.get("limit"):
        logs += f"\n[stopped: {result['limit']}]"
    outputs: list[dict[str, Any]] = [{"type": "logs", "logs": logs}] if logs else []
    for image in result.get("images") or []:
        url = image.get("url") or (f"/v1/files/{image['file_id']}/content" if image.get("file_id") else None)
        if url:
            outputs.append({"type": "image", "url": url})
    return outputs


def interpreter_call(item: dict[str, Any]) -> dict[str, Any]:
    """An ``mcp_call`` item of Herd's code server as a ``code_interpreter_call`` item."""
    try:
        code = json.loads(item.get("arguments") or "{}").get("code")
    except (ValueError, AttributeError):
        code = None
    out: dict[str, Any] = {"id": item["id"], "type": "code_interpreter_call", "code": code, "container_id": CONTAINER}
    output = item.get("output")
    result = parse_result(output) if isinstance(output, str) else None
    if result is not None:
        out["outputs"] = _outputs(result)
        out["status"] = "completed" if result.get("exit_code") == 0 and not result.get("limit") else "failed"
        out["exit_code"] = result.get("exit_code")
    elif output is None and item.get("error") is None:
        out["outputs"], out["status"] = None, "in_progress"
    else:
        message = item.get("error") or output or "the sandbox gave no result"
        out["outputs"], out["status"] = [{"type": "logs", "logs": str(message)}], "failed"
    return out


def _ours(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and item.get("server_label") == LABEL
        and item.get("type") in ("mcp_call", "mcp_list_tools")
    )


def response_object(response: dict[str, Any]) -> dict[str, Any]:
    """A whole Responses object with Herd's code server shown as code_interpreter."""
    if "output" not in response:
        return response  # not a Responses object (an input-items list, an error)
    output = []
    for item in response.get("output") or []:
        if _ours(item):
            if item["type"] == "mcp_call":
                output.append(interpreter_call(item))
            continue
        output.append(item)
    tools = [
        CODE_TOOL if isinstance(t, dict) and t.get("type") == "mcp" and t.get("server_label") == LABEL else t
        for t in response.get("tools") or []
    ]
    return {**response, "output": output, **({"tools": tools} if "tools" in response else {})}


class InterpreterSend(RewritingSend):
    """Rewrites a Responses reply, JSON or event stream, to show code_interpreter items and events."""

    def __init__(self, send: Send) -> None:
        super().__init__(send)
        self.dropped: list[int] = []  # original output indexes of dropped items
        self.ours: set[str] = set()  # ids of our mcp_call items
        self.calls: list[tuple[str, int]] = []  # mcp calls in progress, oldest first: (item id, output index)
        self.held: dict[str, Any] | None = None  # a list-tools start, until the item shows whose it is
        # llama-stack streams an mcp call's arguments before its item: held until the item shows whose call it is
        self.arguments: dict[str, list[dict[str, Any]]] = {}
        self.code: dict[str, list[dict[str, Any]]] = {}  # our calls' code events, sent after their in_progress
        self.listing_ours = False
        self.named = False  # whether the stream's events carry an ``event:`` line

    async def rewrite_reply(self, body: bytes) -> bytes:
        try:
            return json.dumps(response_object(json.loads(body))).encode()
        except (ValueError, AttributeError, TypeError, KeyError):
            return body

    async def rewrite_event(self, raw: bytes) -> list[bytes]:
        lines = raw.split(b"\n")
        data = [i for i, line in enumerate(lines) if line.startswith(b"data: ")]
        if len(data) != 1:
            return [raw]
        try:
            event = json.loads(lines[data[0]][6:])
        except ValueError:
            return [raw]
        if not isinstance(event, dict):
            return [raw]
        self.named = any(line.startswith(b"event:") for line in lines)
        return [_encode(e, self.named) for e in self._events(event)]

    def _index(self, index: int) -> int:
        return index - sum(1 for d in self.dropped if d < index)

    def _events(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = str(event.get("type", ""))
        if kind == "response.mcp_list_tools.in_progress":
            released, self.held = self._release(), event
            return released
        if kind.startswith("response.mcp_call.arguments.") and event.get("item_id") not in self.ours:
            self.arguments.setdefault(str(event.get("item_id")), []).append(event)
            return []
        item = event.get("item")
        if kind == "response.output_item.added" and isinstance(item, dict) and item.get("type") == "mcp_call":
            self.calls.append((str(item.get("id")), int(event.get("output_index", 0))))
            if _ours(item):
                added = self._item_event(event, kind, item)
                # OpenAI's order: the call's in_progress event comes before its code.
                self.code[item["id"]] = [
                    e for h in self.arguments.pop(item["id"], []) for e in self._call_event(h, h["type"])
                ]
                return added
            held = self.arguments.pop(str(item.get("id")), [])
            return [e for h in [*held, event] for e in self._other(h, h["type"])]
        if (
            kind in ("response.output_item.added", "response.output_item.done")
            and isinstance(item, dict)
            and _ours(item)
        ):
            return self._item_event(event, kind, item)
        out = self._release(kind)
        if kind.startswith("response.mcp_list_tools.") and self.listing_ours:
            self.listing_ours = False
            return out
        return out + self._other(event, kind)

    def _release(self, kind: str = "") -> list[dict[str, Any]]:
        """The held list-tools start; at the end of the response, argument events whose item never came too."""
        held, self.held = self.held, None
        out = [held] if held is not None else []
        if kind in ("response.completed", "response.failed", "response.incomplete"):
            arguments = [e for events in self.arguments.values() for e in events]
            self.arguments = {}
            out += [e for a in arguments for e in self._other(a, a["type"])]
        return out

    def _other(self, event: dict[str, Any], kind: str) -> list[dict[str, Any]]:
        if kind.startswith("response.mcp_call"):
            return self._call_event(event, kind)
        if "response" in event and isinstance(event["response"], dict):
            event = {**event, "response": response_object(event["response"])}
        return [self._shifted(event)]

    def _shifted(self, event: dict[str, Any]) -> dict[str, Any]:
        if isinstance(event.get("output_index"), int):
            return {**event, "output_index": self._index(event["output_index"])}
        return event

    def _item_event(self, event: dict[str, Any], kind: str, item: dict[str, Any]) -> list[dict[str, Any]]:
        index = event.get("output_index", 0)
        if item["type"] == "mcp_list_tools":
            if kind == "response.output_item.added":
                self.dropped.append(index)
                self.held, self.listing_ours = None, True
            return []
        self.ours.add(item["id"])
        return [{**event, "output_index": self._index(index), "item": interpreter_call(item)}]

    def _call_event(self, event: dict[str, Any], kind: str) -> list[dict[str, Any]]:
        item_id = event.get("item_id")
        if kind in ("response.mcp_call.completed", "response.mcp_call.failed"):
            item_id, index = self.calls.pop(0) if self.calls else (None, 0)
            if item_id not in self.ours:
                return [self._shifted(event)]
            stage = "completed" if kind.endswith("completed") else "failed"
            return [self._renamed(event, f"response.code_interpreter_call.{stage}", item_id, index)]
        if item_id not in self.ours:
            return [self._shifted(event)]
        index = event.get("output_index", 0)
        if kind == "response.mcp_call.in_progress":
            started = self._renamed(event, "response.code_interpreter_call.in_progress", item_id, index)
            return [started, *self.code.pop(item_id, [])]
        if kind == "response.mcp_call.arguments.done":
            try:
                code = json.loads(event.get("arguments") or "{}").get("code") or ""
            except (ValueError, AttributeError):
                code = ""
            delta = {**self._renamed(event, "response.code_interpreter_call_code.delta", item_id, index), "delta": code}
            done = {**self._renamed(event, "response.code_interpreter_call_code.done", item_id, index), "code": code}
            interpreting = self._renamed(event, "response.code_interpreter_call.interpreting", item_id, index)
            return [delta, done, interpreting]
        return []  # argument deltas: the code goes out whole when the arguments are done

    def _renamed(self, event: dict[str, Any], kind: str, item_id: str, index: int) -> dict[str, Any]:
        return {
            "type": kind,
            "item_id": item_id,
            "output_index": self._index(index),
            "sequence_number": event.get("sequence_number", 0),
        }


def _encode(event: dict[str, Any], named: bool) -> bytes:
    data = f"data: {json.dumps(event)}"
    return (f"event: {event.get('type', 'message')}\n{data}" if named else data).encode()
