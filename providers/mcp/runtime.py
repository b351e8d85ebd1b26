"""MCP servers as one llama-stack tool group, ``herd::mcp``: tool ``files__read`` is tool ``read`` of server ``files``.

Tools a server marks read-only (``readOnlyHint``) have no side effects; the rest do, and
under the default ``requires_approval: side-effects`` they wait for a user's approval when
called through Herd's MCP route from the Responses API. A server that cannot be reached
is left out of listings and reported by ``problems()``; a failed call comes back as a
result with ``error_message``, never as a server error.
"""

import logging
from typing import Any

from herd.errors import ToolUnavailable
from herd.providers.mcp.config import McpConfig, McpServer
from herd.providers.mcp.session import ServerSession

from .provider import PROVIDER_TYPE, TOOL_GROUP

SEPARATOR = "__"
log = logging.getLogger(__name__)


def needs_approval(spec: McpServer, tool: str, side_effects: bool) -> bool:
    rule = spec.requires_approval
    if isinstance(rule, list):
        return tool in rule
    return rule == "all" or (rule == "side-effects" and side_effects)


class McpRuntime:
    tool_store: Any = None

    def __init__(self, config: McpConfig) -> None:
        self.config = config
        self.sessions = {s.name: ServerSession(s, config.restarts_per_minute) for s in config.servers}
        self.failures: dict[str, str] = {}

    async def initialize(self) -> None:
        return None  # servers start on first use: a broken one must not stop the distribution

    async def shutdown(self) -> None:
        for session in self.sessions.values():
            await session.close()

    async def register_toolgroup(self, toolgroup: Any) -> None:
        return None

    async def unregister_toolgroup(self, toolgroup_id: str) -> None:
        return None

    def problems(self) -> dict[str, str]:
        return dict(self.failures)

    async def list_runtime_tools(
        self, tool_group_id: str | None = None, mcp_endpoint: Any = None, authorization: str | None = None
    ) -> Any:
        from llama_stack_api import ListToolDefsResponse, ToolDef

        defs = []
        for name, session in self.sessions.items():
            try:
                tools = await session.list_tools()
            except ToolUnavailable as exc:
                self.failures[name] = str(exc)
                log.warning("%s", exc)
                continue
            self.failures.pop(name, None)
            for tool in tools:
                read_only = bool(tool.annotations and tool.annotations.readOnlyHint)
                defs.append(
                    ToolDef(
                        toolgroup_id=TOOL_GROUP,
                        name=f"{name}{SEPARATOR}{tool.name}",
                        description=tool.description or "",
                        input_schema=tool.inputSchema,
                        metadata={
                            "provider_type": PROVIDER_TYPE,
                            "server": name,
                            "tool": tool.name,
                            "side_effects": not read_only,
                            "requires_approval": needs_approval(session.spec, tool.name, not read_only),
                        },
                    )
                )
        return ListToolDefsResponse(data=defs)

    async def invoke_tool(self, tool_name: str, kwargs: dict[str, Any], authorization: str | None = None) -> Any:
        from llama_stack_api import ToolInvocationResult

        server, _, tool = tool_name.partition(SEPARATOR)
        session = self.sessions.get(server)
        if session is None or not tool:
            known = ", ".join(self.sessions) or "none"
            message = f"there is no MCP tool {tool_name!r}; tools are named <server>__<tool>, servers: {known}"
            return ToolInvocationResult(content=message, error_message=message, error_code=1)
        try:
            result = await session.call_tool(tool, kwargs or {})
        except ToolUnavailable as exc:
            return ToolInvocationResult(content=str(exc), error_message=str(exc), error_code=1)
        text = "\n".join(
            getattr(item, "text", "") or f"[{getattr(item, 'type', 'content')}]" for item in result.content
        )
        if result.isError:
            message = f"{tool} on MCP server '{server}' failed: {text or 'no message'}"
            return ToolInvocationResult(content=message, error_message=message, error_code=1)
        return ToolInvocationResult(content=text)
