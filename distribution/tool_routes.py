"""``GET /v1/herd/tools`` (every tool group with its provider and tools) and ``POST /v1/herd/tools/invoke``.

llama-stack 0.7.3 lists tools over HTTP (``GET /v1/tools``) but runs them only inside its
Responses loop; Herd's invoke route runs one tool by name for ``herd tools run --url`` and
for clients that call tools themselves. Both ask each group's provider directly: llama-stack
keeps the first listing of a group for good, which would hide an MCP server that was down
then and has come back.
"""

from typing import Any

from herd.distribution.mcp_routes import PREFIX, content_text
from herd.errors import InvalidRequest


async def groups(impls: dict[Any, Any]) -> list[Any]:
    from llama_stack_api import Api

    return list((await impls[Api.tool_groups].list_tool_groups()).data)


async def group_tools(impls: dict[Any, Any], group: Any) -> tuple[Any, list[Any]]:
    """The provider of a tool group and the tools it lists now."""
    from llama_stack_api import Api

    impl = await impls[Api.tool_groups].get_provider_impl(group.identifier)
    listed = await impl.list_runtime_tools(tool_group_id=group.identifier, mcp_endpoint=group.mcp_endpoint)
    return impl, list(listed.data)


async def at_path(impls: dict[Any, Any], path: str) -> tuple[Any, dict[str, Any]]:
    """The provider and tools at an MCP route's path, by the names the route gives them.

    ``<group>``: the group's tools by name; ``<group>/<server>``: one MCP server's tools by
    their own names. An unknown group has no provider and no tools.
    """
    group, _, server = path.partition("/")
    found = [g for g in await groups(impls) if g.identifier == group]
    if not found:
        return None, {}
    impl, tools = await group_tools(impls, found[0])
    if not server:
        return impl, {tool.name: tool for tool in tools}
    return impl, {str((t.metadata or {}).get("tool")): t for t in tools if (t.metadata or {}).get("server") == server}


def _tool_entry(tool: Any) -> dict[str, Any]:
    metadata = tool.metadata or {}
    return {
        "name": tool.name,
        "description": tool.description or "",
        "input_schema": tool.input_schema,
        "server": metadata.get("server"),
        "side_effects": metadata.get("side_effects"),
        "requires_approval": metadata.get("requires_approval"),
    }


async def listing(impls: dict[Any, Any], provider_types: dict[str, str]) -> dict[str, Any]:
    data = []
    for group in await groups(impls):
        entry: dict[str, Any] = {
            "toolgroup_id": group.identifier,
            "provider_id": group.provider_id,
            "provider_type": provider_types.get(group.provider_id, "-"),
            "mcp_url": PREFIX + group.identifier,
            "tools": [],
        }
        try:
            impl, tools = await group_tools(impls, group)
        except Exception as exc:  # noqa: BLE001 - one group that cannot list (a server down) is reported, not fatal
            entry["error"] = f"cannot list its tools: {exc}"
        else:
            entry["tools"] = [_tool_entry(t) for t in tools]
            problems: dict[str, str] = getattr(impl, "problems", dict)()
            if problems:
                entry["error"] = "; ".join(problems.values())
        data.append(entry)
    return {"object": "list", "data": data}


async def find(impls: dict[Any, Any], name: str) -> tuple[Any, Any]:
    """The provider and group id of the tool called ``name``."""
    known = []
    for group in await groups(impls):
        try:
            impl, tools = await group_tools(impls, group)
        except Exception:  # noqa: BLE001 - a group that cannot list has no tool to find
            continue
        if any(t.name == name for t in tools):
            return impl, group.identifier
        known += [t.name for t in tools]
    raise InvalidRequest(f"there is no tool {name!r}; the tools are {', '.join(sorted(known)) or 'none'}")


async def invoke(impls: dict[Any, Any], body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("tool"), str):
        raise InvalidRequest('send JSON {"tool": "<name>", "arguments": {...}}; GET /v1/herd/tools lists the tools')
    arguments = body.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise InvalidRequest("`arguments` must be a JSON object of the tool's arguments")
    impl, group = await find(impls, body["tool"])
    result = await impl.invoke_tool(tool_name=body["tool"], kwargs=arguments)
    return {
        "tool": body["tool"],
        "toolgroup_id": group,
        "content": content_text(result.content),
        "error": result.error_message,
        "data": (result.metadata or {}).get("data"),
    }
