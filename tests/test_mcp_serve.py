"""`herd mcp serve`: its tools against a fake Herd server (httpx.MockTransport), then for real.

The end-to-end test runs `herd mcp serve` as a child process on the tiny server and
talks to it with the MCP SDK's stdio client, as an MCP client such as an IDE would.
"""

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.memory import create_connected_server_and_client_session
from mcp.types import CallToolResult, TextContent

from herd.apps.mcp_server import INSTRUCTIONS, build_server
from tests.conftest import CHAT_MODEL, HERD, run_main

URL = "http://herd.test:8321"
TOOLS = {"list_agents", "chat", "list_stores", "search"}
AGENTS = [
    {"name": "tone", "description": "Rewrites text in a tone.", "model": "herd/small", "fallbacks": [], "tools": []},
    {
        "name": "librarian",
        "description": "Answers from the docs.",
        "model": "herd/big",
        "fallbacks": [],
        "tools": ["file_search"],
    },
]
MODELS = [
    {"id": "herd/small", "custom_metadata": {"model_type": "llm"}},
    {"id": "herd/embed", "custom_metadata": {"model_type": "embedding"}},
]


def _store(number: int, name: str) -> dict[str, Any]:
    counts = {"completed": number, "failed": 1 if number == 2 else 0, "in_progress": 0, "total": number + (number == 2)}
    return {"id": f"vs_{number}", "name": name, "created_at": number, "file_counts": counts}


class FakeHerd:
    """Just enough of a Herd server's HTTP API, recording the requests it answers."""

    def __init__(self) -> None:
        self.stores = [_store(1, "notes"), _store(2, "manuals"), _store(3, "recipes")]
        self.requests: list[tuple[str, str, Any]] = []
        self.responses: dict[str, Any] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body: Any = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        route = (request.method, request.url.path)
        if route == ("GET", "/v1/herd/agents"):
            return httpx.Response(200, json={"data": AGENTS})
        if route == ("GET", "/v1/models"):
            return httpx.Response(200, json={"data": MODELS})
        if route == ("GET", "/v1/vector_stores"):
            return self._stores_page(request.url.params)
        if route == ("POST", "/v1/responses"):
            return self._respond(body)
        if request.method == "POST" and request.url.path.endswith("/search"):
            return httpx.Response(200, json={"data": _hits(body["max_num_results"])})
        return httpx.Response(404, json={"detail": "Not Found"})

    def _stores_page(self, params: httpx.QueryParams) -> httpx.Response:
        """Two stores a page, so the client must follow the ``after`` cursor."""
        ids = [s["id"] for s in self.stores]
        start = ids.index(params["after"]) + 1 if "after" in params else 0
        page = self.stores[start : start + 2]
        return httpx.Response(200, json={"data": page, "has_more": start + 2 < len(self.stores)})

    def _respond(self, body: dict[str, Any]) -> httpx.Response:
        previous = body.get("previous_response_id")
        if previous and previous not in self.responses:
            return httpx.Response(404, json={"detail": f"Response '{previous}' not found."})
        if body["model"] == "agent:librarian":
            message = "none of the models ['herd/big'] is served by this distribution; see GET /v1/models"
            return httpx.Response(404, json={"error": {"message": message, "code": "404"}})
        response_id = f"resp_{len(self.responses) + 1}"
        self.responses[response_id] = body
        if body["input"] == "crash":
            error = {"code": "server_error", "message": "the engine failed: out of memory"}
            return httpx.Response(200, json={"id": response_id, "status": "failed", "error": error, "output": []})
        response = _response(response_id, body["model"])
        if body.get("max_output_tokens"):
            response["status"] = "incomplete"
        return httpx.Response(200, json=response)


def _response(response_id: str, model: str) -> dict[str, Any]:
    search = {"type": "file_search_call", "id": "fs_1", "queries": ["opening hours"], "results": [{}, {}]}
    annotation = {"type": "file_citation", "file_id": "file_9", "filename": "hours.md", "index": 0}
    text = {"type": "output_text", "text": "We open at nine.", "annotations": [annotation]}
    message = {"type": "message", "role": "assistant", "content": [text]}
    return {"id": response_id, "model": model, "status": "completed", "output": [search, message]}


