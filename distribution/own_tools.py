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


async def tool_names(impls: dict[Any, Any], path: str) -> list[str]:
    from herd.distribution.tool_routes import at_path

    return list((await at_path(impls, path))[1])


async def approvals(impls: dict[Any, Any], path: str) -> Any:
    """``require_approval`` for the tools at ``path``: those that declare they need it.

    Both lists are given: llama-stack asks approval for a tool that is in neither.
    """
    from herd.distribution.tool_routes import at_path

    _impl, tools = await at_path(impls, path)  # an unknown group: none, and the MCP route answers 404
    always = [name for name, tool in tools.items() if (tool.metadata or {}).get("requires_approval")]
    never = [name for name, tool in tools.items() if not (tool.metadata or {}).get("requires_approval")]
    return {"always": always, "never": never} if always else "never"
