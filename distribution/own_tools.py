"""Herd's own tool groups in Responses requests: ``herd://<group>`` MCP URLs and approvals.

An ``mcp`` tool whose ``server_url`` is ``herd://herd::builtin`` (any tool group of this
server, ``herd://herd::mcp/<server>`` for one configured MCP server) is pointed at this
server's ``/v1/herd/mcp/...`` route. Unless the request says otherwise, its tools that
declare ``requires_approval`` get ``require_approval: always`` and the rest ``never``, so
llama-stack's Responses loop pauses on them with an ``mcp_approval_request``.
"""

from typing import Any

from herd.distribution.mcp_routes import PREFIX

SCHEME = "herd://"


def uses_own(body: dict[str, Any]) -> bool:
    return any(_own(t) for t in body.get("tools") or [])


def _own(tool: Any) -> bool:
    return isinstance(tool, dict) and tool.get("type") == "mcp" and str(tool.get("server_url", "")).startswith(SCHEME)


async def resolve(body: dict[str, Any], base_url: str, impls: dict[Any, Any]) -> dict[str, Any]:
    tools = []
    for tool in body.get("tools") or []:
        if _own(tool):
            path = str(tool["server_url"])[len(SCHEME) :]
            tool = {**tool, "server_url": base_url.rstrip("/") + PREFIX + path}
            if "require_approval" not in tool:
                tool["require_approval"] = await approvals(impls, path)
        tools.append(tool)
    return {**body, "tools": tools}


async def _tools(impls: dict[Any, Any], path: str) -> list[tuple[str, Any]]:
    """The tools at ``path`` (a tool group, or a group and one MCP server) by the names its MCP route gives them."""
    from herd.distribution.tool_routes import group_tools, groups

    group, _, server = path.partition("/")
    found = [g for g in await groups(impls) if g.identifier == group]
    if not found:
        return []  # the MCP route answers an unknown group with a clear 404
    _impl, tools = await group_tools(impls, found[0])
    if not server:
        return [(t.name, t) for t in tools]
    return [(str((t.metadata or {}).get("tool")), t) for t in tools if (t.metadata or {}).get("server") == server]


async def tool_names(impls: dict[Any, Any], path: str) -> list[str]:
    return [name for name, _ in await _tools(impls, path)]


async def approvals(impls: dict[Any, Any], path: str) -> Any:
    """``require_approval`` for the tools at ``path``: those that declare they need it.

    Both lists are given: llama-stack asks approval for a tool that is in neither.
    """
    tools = await _tools(impls, path)
    always = [name for name, tool in tools if (tool.metadata or {}).get("requires_approval")]
    never = [name for name, tool in tools if not (tool.metadata or {}).get("requires_approval")]
    return {"always": always, "never": never} if always else "never"