def _hits(k: int) -> list[dict[str, Any]]:
    hits = [
        {
            "file_id": f"file_{n}",
            "filename": f"doc{n}.md",
            "score": 1 - n / 10,
            "content": [{"type": "text", "text": f"passage\n number   {n}"}],
            "attributes": {"location": f"lines {n}-{n + 9}"} if n == 1 else {},
        }
        for n in range(1, 4)
    ]
    return hits[:k]


@asynccontextmanager
async def session(handler: Callable[[httpx.Request], httpx.Response]) -> AsyncIterator[ClientSession]:
    server = build_server(URL, transport=httpx.MockTransport(handler))
    async with create_connected_server_and_client_session(server) as client:
        yield client


def text_of(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


def down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("[Errno 111] Connection refused", request=request)


@pytest.fixture
def fake() -> FakeHerd:
    return FakeHerd()


async def test_the_four_tools_are_listed_with_their_parameters(fake: FakeHerd) -> None:
    async with session(fake) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    assert set(tools["chat"].inputSchema["required"]) == {"agent", "message"}
    assert "conversation" in tools["chat"].inputSchema["properties"]
    assert tools["search"].inputSchema["properties"]["k"]["default"] == 5
    assert all(t.description for t in tools.values())
    assert tools["chat"].outputSchema is not None and "response_id" in tools["chat"].outputSchema["properties"]
    assert all(word in INSTRUCTIONS for word in TOOLS)


async def test_list_agents_gives_descriptions_models_and_which_cannot_run(fake: FakeHerd) -> None:
    async with session(fake) as client:
        result = await client.call_tool("list_agents", {})
    text = text_of(result)
    assert not result.isError
    assert "- tone: Rewrites text in a tone. (model herd/small; no tools)" in text
    librarian = next(line for line in text.splitlines() if line.startswith("- librarian"))
    assert "file_search" in librarian and "unavailable here: herd/big not served" in librarian
    assert text.splitlines()[-1].endswith("herd/small")  # chat models only, not the embedding one


async def test_chat_with_an_agent_returns_text_tools_citations_and_the_response_id(fake: FakeHerd) -> None:
    async with session(fake) as client:
        result = await client.call_tool("chat", {"agent": "tone", "message": "When do you open?"})
    assert not result.isError
    assert fake.requests[-1] == ("POST", "/v1/responses", {"model": "agent:tone", "input": "When do you open?"})
    assert result.structuredContent == {
        "text": "We open at nine.",
        "response_id": "resp_1",
        "model": "agent:tone",
        "status": "completed",
        "tool_calls": ["file_search(opening hours) -> 2 passages"],
        "citations": ["hours.md"],
    }
    text = text_of(result)
    assert text.startswith("We open at nine.")
    assert "tool calls: file_search(opening hours) -> 2 passages" in text and "cites: hours.md" in text
    assert "response id: resp_1 (pass as `conversation` to continue)" in text


async def test_chat_with_a_model_id_and_a_conversation(fake: FakeHerd) -> None:
    async with session(fake) as client:
        await client.call_tool("chat", {"agent": "agent:tone", "message": "hi"})
        arguments = {"agent": "herd/small", "message": "and?", "conversation": "resp_1", "temperature": 0}
        result = await client.call_tool("chat", {**arguments, "max_output_tokens": 40})
    assert not result.isError
    sent = {"model": "herd/small", "input": "and?", "previous_response_id": "resp_1", "temperature": 0}
    assert fake.requests[-1][2] == {**sent, "max_output_tokens": 40}
    assert result.structuredContent is not None and result.structuredContent["response_id"] == "resp_2"
    assert "status: incomplete" in text_of(result)


async def test_a_failed_run_is_a_tool_error(fake: FakeHerd) -> None:
    async with session(fake) as client:
        result = await client.call_tool("chat", {"agent": "tone", "message": "crash"})
    assert result.isError and "the run failed: the engine failed: out of memory" in text_of(result)


async def test_chat_with_an_unknown_agent_names_the_agents_and_models(fake: FakeHerd) -> None:
    async with session(fake) as client:
        result = await client.call_tool("chat", {"agent": "poet", "message": "hi"})
    assert result.isError
    text = text_of(result)
    assert f"no agent or model named 'poet' at {URL}" in text
    assert "agents: tone, librarian" in text and "models: herd/small" in text and "list_agents" in text
    assert all(method == "GET" for method, _, _ in fake.requests)  # nothing was sent to /v1/responses


async def test_chat_refused_by_the_server_passes_on_its_reason(fake: FakeHerd) -> None:
    async with session(fake) as client:
        refused = await client.call_tool("chat", {"agent": "librarian", "message": "hi"})
        unknown = await client.call_tool("chat", {"agent": "tone", "message": "hi", "conversation": "resp_old"})
    assert refused.isError
    assert "(404): none of the models ['herd/big'] is served" in text_of(refused)
    assert unknown.isError
    assert "no conversation 'resp_old'" in text_of(unknown) and "leave `conversation` out" in text_of(unknown)


async def test_list_stores_follows_pages_and_gives_file_counts(fake: FakeHerd) -> None:
    async with session(fake) as client:
        result = await client.call_tool("list_stores", {})
    assert text_of(result).splitlines() == [
        "3 vector stores:",
        "- notes (id vs_1): 1 of 1 files ready",
        "- manuals (id vs_2): 2 of 3 files ready, 1 failed",
        "- recipes (id vs_3): 3 of 3 files ready",
    ]


async def test_list_stores_with_none_says_how_to_add_documents(fake: FakeHerd) -> None:
    fake.stores = []
    async with session(fake) as client:
        result = await client.call_tool("list_stores", {})
    assert not result.isError and "herd docs add PATH --store NAME" in text_of(result)


@pytest.mark.parametrize("store", ["recipes", "vs_3"])
async def test_search_by_name_or_id_gives_file_score_and_text(fake: FakeHerd, store: str) -> None:
    async with session(fake) as client:
        result = await client.call_tool("search", {"store": store, "query": "soup", "k": 2})
    assert not result.isError
    assert fake.requests[-1] == (
        "POST",
        "/v1/vector_stores/vs_3/search",
        {"query": "soup", "max_num_results": 2, "search_mode": "hybrid"},
    )
    assert text_of(result).splitlines() == [
        "2 passages from recipes for 'soup':",
        "1. doc1.md lines 1-10 (score 0.900)",
        "   passage number 1",
        "2. doc2.md (score 0.800)",
        "   passage number 2",
    ]


async def test_search_with_an_unknown_store_names_the_stores(fake: FakeHerd) -> None:
    async with session(fake) as client:
        result = await client.call_tool("search", {"store": "cookbook", "query": "soup"})
        fake.stores = []
        empty = await client.call_tool("search", {"store": "cookbook", "query": "soup"})
    assert result.isError
    assert f"no vector store named 'cookbook' at {URL}" in text_of(result)
    assert "the stores are: notes (vs_1), manuals (vs_2), recipes (vs_3)" in text_of(result)
    assert empty.isError and "there are no vector stores" in text_of(empty)


async def test_search_checks_k(fake: FakeHerd) -> None:
    async with session(fake) as client:
        result = await client.call_tool("search", {"store": "notes", "query": "soup", "k": 0})
    assert result.isError and "greater than or equal to 1" in text_of(result)


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("list_agents", {}),
        ("chat", {"agent": "tone", "message": "hi"}),
        ("list_stores", {}),
        ("search", {"store": "notes", "query": "soup"}),
    ],
)
async def test_every_tool_says_when_no_server_answers(tool: str, arguments: dict[str, Any]) -> None:
    async with session(down) as client:
        result = await client.call_tool(tool, arguments)
    assert result.isError
    assert f"no Herd server answers at {URL}" in text_of(result) and "`herd run`" in text_of(result)


