"""Tools through the real Herd server: listing, the invoke and MCP routes, the Responses
``code_interpreter`` tool, MCP servers (a stdio one and an HTTP one), approvals, and every
sandbox escape of ``tests/sandbox_escapes.py`` through the Responses tool and ``herd tools run``.

The model is the fake Ollama's scripted mode (``tests/fake_ollama.py``): it writes the tool
calls given, as text, which Herd's Ollama provider turns into tool calls. So the exact code
of each escape reaches the sandbox through the whole Responses loop. The user's request
names the call's arguments, as a real one would: Herd drops calls whose values appear
nowhere in the conversation (``providers/toolcalls/guesses.py``).
"""

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from herd.apps.chat.client import LlamaStackChatClient
from herd.apps.chat.events import ApprovalRequest, Decision, Finished, Settings, ToolCall
from herd.distribution import templates
from tests.conftest import run_main
from tests.office_mcp import DOOR_CODES, OfficeServer, running_office_mcp
from tests.sandbox_escapes import ESCAPES, Escape, HostProbe, wait_for_no_strays
from tests.test_ollama_distribution import fake_ollama

MODEL = "ollama/smollm2:135m"
NOTES = Path(__file__).with_name("notes_mcp.py")
WALL = 5
CODE_TOOL = {"type": "code_interpreter", "container": {"type": "auto"}}
NOTES_TOOL = {"type": "mcp", "server_label": "notes", "server_url": "herd://herd::mcp/notes"}


@pytest.fixture(scope="module")
def ollama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fake_ollama(tmp_path_factory) as (url, _process):
        yield url


@pytest.fixture(scope="module")
def office() -> Iterator[OfficeServer]:
    with running_office_mcp() as record:
        yield record


def tools_config(office_url: str) -> dict[str, Any]:
    config = templates.ollama()
    for provider in config["providers"]["tool_runtime"]:
        if provider["provider_type"] == "inline::herd-code":
            provider["config"] = {"limits": {"wall_seconds": WALL, "cpu_seconds": 3}}
        if provider["provider_type"] == "inline::herd-mcp":
            notes = {"name": "notes", "command": [sys.executable, str(NOTES)], "timeout_seconds": 3}
            office = {"name": "office", "url": office_url, "requires_approval": "none"}
            provider["config"] = {"servers": [notes, office], "restarts_per_minute": 100}
    # The sandbox's output reaches the model raw here; shields on tool results are tested elsewhere.
    config["herd"]["shields"] = {"input": [], "tool_results": []}
    return config


AGENT = {
    "name": "note-keeper",
    "description": "Reads notes through Herd's own MCP route.",
    "instructions": "Read the notes the user asks for.",
    "model": MODEL,
    "tools": [NOTES_TOOL],
    "max_turns": 3,
}


