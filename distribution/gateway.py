"""Agents by name and the privacy policy, applied to requests before llama-stack sees them.

- ``POST /v1/responses`` with ``model: "agent:NAME"`` becomes the agent's request:
  its instructions, tools (vector stores named or by id), shields (``shield_policy``),
  turn limit, output schema and temperature, on the model its routing policy
  picks. ``metadata.herd_route`` records the choice and why.
- Requests to a composed model ask for reasoning, so the vision stage's report
  shows as a reasoning item, and ``metadata.herd_vision`` says what read the images.
- Inference requests that name a model directly go through the server-wide policy
  (``herd.privacy`` in the run config).
- A ``file_search`` tool that sets no ``max_num_results`` gets an agent's default (5, where
  OpenAI's is 10): ten 400-token chunks, searched more than once in a turn, overflow the
  default model's 8K context.
- A response request whose ``input`` holds no message, with no instructions, previous
  response, prompt or conversation, is refused (400): llama-stack answers it 500.
- ``GET /v1/herd/agents`` lists the agents.
"""

from typing import Any

from herd.apps.agents.library import get_agent
from herd.apps.agents.spec import AgentSpec, FileSearchTool, McpTool
from herd.distribution import own_tools, privacy
from herd.distribution.keys import AuthSettings
from herd.distribution.request_limits import RequestLimits
from herd.distribution.shield_policy import ShieldPolicy, combine
from herd.distribution.templates import COMPOSE_TYPE
from herd.errors import InvalidRequest

AGENT_PREFIX = "agent:"
FILE_SEARCH_RESULTS: int = FileSearchTool.model_fields["max_num_results"].default
# Input items llama-stack keeps out of the model's messages (its responses/utils.py,
# convert_response_input_to_chat_messages), and the fields that bring messages of their own.
SILENT_ITEMS = frozenset(
    {
        "reasoning",
        "web_search_call",
        "file_search_call",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
    }
)
CONTEXT_FIELDS = ("instructions", "previous_response_id", "prompt", "conversation")


