"""``GET /v1/herd/tools`` (every tool group with its provider and tools) and ``POST /v1/herd/tools/invoke``.

llama-stack 0.7.3 lists tools over HTTP (``GET /v1/tools``) but runs them only inside its
Responses loop; Herd's invoke route runs one tool by name for ``herd tools run --url`` and
for clients that call tools themselves.
"""

from typing import Any

from herd.distribution.mcp_routes import PREFIX
from herd.errors import InvalidRequest


async def listing(impls: dict[Any, Any], provider_types: dict[str, str]) -> dict[str, Any]:
    from llama_stack_api import Api, ListToolsRequest

    tool_groups = impls[Api.tool_groups]
    data = []
    for group in (await tool_groups.list_tool_groups()).data:
        entry: dict[str, Any] = {
            "toolgroup_id": group.identifier,
            "provider_id": group.provider_id,
            "provider_type": provider_types.get(group.provider_id, "-"),
            "mcp_url": PREFIX + group.identifier,
            "tools": [],
        }
        try:
            tools = (await tool_groups.list_tools(ListToolsRequest(toolgroup_id=group.identifier))).data
        except Exception as exc:  # noqa: BLE001 - one group that cannot list (a server down) is reported, not fatal
            entry["error"] = f"cannot list its tools: {exc}"
            tools = []
        for tool in tools:
            metadata = tool.metadata or {}
            entry["tools"].append(
                {
                    "name": tool.name,
                    "description": tool.description or "",
                    "input_schema": tool.input_schema,
                    "side_effects": metadata.get("side_effects"),
                    "requires_approval": metadata.get("requires_approval"),
                }
            )
        data.append(entry)
    return {"object": "list", "data": data}


async def invoke(impls: dict[Any, Any], body: Any) -> dict[str, Any]:
    from llama_stack_api import Api, ListToolsRequest

    if not isinstance(body, dict) or not isinstance(body.get("tool"), str):
        raise InvalidRequest('send JSON {"tool": "<name>", "arguments": {...}}; GET /v1/herd/tools lists the tools')
    arguments = body.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise InvalidRequest("`arguments` must be a JSON object of the tool's arguments")
    name = body["tool"]
    tools = (await impls[Api.tool_groups].list_tools(ListToolsRequest())).data
    group = next((t.toolgroup_id for t in tools if t.name == name), None)
    if group is None:
        known = ", ".join(sorted(t.name for t in tools)) or "none"
        raise InvalidRequest(f"there is no tool {name!r}; the tools are {known}")
    result = await impls[Api.tool_runtime].invoke_tool(tool_name=name, kwargs=arguments)
    content = result.content
    text = content if isinstance(content, str) else "\n".join(getattr(c, "text", "") for c in content or [])
    return {
        "tool": name,
        "toolgroup_id": group,
        "content": text,
        "error": result.error_message,
        "data": (result.metadata or {}).get("data"),
    }
