"""A running Herd server's agents, models and vector stores as MCP tools (``herd mcp serve``).

The MCP server is a thin client of the Herd server's HTTP API: ``list_agents``,
``chat`` (a Responses request to ``agent:NAME`` or a model), ``list_stores`` and
``search``. Every failure (no server at the URL, an unknown agent or store, a
refusal) comes back to the MCP client as a tool error (``isError``) whose message
says what to fix; the MCP server itself keeps running. Tests may pass an httpx
transport.
"""

import functools
from collections.abc import Callable
from typing import Annotated, Any

import anyio.to_thread
import httpx
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

from herd.apps.agents.steps import output_text
from herd.apps.docs.client import Refused, StoreClient
from herd.errors import ConfigError, HerdError, InvalidRequest

AGENT_PREFIX = "agent:"
CHUNK_CHARS = 2000  # a chunk's text shown by `search`, at most

INSTRUCTIONS = """\
Herd is a local Llama Stack server; this MCP server gives you its agents, models and documents.
- list_agents: the agents (named instructions, model, tools and routing) and the chat models served.
- chat: send a message to an agent (by name) or a model (by id, e.g. herd/...). The answer ends with
  a response id; pass it as `conversation` to continue the same conversation.
- list_stores: the vector stores (document collections) with their file counts.
- search: the passages of a vector store (by name or id) that best match a query, with file and score.
Everything runs on the Herd server this MCP server was started for; errors say what to fix."""


class ChatReply(BaseModel):
    """What `chat` returns, as structured content (its text content says the same for people)."""

    text: str = Field(description="The assistant's answer.")
    response_id: str = Field(description="Pass as `conversation` to continue this conversation.")
    model: str = Field(description="The model that answered.")
    status: str = Field(description="completed, or incomplete (e.g. cut at the length limit).")
    tool_calls: list[str] = Field(description="The tools the agent called, with their arguments.")
    citations: list[str] = Field(description="The files or pages the answer cites.")


