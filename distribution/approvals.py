"""Denied tool calls, told to the model.

llama-stack's Responses loop drops a call whose ``mcp_approval_response`` says
``approve: false`` and ends the turn: the model never learns it was denied, and the reply
has no message. Herd adds a system message to such a request naming the denied call and
the reason given, and takes that tool off the server's allowed tools for the request, so
the model answers in words instead of asking again.
"""

import json
from typing import Any


def denials(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("input")
    if not isinstance(items, list):
        return []
    return [
        i for i in items if isinstance(i, dict) and i.get("type") == "mcp_approval_response" and not i.get("approve")
    ]


def _as_dict(item: Any) -> dict[str, Any]:
    return dict(item.model_dump() if hasattr(item, "model_dump") else item)


async def _stored(impls: dict[Any, Any], body: dict[str, Any]) -> list[Any]:
    """The items the request continues from: its previous response's output, or its conversation's items."""
    from llama_stack_api import Api, ListItemsRequest, RetrieveResponseRequest

    previous, conversation = body.get("previous_response_id"), body.get("conversation")
    try:
        if isinstance(previous, str) and Api.responses in impls:
            found = await impls[Api.responses].get_openai_response(RetrieveResponseRequest(response_id=previous))
            return list(found.output)
        if isinstance(conversation, str) and Api.conversations in impls:
            request = ListItemsRequest(conversation_id=conversation, order="desc")
            return list((await impls[Api.conversations].list_items(request)).data)
    except Exception:  # noqa: BLE001 - an unknown response or conversation is llama-stack's to answer
        return []
    return []


async def _requests(impls: dict[Any, Any], body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The approval requests the request answers, by id: given in its input (as a client of a
    conversation sends them, for llama-stack to match), or stored where it continues from."""
    given = [i for i in body.get("input") or [] if isinstance(i, dict)]
    found = {str(i["id"]): i for i in given if i.get("type") == "mcp_approval_request" and "id" in i}
    if all(str(d.get("approval_request_id")) in found for d in denials(body)):
        return found  # all given: no need to read where the request continues from
    for data in map(_as_dict, await _stored(impls, body)):
        if data.get("type") == "mcp_approval_request":
            found.setdefault(str(data["id"]), data)
    return found


def _sentence(request: dict[str, Any] | None, denial: dict[str, Any]) -> str:
    reason = str(denial.get("reason") or "").strip()
    if request is None:
        call = f"the tool call that waited for approval ({denial.get('approval_request_id')})"
    else:
        call = f"{request['name']}({request.get('arguments') or ''}) on {request.get('server_label')}"
    return (
        f"The user denied {call}"
        + (f", saying: {json.dumps(reason)}" if reason else "")
        + ". It was not run. Do not call it again. Reply to the user in one sentence that it was not done, and why."
    )


async def tell_model(body: dict[str, Any], impls: dict[Any, Any]) -> dict[str, Any]:
    found = denials(body)
    if not found:
        return body
    requests = await _requests(impls, body)
    lines: list[str] = []
    denied: dict[Any, set[str]] = {}
    for denial in found:
        request = requests.get(str(denial.get("approval_request_id")))
        lines.append(_sentence(request, denial))
        if request is not None:
            denied.setdefault(request.get("server_label"), set()).add(request["name"])
    tools = [await _without(t, denied, impls) for t in body.get("tools") or []]
    note = {"type": "message", "role": "system", "content": "\n".join(lines)}
    return {**body, "tools": tools, "input": [*body["input"], note]}


async def _without(tool: Any, denied: dict[Any, set[str]], impls: dict[Any, Any]) -> Any:
    """The mcp tool with the denied tools taken off its allowed tools (when its tool names are known)."""
    from herd.distribution.own_tools import SCHEME, tool_names

    if not isinstance(tool, dict) or tool.get("type") != "mcp" or tool.get("server_label") not in denied:
        return tool
    allowed = tool.get("allowed_tools")
    url = str(tool.get("server_url", ""))
    if not isinstance(allowed, list) and url.startswith(SCHEME):
        allowed = await tool_names(impls, url[len(SCHEME) :])
    if not isinstance(allowed, list):
        return tool  # another server's tool names are not known here: the system message alone tells the model
    return {**tool, "allowed_tools": [n for n in allowed if n not in denied[tool["server_label"]]]}
