"""The rewriting of Responses streams for code_interpreter, event by event, with another MCP server's call beside ours.

llama-stack streams an MCP call's arguments before its item, and ``mcp_call.completed``
carries no item id; these tests pin the rewrite where that matters: whose call an event
belongs to, OpenAI's order of code_interpreter events, and output indexes once Herd's
``mcp_list_tools`` item is dropped.
"""

import asyncio
import json
from typing import Any

from herd.distribution.code_interpreter import LABEL, InterpreterSend, to_mcp

OURS = {"id": "fc_1", "type": "mcp_call", "server_label": LABEL, "name": "python", "arguments": '{"code": "print(1)"}'}
THEIRS = {"id": "fc_2", "type": "mcp_call", "server_label": "office", "name": "door_code", "arguments": "{}"}
RESULT = json.dumps({"exit_code": 0, "stdout": "1\n", "stderr": "", "limit": None, "files": [], "images": []})


def listing(label: str) -> dict[str, Any]:
    return {"id": f"mcp_list_{label}", "type": "mcp_list_tools", "server_label": label, "tools": []}


def stream() -> list[dict[str, Any]]:
    return [
        {"type": "response.created", "response": {"output": [], "tools": []}},
        {"type": "response.mcp_list_tools.in_progress"},
        {"type": "response.output_item.added", "output_index": 0, "item": listing(LABEL)},
        {"type": "response.mcp_list_tools.completed"},
        {"type": "response.output_item.done", "output_index": 0, "item": listing(LABEL)},
        {"type": "response.mcp_list_tools.in_progress"},
        {"type": "response.output_item.added", "output_index": 1, "item": listing("office")},
        {"type": "response.mcp_list_tools.completed"},
        {"type": "response.output_item.done", "output_index": 1, "item": listing("office")},
        {"type": "response.mcp_call.arguments.done", "item_id": "fc_2", "output_index": 3, "arguments": "{}"},
        {
            "type": "response.mcp_call.arguments.done",
            "item_id": "fc_1",
            "output_index": 2,
            "arguments": OURS["arguments"],
        },
        {"type": "response.output_item.added", "output_index": 2, "item": OURS},
        {"type": "response.mcp_call.in_progress", "item_id": "fc_1", "output_index": 2},
        {"type": "response.mcp_call.completed"},
        {"type": "response.output_item.done", "output_index": 2, "item": {**OURS, "output": RESULT}},
        {"type": "response.output_item.added", "output_index": 3, "item": THEIRS},
        {"type": "response.mcp_call.in_progress", "item_id": "fc_2", "output_index": 3},
        {"type": "response.mcp_call.completed"},
        {"type": "response.output_item.done", "output_index": 3, "item": {**THEIRS, "output": "5521"}},
    ]


def rewritten(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    send = InterpreterSend(lambda message: asyncio.sleep(0))
    out: list[dict[str, Any]] = []
    for event in events:
        for raw in asyncio.run(send.rewrite_event(f"data: {json.dumps(event)}".encode())):
            out.append(json.loads(raw.decode().split("data: ", 1)[1]))
    return out


def test_our_call_becomes_code_interpreter_events_in_openais_order_and_theirs_stays_mcp() -> None:
    out = rewritten(stream())
    kinds = [(e["type"], e.get("item_id") or (e.get("item") or {}).get("id"), e.get("output_index")) for e in out]
    assert kinds == [
        ("response.created", None, None),
        ("response.mcp_list_tools.in_progress", None, None),
        ("response.output_item.added", "mcp_list_office", 0),
        ("response.mcp_list_tools.completed", None, None),
        ("response.output_item.done", "mcp_list_office", 0),
        ("response.output_item.added", "fc_1", 1),
        ("response.code_interpreter_call.in_progress", "fc_1", 1),
        ("response.code_interpreter_call_code.delta", "fc_1", 1),
        ("response.code_interpreter_call_code.done", "fc_1", 1),
        ("response.code_interpreter_call.interpreting", "fc_1", 1),
        ("response.code_interpreter_call.completed", "fc_1", 1),
        ("response.output_item.done", "fc_1", 1),
        ("response.mcp_call.arguments.done", "fc_2", 2),
        ("response.output_item.added", "fc_2", 2),
        ("response.mcp_call.in_progress", "fc_2", 2),
        ("response.mcp_call.completed", None, None),
        ("response.output_item.done", "fc_2", 2),
    ]
    done = out[11]["item"]
    assert done["type"] == "code_interpreter_call" and done["code"] == "print(1)"
    assert done["outputs"] == [{"type": "logs", "logs": "1\n"}] and done["status"] == "completed"
    assert out[8]["code"] == "print(1)"
    assert out[-1]["item"]["type"] == "mcp_call"


def test_the_request_gets_an_mcp_tool_on_this_server_and_the_tool_choice_follows() -> None:
    body = {
        "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}, {"type": "function", "name": "f"}],
        "tool_choice": {"type": "code_interpreter"},
    }
    out = to_mcp(body, "http://127.0.0.1:8321")
    assert out["tools"][0]["server_url"] == "http://127.0.0.1:8321/v1/herd/mcp/herd::code"
    assert out["tools"][0]["allowed_tools"] == ["python"] and out["tools"][1] == {"type": "function", "name": "f"}
    assert out["tool_choice"] == {"type": "mcp", "server_label": LABEL, "name": "python"}