class Gateway:
    def __init__(self, run_config: dict[str, Any], agents: dict[str, AgentSpec], stack_impls: Any) -> None:
        self.agents = agents
        self.impls = stack_impls
        herd = run_config.get("herd") or {}
        self.server_policy = privacy.ServerPrivacy.model_validate(herd.get("privacy") or {})
        self.shields = ShieldPolicy.model_validate(herd.get("shields") or {})
        self.auth = AuthSettings.model_validate(herd.get("auth") or {})
        self.limits = RequestLimits.model_validate(herd.get("limits") or {})
        self.providers: dict[str, tuple[str, dict[str, Any]]] = {}
        self.composed: dict[str, dict[str, Any]] = {}
        for entries in (run_config.get("providers") or {}).values():
            for p in entries:
                self.providers[p["provider_id"]] = (p["provider_type"], p.get("config") or {})
                if p["provider_type"] == COMPOSE_TYPE:
                    models = (p.get("config") or {}).get("models", [])
                    self.composed.update({f"{p['provider_id']}/{m['id']}": m for m in models})

    # -- where models live -----------------------------------------------------

    async def place(self, model_id: str) -> privacy.Place | None:
        from llama_stack_api import Api

        table = self.impls[Api.inference].routing_table
        model = await table.get_object_by_identifier("model", model_id)
        if model is None:
            return None
        provider_type, config = self.providers.get(model.provider_id, ("remote::unknown", {}))
        local, why = privacy.provider_locality(provider_type, config)
        if model_id in self.composed:
            local, why = await self._composed_locality(self.composed[model_id])
        if model.provider_id in self.server_policy.local_providers:
            local, why = True, f"provider '{model.provider_id}' is listed as local"
        if model.provider_id in self.server_policy.remote_providers:
            local, why = False, f"provider '{model.provider_id}' is listed as remote"
        return privacy.Place(model_id, model.provider_id, local, why)

    async def _composed_locality(self, composed: dict[str, Any]) -> tuple[bool, str]:
        vision = composed.get("vision") or {}
        if vision.get("kind", "ocr") == "ocr":
            vision_local, vision_why = True, "OCR runs in the server's process"
        else:
            url = vision.get("url") or ("http://localhost:11434/v1" if vision.get("kind") == "ollama" else "")
            vision_local, vision_why = privacy.provider_locality("remote::vision", {"url": url})
        reasoner = await self.place(composed["reasoner"])
        if reasoner is None:
            return False, f"its reasoner '{composed['reasoner']}' is not served"
        local = vision_local and reasoner.local
        return local, f"vision stage {vision_why}; reasoner {reasoner.why}"

    async def _route(self, policy: privacy.ContentRules, candidates: list[str], traits: privacy.Traits) -> Any:
        places = {m: await self.place(m) for m in candidates}
        return privacy.choose(policy, candidates, places, traits)

    # -- rewriting -------------------------------------------------------------

    async def rewrite(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        _require_tool_list(body)
        body = await self._rewrite(path, body)
        if path == "/v1/responses":
            _require_input(body)
        return body

    async def _rewrite(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        model = body.get("model")
        if not isinstance(model, str):
            return body  # llama-stack's own validation answers
        if model.startswith(AGENT_PREFIX):
            if path != "/v1/responses":
                raise InvalidRequest(
                    f"agents run through the Responses API; send model '{model}' to /v1/responses "
                    "(client.responses.create, or llama-stack-client's Agent)"
                )
            return await self._agent_request(get_agent(model[len(AGENT_PREFIX) :], self.agents), body)
        place = await self.place(model)
        if place is None:
            return body  # llama-stack answers unknown models itself
        route = privacy.choose(self.server_policy, [model], {model: place}, request_traits(body, []))
        if path == "/v1/responses":
            _default_file_search_results(body)
            self._mark_composed(body, model)
            _add_metadata(body, {"herd_route": route.why})
        return body

    async def _agent_request(self, spec: AgentSpec, body: dict[str, Any]) -> dict[str, Any]:
        _default_file_search_results(body)
        tools = [await self._tool(t) for t in spec.tools]
        traits = request_traits(body, spec.tools)
        route = await self._route(privacy.within(self.server_policy, spec.routing), spec.candidates, traits)
        body["model"] = route.model
        body["instructions"] = "\n\n".join(filter(None, [spec.instructions, body.get("instructions")]))
        body["tools"] = [*tools, *(body.get("tools") or [])]
        body.setdefault("max_infer_iters", spec.max_turns)
        if body["tools"] and spec.tool_choice != "auto":
            body.setdefault("tool_choice", spec.tool_choice)
        if spec.temperature is not None:
            body.setdefault("temperature", spec.temperature)
        if spec.output_schema and not body.get("text"):
            schema = {"type": "json_schema", "name": spec.name.replace("-", "_"), "schema": spec.output_schema}
            body["text"] = {"format": schema}
        self._mark_composed(body, route.model)
        _add_metadata(body, {"herd_agent": spec.name, "herd_route": route.why})
        return body

    def _mark_composed(self, body: dict[str, Any], model: str) -> None:
        composed = self.composed.get(model)
        if composed is None:
            return
        body.setdefault("reasoning", {"effort": "low"})
        kind = (composed.get("vision") or {}).get("kind", "ocr")
        note = (
            "ocr: no vision model; images are read by OCR and metadata only, their content is not seen"
            if kind == "ocr"
            else f"{kind}: a vision model describes the images"
        )
        _add_metadata(body, {"herd_vision": note})

    async def _tool(self, tool: Any) -> dict[str, Any]:
        if isinstance(tool, FileSearchTool):
            ids = [await self._vector_store_id(name) for name in tool.vector_stores]
            return {"type": "file_search", "vector_store_ids": ids, "max_num_results": tool.max_num_results}
        if isinstance(tool, McpTool):
            out: dict[str, Any] = {"type": "mcp", "server_label": tool.server_label, "server_url": tool.server_url}
            if tool.allowed_tools is not None:
                out["allowed_tools"] = tool.allowed_tools
            if not tool.server_url.startswith(own_tools.SCHEME):
                out["require_approval"] = "never"  # Herd's own tools say which of them need approval
            return out
        return tool.model_dump()

    async def _vector_store_id(self, name: str) -> str:
        from llama_stack_api import Api

        stores = await self.impls[Api.vector_io].openai_list_vector_stores(limit=100)
        for store in stores.data:
            if name in (store.id, store.name):
                return str(store.id)
        raise InvalidRequest(
            f"the agent searches vector store '{name}', which does not exist; create it "
            "(client.vector_stores.create(name=...)) or fix the agent's file_search tool"
        )

    def shield_policy(self, body: dict[str, Any]) -> ShieldPolicy:
        """The shields of one (rewritten) request: the server's, its agent's, its own ``guardrails``.

        Herd runs a request's ``guardrails`` itself, on sentence boundaries, so they are
        taken out of the body: llama-stack would re-check the whole reply at every chunk.
        """
        agent = self.agents.get(str((body.get("metadata") or {}).get("herd_agent")))
        guardrails = [g if isinstance(g, str) else str(g.get("type")) for g in body.pop("guardrails", None) or []]
        return combine(self.shields, agent.shield_policy if agent else None, guardrails)

    def listing(self) -> list[dict[str, Any]]:
        return [agent_summary(spec) for spec in sorted(self.agents.values(), key=lambda s: s.name)]


def agent_summary(spec: AgentSpec) -> dict[str, Any]:
    return {
        "id": f"{AGENT_PREFIX}{spec.name}",
        "name": spec.name,
        "description": spec.description,
        "model": spec.model,
        "fallbacks": spec.routing.fallbacks,
        "policy": spec.routing.policy,
        "tools": [t.type if not isinstance(t, McpTool) else f"mcp:{t.server_label}" for t in spec.tools],
        "shields": spec.shield_policy.model_dump(exclude_defaults=True),
        "max_turns": spec.max_turns,
        "structured_output": spec.output_schema is not None,
    }


def request_traits(body: dict[str, Any], agent_tools: list[Any]) -> privacy.Traits:
    has_images, has_files = _scan_content(body.get("input") if "input" in body else body.get("messages"))
    names = [t.type if not isinstance(t, McpTool) else t.server_label for t in agent_tools]
    names += [t.get("name") or t.get("type") or "" for t in body.get("tools") or [] if isinstance(t, dict)]
    uses_files = has_files or any(isinstance(t, FileSearchTool) for t in agent_tools) or "file_search" in names
    return privacy.Traits(has_images=has_images, uses_files=uses_files, tools=names)


def _scan_content(value: Any) -> tuple[bool, bool]:
    """(images?, files?) anywhere in a request's input or messages."""
    images = files = False
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            kind = item.get("type")
            images |= kind in ("input_image", "image_url")
            files |= kind in ("input_file", "file")
            stack.extend(v for v in item.values() if isinstance(v, list | dict))
    return images, files


def _add_metadata(body: dict[str, Any], values: dict[str, str]) -> None:
    metadata = dict(body.get("metadata") or {})
    metadata.update({k: v[:512] for k, v in values.items()})
    body["metadata"] = metadata


def _require_tool_list(body: dict[str, Any]) -> None:
    # Herd reads `tools` (here, and for code_interpreter, own tools, citations) before llama-stack
    # validates the body; `tools: true` would fail there as a TypeError, a 500.
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise InvalidRequest(
            f"tools must be a list of tool objects, not {type(tools).__name__}. The request schemas are at /docs"
        )


def _require_input(body: dict[str, Any]) -> None:
    # llama-stack builds the model's messages from these; with none of them it fails building
    # an empty chat request and answers 500 "An unexpected error occurred".
    items = body.get("input")
    if not isinstance(items, list) or any(body.get(key) for key in CONTEXT_FIELDS):
        return
    if all(isinstance(item, dict) and item.get("type") in SILENT_ITEMS for item in items):
        raise InvalidRequest(
            "input holds no message for the model to answer (it is empty, or has only reasoning, search-call "
            "or MCP list/approval items) and there are no instructions: send at least one message "
            "(or a string as input), or instructions"
        )


def _default_file_search_results(body: dict[str, Any]) -> None:
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") == "file_search":
            tool.setdefault("max_num_results", FILE_SEARCH_RESULTS)
