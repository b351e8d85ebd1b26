"""Herd's tool groups as MCP servers: ``/v1/herd/mcp/<tool group>`` over streamable HTTP.

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


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text(item) for item in content)
    return str(getattr(content, "text", "") or "")


class HerdMcp:
    def __init__(self, impls: dict[Any, Any]) -> None:
        self.impls = impls
        self.managers: dict[str, Any] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.closing = asyncio.Event()

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        from llama_stack_api import Api

        group = unquote(scope["path"][len(PREFIX) :]).strip("/")
        groups = {g.identifier for g in (await self.impls[Api.tool_groups].list_tool_groups()).data}
        if group not in groups:
            served = ", ".join(sorted(groups)) or "none"
            message = f"no tool group {group!r}; MCP servers here: {PREFIX}<group> for {served}"
            return await send_json(send, 404, error_payload(404, message))
        manager = await self._manager(group)
        await manager.handle_request(scope, receive, send)

    async def close(self) -> None:
        self.closing.set()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)

    async def _manager(self, group: str) -> Any:
        if group not in self.managers:
            from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

            manager = StreamableHTTPSessionManager(app=self._server(group), stateless=True, json_response=True)
            ready = asyncio.Event()
            self.tasks.append(asyncio.create_task(self._keep(manager, ready)))
            await ready.wait()
            self.managers[group] = manager
        return self.managers[group]

    async def _keep(self, manager: Any, ready: asyncio.Event) -> None:
        async with manager.run():
            ready.set()
            await self.closing.wait()

    async def _tools(self, group: str) -> list[Any]:
        from llama_stack_api import Api, ListToolsRequest

        return list((await self.impls[Api.tool_groups].list_tools(ListToolsRequest(toolgroup_id=group))).data)

    def _server(self, group: str) -> Any:
        from llama_stack_api import Api
        from mcp import types
        from mcp.server.lowlevel import Server

        server: Any = Server(f"herd {group}")

        @server.list_tools()
        async def list_tools() -> list[types.Tool]:
            return [mcp_tool(tool) for tool in await self._tools(group)]

        @server.call_tool(validate_input=False)
        async def call_tool(name: str, arguments: dict[str, Any]) -> list[types.TextContent]:
            if name not in {tool.name for tool in await self._tools(group)}:
                return [types.TextContent(type="text", text=f"Error: tool group {group} has no tool {name!r}")]
            result = await self.impls[Api.tool_runtime].invoke_tool(tool_name=name, kwargs=arguments or {})
            if result.error_message:
                return [types.TextContent(type="text", text=f"Error: {result.error_message}")]
            return [types.TextContent(type="text", text=_text(result.content))]

        return server


def mcp_tool(tool: Any) -> Any:
    from mcp import types

    metadata = tool.metadata or {}
    side_effects = metadata.get("side_effects")
    annotations = types.ToolAnnotations(readOnlyHint=not side_effects) if side_effects is not None else None
    return types.Tool(
        name=tool.name,
        description=tool.description or "",
        inputSchema=tool.input_schema or {"type": "object", "properties": {}},
        annotations=annotations,
    )