@pytest.fixture(scope="module")
def server(
    ollama: str, office: OfficeServer, herd_server_factory: Any, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    agents = tmp_path_factory.mktemp("tool-agents")
    (agents / "note-keeper.yaml").write_text(json.dumps(AGENT))  # JSON is YAML
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OLLAMA_URL", ollama)
        return herd_server_factory(tools_config(office.url), "herd-tools", ("--agents", str(agents)))


@pytest.fixture(scope="module")
def url(server: Any) -> str:
    return str(server.base_url)


def call(name: str, arguments: dict[str, Any]) -> str:
    return "```json\n" + json.dumps({"name": name, "arguments": arguments}) + "\n```"


def script(ollama: str, *replies: str) -> None:
    httpx.post(f"{ollama}/fake/script", json={"replies": list(replies), "reset": True}, timeout=10).raise_for_status()


def asking(name: str, arguments: dict[str, Any]) -> str:
    """A user request that names the call's arguments."""
    return f"Please call {name} with " + "; ".join(f"{k}: {v}" for k, v in arguments.items())


def called(ollama: str, name: str, arguments: dict[str, Any], *after: str) -> str:
    """Scripts the model to call ``name`` then say ``after``; returns the request that asks for it."""
    script(ollama, call(name, arguments), *after)
    return asking(name, arguments)


def respond(url: str, tools: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body = {"model": MODEL, "input": "Do it.", "tools": tools, **extra}
    reply = httpx.post(f"{url}/v1/responses", json=body, timeout=120)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def items(response: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [i for i in response["output"] if i["type"] == kind]


# --- listing and the routes ------------------------------------------------------------------


def test_every_tool_is_listed_with_its_provider(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = {t["name"]: t["toolgroup_id"] for t in httpx.get(f"{url}/v1/tools", timeout=30).json()["data"]}
    assert tools["python"] == "herd::code" and tools["calculator"] == "herd::builtin"
    assert tools["notes__write_note"] == tools["office__door_code"] == "herd::mcp"
    code, out, _err = run_main(monkeypatch, capsys, "tools", "list", "--url", url)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "herd-code (inline::herd-code)" in rows["python"]
    assert "herd-tools (inline::herd-tools)" in rows["convert_units"]
    assert "herd-mcp (inline::herd-mcp)" in rows["notes__read_note"]
    assert rows["notes__write_note"].endswith("side effects, approval")
    # not marked read-only, so side effects; but the office server is configured to need no approvals
    assert rows["office__door_code"].rstrip().endswith("side effects")


def test_the_invoke_route_runs_a_tool_and_says_what_is_wrong(url: str) -> None:
    def invoke(body: Any) -> httpx.Response:
        return httpx.post(f"{url}/v1/herd/tools/invoke", json=body, timeout=60)

    ran = invoke({"tool": "python", "arguments": {"code": "print(6 * 7)"}}).json()
    assert ran["data"]["stdout"] == "42\n" and ran["data"]["isolation"] == "bwrap" and ran["error"] is None
    bad = invoke({"tool": "calculator", "arguments": {"expression": "2 +"}}).json()
    assert "not an arithmetic expression" in bad["error"]
    door = invoke({"tool": "office__door_code", "arguments": {"room": "Vega"}}).json()
    assert DOOR_CODES["vega"] in door["content"]
    unknown = invoke({"tool": "teleport", "arguments": {}})
    assert unknown.status_code == 400 and "calculator" in unknown.json()["error"]["message"]
    assert invoke(["not", "an", "object"]).status_code == 400


def test_a_tool_group_is_an_mcp_server(url: str) -> None:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def use() -> tuple[list[str], str, list[str]]:
        async with (
            streamablehttp_client(f"{url}/v1/herd/mcp/herd::builtin") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            names = [t.name for t in (await session.list_tools()).tools]
            result = await session.call_tool("convert_units", {"value": 1, "from_unit": "mi", "to_unit": "km"})
        async with (
            streamablehttp_client(f"{url}/v1/herd/mcp/herd::mcp/notes") as (read, write, _),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            notes = [t.name for t in (await session.list_tools()).tools]
        text = getattr(result.content[0], "text", "")
        return names, text, notes

    names, text, notes = asyncio.run(use())
    assert {"calculator", "current_time", "convert_units", "create_invite"} <= set(names)
    assert "1.609344" in text
    assert "read_note" in notes and "write_note" in notes  # one server alone: its tools by their own names
    missing = httpx.post(f"{url}/v1/herd/mcp/herd::nothing", json={}, timeout=30)
    assert missing.status_code == 404 and "herd::builtin" in missing.json()["error"]["message"]


# --- code_interpreter ------------------------------------------------------------------------


def test_code_interpreter_gives_code_interpreter_call_items(url: str, ollama: str) -> None:
    prompt = called(ollama, "python", {"code": "print(sum(i * i for i in range(1, 101)))"}, "It is 338350.")
    response = respond(url, [CODE_TOOL], input=prompt)
    [run] = items(response, "code_interpreter_call")
    assert run["code"] == "print(sum(i * i for i in range(1, 101)))"
    assert run["outputs"] == [{"type": "logs", "logs": "338350\n"}]
    assert run["status"] == "completed" and run["container_id"] == "herd-sandbox"
    assert not items(response, "mcp_call") and not items(response, "mcp_list_tools")
    assert response["tools"] == [CODE_TOOL]
    assert items(response, "message")[0]["content"][0]["text"] == "It is 338350."
    stored = httpx.get(f"{url}/v1/responses/{response['id']}", timeout=30).json()
    assert [i["type"] for i in stored["output"]] == ["code_interpreter_call", "message"]
    assert stored["tools"] == [CODE_TOOL]


def test_code_interpreter_streams_openais_events(url: str, ollama: str) -> None:
    prompt = called(ollama, "python", {"code": "print('hi')"}, "Done.")
    body = {"model": MODEL, "input": prompt, "tools": [CODE_TOOL], "stream": True}
    events = []
    with httpx.stream("POST", f"{url}/v1/responses", json=body, timeout=120) as reply:
        for line in reply.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    kinds = [e["type"] for e in events]
    ours = [k for k in kinds if "code_interpreter" in k]
    assert ours == [
        "response.code_interpreter_call.in_progress",
        "response.code_interpreter_call_code.delta",
        "response.code_interpreter_call_code.done",
        "response.code_interpreter_call.interpreting",
        "response.code_interpreter_call.completed",
    ]
    assert not [k for k in kinds if "mcp" in k]
    done = [e for e in events if e["type"] == "response.output_item.done"]
    assert done[0]["output_index"] == 0 and done[0]["item"]["outputs"] == [{"type": "logs", "logs": "hi\n"}]
    assert done[1]["output_index"] == 1 and done[1]["item"]["type"] == "message"
    final = events[-1]["response"]
    assert [i["type"] for i in final["output"]] == ["code_interpreter_call", "message"]


def test_a_figure_comes_back_as_an_image_in_the_files_api(url: str, ollama: str) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nprint('plotted')"
    prompt = called(ollama, "python", {"code": code}, "Here is the plot.")
    [run] = items(respond(url, [CODE_TOOL], input=prompt), "code_interpreter_call")
    logs, image = run["outputs"]
    assert logs == {"type": "logs", "logs": "plotted\n"}
    assert image["type"] == "image" and image["url"].startswith("/v1/files/")
    png = httpx.get(url + image["url"], timeout=30)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_a_failing_program_is_a_failed_call_with_its_traceback(url: str, ollama: str) -> None:
    prompt = called(ollama, "python", {"code": "1 / 0"}, "It failed.")
    [run] = items(respond(url, [CODE_TOOL], input=prompt), "code_interpreter_call")
    assert run["status"] == "failed" and run["exit_code"] == 1
    assert "ZeroDivisionError" in run["outputs"][0]["logs"]


def test_a_container_herd_cannot_give_is_a_clear_400(url: str) -> None:
    body = {"model": MODEL, "input": "x", "tools": [{"type": "code_interpreter", "container": "cntr_123"}]}
    reply = httpx.post(f"{url}/v1/responses", json=body, timeout=30)
    assert reply.status_code == 400 and '{"type": "auto"}' in reply.json()["error"]["message"]


# --- MCP servers: approval, crashes, hangs ---------------------------------------------------


def test_a_tool_with_side_effects_waits_for_approval(url: str, ollama: str) -> None:
    prompt = called(ollama, "write_note", {"title": "plan", "text": "ship it"})
    first = respond(url, [NOTES_TOOL], input=prompt)
    [request] = items(first, "mcp_approval_request")
    assert (request["name"], request["server_label"]) == ("write_note", "notes")
    assert not items(first, "mcp_call")
    called(ollama, "write_note", {"title": "plan", "text": "ship it"}, "Saved.")
    approval = {"type": "mcp_approval_response", "approval_request_id": request["id"], "approve": True}
    second = respond(url, [NOTES_TOOL], input=[approval], previous_response_id=first["id"])
    [ran] = items(second, "mcp_call")
    assert ran["output"] == "saved note 'plan'"
    body = {"tool": "notes__read_note", "arguments": {"title": "plan"}}
    assert httpx.post(f"{url}/v1/herd/tools/invoke", json=body, timeout=30).json()["content"] == "ship it"


def test_a_denied_call_is_told_to_the_model(url: str, ollama: str) -> None:
    prompt = called(ollama, "write_note", {"title": "secret", "text": "hush"})
    first = respond(url, [NOTES_TOOL], input=prompt)
    [request] = items(first, "mcp_approval_request")
    script(ollama, "I did not save it: you said no.")
    denial = {"type": "mcp_approval_response", "approval_request_id": request["id"], "approve": False, "reason": "no"}
    second = respond(url, [NOTES_TOOL], input=[denial], previous_response_id=first["id"])
    assert items(second, "message")[0]["content"][0]["text"] == "I did not save it: you said no."
    asked = httpx.get(f"{ollama}/fake/requests", timeout=10).json()["requests"][-1]
    told = [m["content"] for m in asked["messages"] if m["role"] == "system" and "denied" in str(m["content"])]
    assert told and "write_note" in told[0] and '"no"' in told[0]
    offered = [t["function"]["name"] for t in asked.get("tools", [])]
    assert "write_note" not in offered and "read_note" in offered


async def test_the_chat_client_answers_approvals_inside_a_conversation(url: str, ollama: str) -> None:
    """What `herd chat` does: the turn that asks, then decide() in the same conversation, approved then denied."""
    chat = LlamaStackChatClient(url)
    settings = Settings("agent:note-keeper")
    conversation = (await chat.create_conversation("notes", settings)).id

    async def turn(events: Any) -> list[Any]:
        return [e async for e in events]

    asked = await turn(
        chat.send(conversation, called(ollama, "write_note", {"title": "trip", "text": "pack"}), (), settings)
    )
    [request] = [e for e in asked if isinstance(e, ApprovalRequest)]
    assert (request.name, request.server) == ("write_note", "notes") and isinstance(asked[-1], Finished)
    called(ollama, "write_note", {"title": "trip", "text": "pack"}, "Saved it.")
    approved = await turn(chat.decide(conversation, [Decision(request, True)], settings))
    assert [e.output for e in approved if isinstance(e, ToolCall) and e.done] == ["saved note 'trip'"]
    assert isinstance(approved[-1], Finished) and approved[-1].text == "Saved it."

    again = await turn(
        chat.send(conversation, called(ollama, "write_note", {"title": "pin", "text": "1234"}), (), settings)
    )
    [second] = [e for e in again if isinstance(e, ApprovalRequest)]
    script(ollama, "I did not save it.")
    denied = await turn(chat.decide(conversation, [Decision(second, False, "private")], settings))
    assert not [e for e in denied if isinstance(e, ToolCall)]
    assert isinstance(denied[-1], Finished) and denied[-1].text == "I did not save it."
    model_saw = httpx.get(f"{ollama}/fake/requests", timeout=10).json()["requests"][-1]["messages"]
    told = [m["content"] for m in model_saw if m["role"] == "system" and "denied" in str(m["content"])]
    assert told and "write_note" in told[0] and '"private"' in told[0]

    shown = await chat.history(conversation)
    answers = [(h.approval.arguments, h.decision.approve if h.decision else None) for h in shown if h.approval]
    assert answers == [('{"title": "trip", "text": "pack"}', True), ('{"title": "pin", "text": "1234"}', False)]
    assert [h.text for h in shown if h.role == "assistant"] == ["Saved it.", "I did not save it."]
    body = {"tool": "notes__read_note", "arguments": {"title": "pin"}}
    assert "no note" in httpx.post(f"{url}/v1/herd/tools/invoke", json=body, timeout=30).json()["content"]
    await chat.close()


def test_an_agent_calls_a_configured_mcp_server_through_herd_url(url: str, ollama: str) -> None:
    prompt = called(ollama, "read_note", {"title": "groceries"}, "There is no such note.")
    response = respond(url, [], model="agent:note-keeper", input=prompt)
    [ran] = items(response, "mcp_call")
    assert ran["name"] == "read_note" and ran["output"] == "there is no note titled 'groceries'"
    assert not items(response, "mcp_approval_request")  # read-only: no approval asked
    assert response["metadata"]["herd_agent"] == "note-keeper"


def test_a_server_that_crashes_mid_call_is_reported_and_restarted(url: str, ollama: str) -> None:
    invoke = f"{url}/v1/herd/tools/invoke"
    before = httpx.post(invoke, json={"tool": "notes__pid", "arguments": {}}, timeout=30).json()["content"]
    prompt = called(ollama, "crash", {}, "It crashed.")
    [crashed] = items(respond(url, [NOTES_TOOL], input=prompt), "mcp_call")
    text = crashed["output"] or ""
    assert "MCP server 'notes'" in text and "starts again on the next call" in text
    assert "crashing on purpose" in text  # its stderr, for whoever reads the error
    after = httpx.post(invoke, json={"tool": "notes__pid", "arguments": {}}, timeout=30).json()["content"]
    assert after.isdigit() and after != before


def test_a_hung_call_times_out_with_a_clear_error(url: str) -> None:
    started = time.monotonic()
    body = {"tool": "notes__hang", "arguments": {}}
    result = httpx.post(f"{url}/v1/herd/tools/invoke", json=body, timeout=60).json()
    assert time.monotonic() - started < 3 + 8
    assert "did not finish the call to hang within 3 s" in result["error"]
    again = httpx.post(f"{url}/v1/herd/tools/invoke", json={"tool": "notes__pid", "arguments": {}}, timeout=30)
    assert again.json()["content"].isdigit()


def test_the_http_mcp_server_is_called_from_responses(url: str, ollama: str, office: OfficeServer) -> None:
    tool = {"type": "mcp", "server_label": "office", "server_url": "herd://herd::mcp/office"}
    prompt = called(ollama, "door_code", {"room": "Orion"}, "The code is 5521.")
    [ran] = items(respond(url, [tool], input=prompt), "mcp_call")
    assert DOOR_CODES["orion"] in (ran["output"] or "")
    assert ("door_code", {"room": "Orion"}) in office.calls


# --- sandbox escapes through the Responses tool and the CLI ----------------------------------


def server_pid(server: Any) -> int:
    return int(server.process.pid)


def assert_stayed_in(escape: Escape, probe: HostProbe, stdout: str, stderr: str, server: Any, url: str) -> None:
    assert not probe.escaped(escape, stdout, stderr), f"{escape.name} got out:\n{stdout[-1500:]}\n{stderr[-800:]}"
    assert server.process.poll() is None, "the Herd server died"
    assert httpx.get(f"{url}/v1/herd/status", timeout=10).status_code == 200
    assert not wait_for_no_strays(), f"{escape.name}: sandbox processes left running"


@pytest.mark.parametrize("escape", ESCAPES, ids=[e.name for e in ESCAPES])
def test_escape_through_the_responses_tool(escape: Escape, server: Any, url: str, ollama: str) -> None:
    with HostProbe(host_pid=server_pid(server)) as probe:
        prompt = called(ollama, "python", {"code": probe.render(escape)}, "Done.")
        [run] = items(respond(url, [CODE_TOOL], input=prompt), "code_interpreter_call")
        logs = "\n".join(o.get("logs", "") for o in run.get("outputs") or [])
        assert_stayed_in(escape, probe, logs, "", server, url)


@pytest.mark.parametrize("escape", ESCAPES, ids=[e.name for e in ESCAPES])
def test_escape_through_herd_tools_run(
    escape: Escape, server: Any, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with HostProbe(host_pid=server_pid(server)) as probe:
        args = ("tools", "run", "python", "--url", url, "--json", "--code", probe.render(escape))
        _code, out, _err = run_main(monkeypatch, capsys, *args)
        result = json.loads(out)
        assert_stayed_in(escape, probe, result["stdout"], result["stderr"], server, url)
