"""Herd's tool groups as MCP servers: ``/v1/herd/mcp/<tool group>`` over streamable HTTP.

``/v1/herd/mcp/herd::mcp/<server>`` is one configured MCP server alone, its tools under
their own names (in the ``herd::mcp`` group they are ``<server>__<tool>``).

Any MCP client can use Herd's tools this way, and so can llama-stack's own Responses loop:
an ``mcp`` tool pointed here runs ``herd::code`` or ``herd::builtin`` through the same
llama-stack MCP path (tool listing, approvals, ``mcp_call`` items) as any other server.
Each group gets a stateless session manager, started on first use and stopped with the app.

A tool's failure (bad arguments, a tool that cannot run) comes back as text starting with
``Error:`` and not as an MCP error: llama-stack's Responses loop shows clients only
"Error (code 1)" for MCP errors, and the message is what the model needs to fix its call.
"""

import asyncio
import contextlib
from typing import Any
from urllib.parse import unquote

from herd.distribution.asgi import error_payload, send_json

PREFIX = "/v1/herd/mcp/"


def content_text(content: Any) -> str:
    """A tool result's content (a string, a content item or a list of them) as text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(content_text(item) for item in content)
    return str(getattr(content, "text", "") or "")


class HerdMcp:
    def __init__(self, impls: dict[Any, Any]) -> None:
        self.impls = impls
        self.managers: dict[str, Any] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.closing = asyncio.Event()

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from herd.distribution.tool_routes import at_path, groups

        path = unquote(scope["path"][len(PREFIX) :]).strip("/")
        group, _, server = path.partition("/")
        served = {g.identifier for g in await groups(self.impls)}
        if group not in served:
            listed = ", ".join(sorted(served)) or "none"
            message = f"no tool group {group!r}; MCP servers here: {PREFIX}<group> for {listed}"
            return await send_json(send, 404, error_payload(404, message))
        if server and not (await at_path(self.impls, path))[1]:
            message = f"tool group {group} has no MCP server {server!r} with tools (GET /v1/herd/tools lists them)"
            return await send_json(send, 404, error_payload(404, message))
        manager = await self._manager(path)
        await manager.handle_request(scope, receive, send)

    async def close(self) -> None:
        self.closing.set()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)

    async def _manager(self, path: str) -> Any:
        if path not in self.managers:
            from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

            app = self._server(path)
            manager = StreamableHTTPSessionManager(app=app, stateless=True, json_response=True)
            ready = asyncio.Event()
            self.tasks.append(asyncio.create_task(self._keep(manager, ready)))
            await ready.wait()
            self.managers[path] = manager
        return self.managers[path]

    async def _keep(self, manager: Any, ready: asyncio.Event) -> None:
        async with manager.run():
            ready.set()
            await self.closing.wait()

    def _server(self, path: str) -> Any:
        from mcp import types
        from mcp.server.lowlevel import Server

        from herd.distribution.tool_routes import at_path

        server: Any = Server(f"herd {path.replace('/', ' ')}")

        @server.list_tools()
        async def list_tools() -> list[types.Tool]:
            return [mcp_tool(name, tool) for name, tool in (await at_path(self.impls, path))[1].items()]

        @server.call_tool(validate_input=False)
        async def call_tool(name: str, arguments: dict[str, Any]) -> list[types.TextContent]:
            impl, tools = await at_path(self.impls, path)
            if name not in tools:
                return [types.TextContent(type="text", text=f"Error: {path} has no tool {name!r}")]
            result = await impl.invoke_tool(tool_name=tools[name].name, kwargs=arguments or {})
            if result.error_message:
                return [types.TextContent(type="text", text=f"Error: {result.error_message}")]
            return [types.TextContent(type="text", text=content_text(result.content))]

        return server


def mcp_tool(name: str, tool: Any) -> Any:
    from mcp import types

    metadata = tool.metadata or {}
    side_effects = metadata.get("side_effects")
    annotations = types.ToolAnnotations(readOnlyHint=not side_effects) if side_effects is not None else None
    return types.Tool(
        name=name,
        description=tool.description or "",
        inputSchema=tool.input_schema or {"type": "object", "properties": {}},
        annotations=annotations,
    )