async def test_the_mcp_server_keeps_serving_after_errors(fake: FakeHerd) -> None:
    seen: list[httpx.Request] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return down(request) if len(seen) == 1 else fake(request)

    async with session(flaky) as client:
        failed = await client.call_tool("list_stores", {})
        worked = await client.call_tool("list_stores", {})
    assert failed.isError and not worked.isError and "3 vector stores:" in text_of(worked)


async def test_a_server_that_is_not_herd_is_named(fake: FakeHerd) -> None:
    def other(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": []}) if "vector_stores" in request.url.path else fake(request)

    async with session(other) as client:
        stores = await client.call_tool("list_stores", {})
    async with session(lambda request: httpx.Response(404, text="Not Found")) as client:
        agents = await client.call_tool("list_agents", {})
    assert stores.isError and f"the server at {URL} gave an answer this tool cannot read" in text_of(stores)
    assert agents.isError and "is it a Herd server?" in text_of(agents)


def test_the_command_module_does_not_import_the_sdk() -> None:
    code = "import sys, herd.cli.mcp; assert 'mcp' not in sys.modules and 'herd.apps.mcp_server' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_serve_help_says_how_to_register_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_main(monkeypatch, capsys, "mcp", "serve", "--help")
    assert code == 0
    assert '{"command": "herd", "args": ["mcp", "serve", "--url", "http://127.0.0.1:8321"]}' in out


# -- end to end: `herd mcp serve` on the tiny server -------------------------------


def make_store(http: httpx.Client, name: str, text: str) -> str:
    """A store holding one uploaded text file, once the server has indexed it."""
    uploaded = http.post("/v1/files", files={"file": ("lighthouse.txt", text.encode())}, data={"purpose": "assistants"})
    uploaded.raise_for_status()
    created = http.post("/v1/vector_stores", json={"name": name, "file_ids": [uploaded.json()["id"]]})
    created.raise_for_status()
    store_id = str(created.json()["id"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        files = http.get(f"/v1/vector_stores/{store_id}/files").json()["data"]
        if files and files[0]["status"] != "in_progress":
            assert files[0]["status"] == "completed", files[0]
            return store_id
        time.sleep(0.25)
    pytest.fail(f"the server did not index lighthouse.txt into {store_id} within 120 s")


@asynccontextmanager
async def served(base_url: str, errlog: Path) -> AsyncIterator[ClientSession]:
    """`herd mcp serve --url base_url` as a child process, and an MCP client session on its stdio."""
    # A stdio server that exits at once shows up as "Connection closed"; this says why.
    probe = subprocess.run([str(HERD), "mcp", "serve", "--help"], capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    params = StdioServerParameters(command=str(HERD), args=["mcp", "serve", "--url", base_url])
    with errlog.open("w") as log:
        async with (
            stdio_client(params, errlog=log) as (read, write),
            ClientSession(read, write, read_timeout_seconds=timedelta(seconds=300)) as client,
        ):
            initialized = await client.initialize()
            assert initialized.instructions == INSTRUCTIONS
            yield client


async def test_herd_mcp_serve_end_to_end(base_url: str, http: httpx.Client, tmp_path: Path) -> None:
    text = "The Marrow Point lighthouse was built in 1874 from granite quarried on Skerry Island."
    make_store(http, "mcp-e2e-lighthouses", text)
    async with served(base_url, tmp_path / "mcp-serve.log") as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        agents = await client.call_tool("list_agents", {})
        assert not agents.isError and "- chart-reader:" in text_of(agents)
        assert CHAT_MODEL in text_of(agents)

        # The tiny model may ramble on for minutes: its answers are kept short and predictable.
        short = {"temperature": 0, "max_output_tokens": 24}
        first = await client.call_tool("chat", {"agent": CHAT_MODEL, "message": "Say hello.", **short})
        assert not first.isError, text_of(first)
        reply = first.structuredContent or {}
        assert reply["text"].strip() and reply["response_id"].startswith("resp")
        follow = {"agent": CHAT_MODEL, "message": "Again.", "conversation": reply["response_id"], **short}
        second = await client.call_tool("chat", follow)
        assert not second.isError and (second.structuredContent or {})["response_id"] != reply["response_id"]
        # The built-in agents want the 1.5B model, which the tiny server does not serve: the server says so.
        unserved = await client.call_tool("chat", {"agent": "tone", "message": "hey, sry"})
        assert unserved.isError and "is served by this distribution" in text_of(unserved), text_of(unserved)

        found = await client.call_tool("search", {"store": "mcp-e2e-lighthouses", "query": "Marrow Point lighthouse"})
        assert not found.isError, text_of(found)
        assert "1. lighthouse.txt" in text_of(found) and "built in 1874" in text_of(found)

        missing = await client.call_tool("search", {"store": "no-such-store", "query": "lighthouse"})
        assert missing.isError and "no vector store named 'no-such-store'" in text_of(missing)
        assert "mcp-e2e-lighthouses" in text_of(missing)