class Herd:
    """The Herd server's HTTP side of the tools (blocking calls; the MCP server runs them in threads)."""

    def __init__(self, url: str, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url
        self.client = StoreClient(url, transport)

    def close(self) -> None:
        self.client.close()

    def agents(self) -> list[dict[str, Any]]:
        try:
            return list(self.client.request("GET", "/herd/agents")["data"])
        except Refused as exc:
            if exc.status != 404:
                raise
            raise ConfigError(
                f"{self.url} answers but lists no agents (GET /v1/herd/agents: 404); is it a Herd "
                "server? Fix --url of `herd mcp serve`"
            ) from exc

    def chat_models(self) -> list[str]:
        models = self.client.request("GET", "/models")["data"]
        return [m["id"] for m in models if (m.get("custom_metadata") or {}).get("model_type", "llm") == "llm"]

    def target(self, name: str) -> str:
        """The Responses ``model`` for ``name``: ``agent:NAME`` for an agent, else a served model id."""
        bare = name.removeprefix(AGENT_PREFIX)
        agents = [a["name"] for a in self.agents()]
        if bare in agents:
            return AGENT_PREFIX + bare
        models = self.chat_models()
        if name in models:
            return name
        raise InvalidRequest(
            f"no agent or model named {name!r} at {self.url}; agents: {', '.join(agents) or 'none'}; "
            f"models: {', '.join(models) or 'none'} (see the list_agents tool)"
        )

    def chat(self, agent: str, message: str, conversation: str | None = None, **options: Any) -> ChatReply:
        """Send ``message``; ``options`` (``temperature``, ``max_output_tokens``) go into the request unless None."""
        body: dict[str, Any] = {"model": self.target(agent), "input": message}
        if conversation:
            body["previous_response_id"] = conversation
        body.update({k: v for k, v in options.items() if v is not None})
        try:
            response = self.client.request("POST", "/responses", json=body)
        except Refused as exc:
            if conversation and exc.status == 404 and conversation in str(exc):
                raise InvalidRequest(
                    f"the server knows no conversation {conversation!r}; pass the response id an earlier chat "
                    "returned, or leave `conversation` out to start a new one"
                ) from exc
            raise
        return _reply(response)

    def stores(self) -> list[dict[str, Any]]:
        return self.client.stores()

    def store(self, name: str) -> dict[str, Any]:
        """The store whose name or id is ``name`` (the oldest of several with that name)."""
        stores = self.stores()
        named = [s for s in stores if name in (s["id"], s.get("name"))]
        if named:
            return min(named, key=lambda s: s.get("created_at", 0))
        known = ", ".join(f"{s.get('name') or '(no name)'} ({s['id']})" for s in stores)
        raise InvalidRequest(
            f"no vector store named {name!r} at {self.url}; "
            + (f"the stores are: {known}" if known else "there are no vector stores")
            + "; add documents with `herd docs add PATH --store NAME`, or see the list_stores tool"
        )

    def search(self, store: str, query: str, k: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        target = self.store(store)
        return target, self.client.search(target["id"], query, k, "hybrid")


def _reply(response: dict[str, Any]) -> ChatReply:
    if response.get("status") == "failed":
        error = response.get("error") or {}
        raise HerdError(f"the run failed: {error.get('message') or error or 'no reason given'}")
    calls, citations, refusals = [], [], []
    for item in response.get("output") or []:
        if item.get("type") in ("function_call", "mcp_call", "file_search_call", "web_search_call"):
            calls.append(_call(item))
        for part in item.get("content") or [] if item.get("type") == "message" else []:
            citations += [_citation(a) for a in part.get("annotations") or []]
            refusals.append(part.get("refusal") or "")
    return ChatReply(
        text=output_text(response) or "".join(refusals),
        response_id=response["id"],
        model=str(response.get("model")),
        status=str(response.get("status")),
        tool_calls=calls,
        citations=list(dict.fromkeys(c for c in citations if c)),
    )


def _call(item: dict[str, Any]) -> str:
    if item["type"] == "file_search_call":
        found = item.get("results") or []
        return f"file_search({', '.join(item.get('queries') or [])}) -> {len(found)} passages"
    if item["type"] == "web_search_call":
        return "web_search"
    call = f"{item.get('name')}({item.get('arguments') or ''})"
    return call + (f" -> error: {item['error']}" if item.get("error") else "")


def _citation(annotation: dict[str, Any]) -> str:
    return str(annotation.get("filename") or annotation.get("url") or annotation.get("file_id") or "")


# -- text for the MCP client ---------------------------------------------------


def agents_text(agents: list[dict[str, Any]], models: list[str]) -> str:
    lines = [f"{len(agents)} agents (chat with one by passing its name to the chat tool):"]
    for agent in agents:
        wanted = [agent["model"], *agent.get("fallbacks", [])]
        served = any(m in models for m in wanted)
        tools = ", ".join(agent.get("tools") or []) or "no tools"
        note = "" if served else f" [unavailable here: {', '.join(wanted)} not served]"
        lines.append(
            f"- {agent['name']}: {agent.get('description') or '(no description)'} "
            f"(model {agent['model']}; {tools}){note}"
        )
    lines.append(f"chat models (pass an id to chat instead of an agent): {', '.join(models) or 'none'}")
    return "\n".join(lines)


def reply_text(reply: ChatReply) -> str:
    lines = [reply.text or "(no text in the answer)", ""]
    if reply.tool_calls:
        lines.append("tool calls: " + "; ".join(reply.tool_calls))
    if reply.citations:
        lines.append("cites: " + ", ".join(reply.citations))
    if reply.status != "completed":
        lines.append(f"status: {reply.status}")
    lines.append(f"model: {reply.model}")
    lines.append(f"response id: {reply.response_id} (pass as `conversation` to continue)")
    return "\n".join(lines)


def stores_text(stores: list[dict[str, Any]]) -> str:
    if not stores:
        return "no vector stores; add documents with `herd docs add PATH --store NAME`"
    lines = [f"{len(stores)} vector stores:"]
    for store in stores:
        counts = store.get("file_counts") or {}
        detail = ", ".join(f"{counts[k]} {k}" for k in ("in_progress", "failed") if counts.get(k))
        lines.append(
            f"- {store.get('name') or '(no name)'} (id {store['id']}): {counts.get('completed', 0)} "
            f"of {counts.get('total', 0)} files ready" + (f", {detail}" if detail else "")
        )
    return "\n".join(lines)


def hits_text(store: dict[str, Any], query: str, hits: list[dict[str, Any]]) -> str:
    name = store.get("name") or store["id"]
    if not hits:
        return f"nothing in {name} matches {query!r}"
    lines = [f"{len(hits)} passages from {name} for {query!r}:"]
    for rank, hit in enumerate(hits, 1):
        attributes = hit.get("attributes") or {}
        filename = hit.get("filename") or attributes.get("filename") or hit.get("file_id")
        where = f" {attributes['location']}" if attributes.get("location") else ""
        text = " ".join(" ".join(p.get("text", "") for p in hit.get("content") or []).split())
        text = text if len(text) <= CHUNK_CHARS else text[: CHUNK_CHARS - 3].rstrip() + "..."
        lines += [f"{rank}. {filename}{where} (score {hit.get('score', 0):.3f})", f"   {text}"]
    return "\n".join(lines)


# -- the MCP server --------------------------------------------------------------


async def _run[T](call: Callable[[], T], url: str) -> T:
    """Run a blocking call in a thread; Herd's errors become tool errors as they are."""
    try:
        return await anyio.to_thread.run_sync(call)
    except HerdError as exc:
        raise ToolError(str(exc)) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise ToolError(
            f"the server at {url} gave an answer this tool cannot read ({exc!r}); is it a Herd "
            "server of this version? Fix --url of `herd mcp serve`"
        ) from exc


def build_server(url: str, transport: httpx.BaseTransport | None = None) -> FastMCP:
    """The MCP server for the Herd server at ``url``; run it with ``.run(transport="stdio")``."""
    herd = Herd(url, transport)
    mcp = FastMCP("herd", instructions=INSTRUCTIONS)

    @mcp.tool(structured_output=False)
    async def list_agents() -> str:
        """List the Herd server's agents (name, description, model, tools) and the chat models it serves."""
        return await _run(lambda: agents_text(herd.agents(), herd.chat_models()), url)

    @mcp.tool()
    async def chat(
        agent: Annotated[str, Field(description="An agent's name (see list_agents), or a model id like herd/...")],
        message: Annotated[str, Field(description="What to say to it.")],
        conversation: Annotated[
            str | None, Field(description="A response id from an earlier chat, to continue that conversation.")
        ] = None,
        temperature: Annotated[
            float | None, Field(description="Sampling temperature (0: most predictable); default: the agent's.", ge=0)
        ] = None,
        max_output_tokens: Annotated[int | None, Field(description="A cap on the answer's length.", ge=1)] = None,
    ) -> Annotated[CallToolResult, ChatReply]:
        """Send a message to an agent or model; returns its answer, tools it called, citations and a response id."""
        options = {"temperature": temperature, "max_output_tokens": max_output_tokens}
        reply = await _run(functools.partial(herd.chat, agent, message, conversation, **options), url)
        return CallToolResult(
            content=[TextContent(type="text", text=reply_text(reply))], structuredContent=reply.model_dump()
        )

    @mcp.tool(structured_output=False)
    async def list_stores() -> str:
        """List the vector stores (document collections): name, id and file counts."""
        return await _run(lambda: stores_text(herd.stores()), url)

    @mcp.tool(structured_output=False)
    async def search(
        store: Annotated[str, Field(description="The vector store's name or id (see list_stores).")],
        query: Annotated[str, Field(description="What to look for.")],
        k: Annotated[int, Field(description="How many passages to return.", ge=1, le=50)] = 5,
    ) -> str:
        """Search a vector store (meaning and words): the best passages with their file, score (0-1) and text."""
        found = await _run(functools.partial(herd.search, store, query, k), url)
        return hits_text(found[0], query, found[1])

    return mcp
