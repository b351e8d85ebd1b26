"""The gateway's rewriting of requests, on a fake stack: agents by name, composed models, the server policy."""

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest
from llama_stack_api import Api

from herd.apps.agents.spec import AgentSpec
from herd.distribution import templates
from herd.distribution.gateway import Gateway, agent_summary, request_traits
from herd.errors import InvalidRequest, ModelNotAvailable, PolicyRefused

CHAT = "herd/qwen2.5-coder-1.5b-instruct"
COMPOSED = "compose/vision-composed"
FAR = "far/big-model"
ASK = [{"role": "user", "content": [{"type": "input_text", "text": "hello"}]}]


@dataclass
class FakeModel:
    provider_id: str
    provider_resource_id: str


@dataclass
class FakeRoutingTable:
    models: dict[str, FakeModel]

    async def get_object_by_identifier(self, kind: str, identifier: str) -> FakeModel | None:
        assert kind == "model"
        return self.models.get(identifier)


@dataclass
class FakeInference:
    routing_table: FakeRoutingTable


@dataclass
class FakeStore:
    id: str
    name: str


@dataclass
class FakeStoreList:
    data: list[FakeStore]


@dataclass
class FakeVectorIO:
    stores: list[FakeStore]
    limits: list[int] = field(default_factory=list)

    async def openai_list_vector_stores(self, limit: int = 20) -> FakeStoreList:
        self.limits.append(limit)
        return FakeStoreList(list(self.stores))


def run_config(privacy: dict[str, Any] | None = None, vision: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    config = templates.embedded()
    inference = config["providers"]["inference"]
    compose = next(p for p in inference if p["provider_type"] == templates.COMPOSE_TYPE)
    compose["config"]["models"].extend(vision or [])
    inference.append(
        {"provider_id": "far", "provider_type": "remote::openai", "config": {"base_url": "https://api.example.com/v1"}}
    )
    if privacy is not None:
        config["herd"] = {"privacy": privacy}
    return config


def models(*extra: tuple[str, str, str]) -> dict[str, FakeModel]:
    table = {
        CHAT: FakeModel("herd", "qwen2.5-coder-1.5b-instruct"),
        COMPOSED: FakeModel("compose", "vision-composed"),
        FAR: FakeModel("far", "big-model"),
    }
    table.update({model: FakeModel(provider, resource) for model, provider, resource in extra})
    return table


def agent(name: str = "helper", **fields: Any) -> AgentSpec:
    return AgentSpec.model_validate({"name": name, "instructions": "You are the helper.", "model": CHAT, **fields})


def gateway(
    agents: list[AgentSpec] | None = None,
    config: dict[str, Any] | None = None,
    table: dict[str, FakeModel] | None = None,
    stores: list[FakeStore] | None = None,
) -> Gateway:
    impls = {
        Api.inference: FakeInference(FakeRoutingTable(models() if table is None else table)),
        Api.vector_io: FakeVectorIO(list(stores or [])),
    }
    return Gateway(config or run_config(), {a.name: a for a in agents or []}, impls)


async def respond(gw: Gateway, model: str, **body: Any) -> dict[str, Any]:
    return await gw.rewrite("/v1/responses", {"model": model, "input": ASK, **body})


# -- agents by name ----------------------------------------------------------------------


async def test_an_agent_request_gets_its_instructions_before_the_requests_own() -> None:
    gw = gateway([agent()])
    body = await respond(gw, "agent:helper", instructions="Answer in French.")
    assert body["model"] == CHAT
    assert body["instructions"] == "You are the helper.\n\nAnswer in French."
    assert (await respond(gw, "agent:helper"))["instructions"] == "You are the helper."
    assert body["input"] == ASK


async def test_file_search_stores_are_resolved_by_name_or_id() -> None:
    tools = [{"type": "file_search", "vector_stores": ["handbook", "vs_2"], "max_num_results": 3}]
    stores = [FakeStore("vs_1", "handbook"), FakeStore("vs_2", "policies")]
    gw = gateway([agent(tools=tools)], stores=stores)
    own_tool = {"type": "function", "name": "lookup", "parameters": {}}
    body = await respond(gw, "agent:helper", tools=[own_tool])
    assert body["tools"] == [
        {"type": "file_search", "vector_store_ids": ["vs_1", "vs_2"], "max_num_results": 3},
        own_tool,
    ]


async def test_a_file_search_tool_without_a_result_count_gets_five_and_a_set_one_is_kept() -> None:
    gw = gateway([agent()])
    searches = [
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "file_search", "vector_store_ids": ["vs_2"], "max_num_results": 9},
    ]
    for model in (CHAT, "agent:helper"):
        body = await respond(gw, model, tools=copy.deepcopy(searches))
        counts = [t["max_num_results"] for t in body["tools"] if t["type"] == "file_search"]
        assert counts == [5, 9]


async def test_an_unknown_vector_store_is_an_invalid_request_saying_how_to_fix_it() -> None:
    gw = gateway([agent(tools=[{"type": "file_search", "vector_stores": ["missing"]}])], stores=[FakeStore("a", "b")])
    with pytest.raises(InvalidRequest) as caught:
        await respond(gw, "agent:helper")
    assert "'missing'" in str(caught.value) and "vector_stores.create" in str(caught.value)


async def test_mcp_tools_never_ask_for_approval_and_keep_their_allowed_tools() -> None:
    tools = [
        {"type": "mcp", "server_label": "office", "server_url": "http://127.0.0.1:9/mcp", "allowed_tools": ["a"]},
        {"type": "mcp", "server_label": "all", "server_url": "http://127.0.0.1:9/sse"},
        {"type": "web_search"},
    ]
    body = await respond(gateway([agent(tools=tools)]), "agent:helper")
    assert body["tools"] == [
        {
            "type": "mcp",
            "server_label": "office",
            "server_url": "http://127.0.0.1:9/mcp",
            "allowed_tools": ["a"],
            "require_approval": "never",
        },
        {"type": "mcp", "server_label": "all", "server_url": "http://127.0.0.1:9/sse", "require_approval": "never"},
        {"type": "web_search"},
    ]
    assert "tool_choice" not in body  # "auto" is the server's default: not sent


async def test_tool_choice_required_is_sent_only_with_tools() -> None:
    tools = [{"type": "web_search"}]
    gw = gateway([agent("with-tools", tools=tools, tool_choice="required"), agent("bare", tool_choice="required")])
    assert (await respond(gw, "agent:with-tools"))["tool_choice"] == "required"
    assert (await respond(gw, "agent:with-tools", tool_choice="none"))["tool_choice"] == "none"
    assert "tool_choice" not in await respond(gw, "agent:bare")


async def test_an_agents_shields_and_the_requests_guardrails_join_the_servers_policy() -> None:
    gw = gateway([agent(shields=["llama-guard"]), agent("plain")])
    body = await respond(gw, "agent:helper", guardrails=["mine", {"type": "other"}])
    policy = gw.shield_policy(body)
    assert "guardrails" not in body  # Herd runs them; llama-stack would re-check every chunk
    assert policy.input == ["prompt-guard", "llama-guard", "mine", "other"]
    assert policy.output == ["llama-guard", "mine", "other"] and policy.tool_results == ["prompt-guard"]
    plain = gw.shield_policy(await respond(gw, "agent:plain"))
    assert plain.input == ["prompt-guard"] and plain.output == []


async def test_turns_and_temperature_are_defaults_the_request_may_override() -> None:
    gw = gateway([agent(max_turns=7, temperature=0.3), agent("free")])
    body = await respond(gw, "agent:helper")
    assert body["max_infer_iters"] == 7 and body["temperature"] == 0.3
    body = await respond(gw, "agent:helper", max_infer_iters=2, temperature=0.9)
    assert body["max_infer_iters"] == 2 and body["temperature"] == 0.9
    assert "temperature" not in await respond(gw, "agent:free")


async def test_an_output_schema_becomes_a_json_schema_text_format() -> None:
    schema = {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}
    gw = gateway([agent("calendar-invite", output_schema=schema)])
    body = await respond(gw, "agent:calendar-invite")
    assert body["text"] == {"format": {"type": "json_schema", "name": "calendar_invite", "schema": schema}}
    own = {"format": {"type": "text"}}
    assert (await respond(gw, "agent:calendar-invite", text=own))["text"] == own


async def test_metadata_names_the_agent_and_the_route_keeping_the_requests_own() -> None:
    body = await respond(gateway([agent(routing={"policy": "local-only"})]), "agent:helper", metadata={"ticket": "7"})
    metadata = body["metadata"]
    assert metadata["ticket"] == "7" and metadata["herd_agent"] == "helper"
    assert metadata["herd_route"].startswith(f"local-only: '{CHAT}' (local: runs in the server's process)")


async def test_prefer_local_agent_runs_on_its_local_fallback() -> None:
    spec = agent(model=FAR, routing={"policy": "prefer-local", "fallbacks": [CHAT]})
    body = await respond(gateway([spec]), "agent:helper")
    assert body["model"] == CHAT
    assert "passed over" in body["metadata"]["herd_route"] and FAR in body["metadata"]["herd_route"]


async def test_local_only_agent_refuses_its_remote_model() -> None:
    gw = gateway([agent(model=FAR, routing={"policy": "local-only"})])
    with pytest.raises(PolicyRefused) as caught:
        await respond(gw, "agent:helper")
    assert FAR in str(caught.value) and "api.example.com" in str(caught.value)


async def test_agents_do_not_run_through_chat_completions() -> None:
    gw = gateway([agent()])
    with pytest.raises(InvalidRequest, match="/v1/responses"):
        await gw.rewrite("/v1/chat/completions", {"model": "agent:helper", "messages": []})


async def test_an_unknown_agent_is_model_not_available() -> None:
    with pytest.raises(ModelNotAvailable, match="'nobody'"):
        await respond(gateway([agent()]), "agent:nobody")


# -- composed models ------------------------------------------------------------------------


async def test_a_composed_model_asks_for_reasoning_and_says_ocr_does_not_see_images() -> None:
    body = await respond(gateway(), COMPOSED)
    assert body["reasoning"] == {"effort": "low"}
    vision = body["metadata"]["herd_vision"]
    assert vision.startswith("ocr:") and "content is not seen" in vision
    assert body["metadata"]["herd_route"].startswith(f"allow-remote: '{COMPOSED}' (local")
    assert (await respond(gateway(), COMPOSED, reasoning={"effort": "high"}))["reasoning"] == {"effort": "high"}


async def test_an_agent_on_a_composed_model_is_marked_too() -> None:
    body = await respond(gateway([agent("reader", model=COMPOSED)]), "agent:reader")
    assert body["model"] == COMPOSED and body["reasoning"] == {"effort": "low"}
    assert body["metadata"]["herd_agent"] == "reader" and "herd_vision" in body["metadata"]


async def test_a_composed_model_is_not_marked_on_chat_completions() -> None:
    body = {"model": COMPOSED, "messages": [{"role": "user", "content": "hi"}]}
    assert await gateway().rewrite("/v1/chat/completions", copy.deepcopy(body)) == body


@pytest.mark.parametrize(
    ("vision", "reasoner", "local", "said"),
    [
        ({"kind": "ocr"}, CHAT, True, "OCR runs in the server's process"),
        ({"kind": "openai", "url": "http://127.0.0.1:8000/v1", "model": "v"}, CHAT, True, "127.0.0.1 is this machine"),
        ({"kind": "ollama", "model": "llava"}, CHAT, True, "localhost is this machine"),
        ({"kind": "openai", "url": "https://vision.example.com/v1", "model": "v"}, CHAT, False, "vision.example.com"),
        ({"kind": "ocr"}, FAR, False, "api.example.com"),
        ({"kind": "ocr"}, "herd/not-served", False, "'herd/not-served' is not served"),
    ],
)
async def test_composed_model_locality(vision: dict, reasoner: str, local: bool, said: str) -> None:
    config = run_config(vision=[{"id": "custom", "reasoner": reasoner, "vision": vision}])
    gw = gateway(config=config, table=models(("compose/custom", "compose", "custom")))
    place = await gw.place("compose/custom")
    assert place is not None
    assert place.local is local
    assert said in place.why


async def test_a_vision_model_stage_is_described_as_such() -> None:
    vision = {"kind": "openai", "url": "http://127.0.0.1:8000/v1", "model": "v"}
    config = run_config(vision=[{"id": "custom", "reasoner": CHAT, "vision": vision}])
    gw = gateway(config=config, table=models(("compose/custom", "compose", "custom")))
    body = await respond(gw, "compose/custom")
    assert body["metadata"]["herd_vision"] == "openai: a vision model describes the images"


async def test_images_may_not_reach_a_composed_model_with_a_remote_vision_stage() -> None:
    vision = {"kind": "openai", "url": "https://vision.example.com/v1", "model": "v"}
    config = run_config({"images_remote": False}, vision=[{"id": "custom", "reasoner": CHAT, "vision": vision}])
    gw = gateway(config=config, table=models(("compose/custom", "compose", "custom")))
    image = [{"role": "user", "content": [{"type": "input_image", "image_url": "data:image/png;base64,AA=="}]}]
    with pytest.raises(PolicyRefused, match="images may not leave this machine"):
        await gw.rewrite("/v1/responses", {"model": "compose/custom", "input": image})
    assert (await respond(gw, COMPOSED, input=image))["model"] == COMPOSED


# -- the server-wide policy and plain models ------------------------------------------------------


async def test_server_local_only_refuses_a_remote_provider_on_both_apis() -> None:
    gw = gateway(config=run_config({"policy": "local-only"}))
    for path, body in (
        ("/v1/responses", {"model": FAR, "input": "hi"}),
        ("/v1/chat/completions", {"model": FAR, "messages": [{"role": "user", "content": "hi"}]}),
    ):
        with pytest.raises(PolicyRefused) as caught:
            await gw.rewrite(path, body)
        assert FAR in str(caught.value) and "local-only" in str(caught.value)
    assert (await respond(gw, CHAT))["model"] == CHAT


async def test_providers_can_be_declared_local_or_remote() -> None:
    policy = {"policy": "local-only", "local_providers": ["far"], "remote_providers": ["herd"]}
    gw = gateway(config=run_config(policy))
    far = await gw.place(FAR)
    assert far is not None and far.local and "provider 'far' is listed as local" in far.why
    assert (await respond(gw, FAR))["model"] == FAR
    with pytest.raises(PolicyRefused, match="provider 'herd' is listed as remote"):
        await respond(gw, CHAT)


async def test_an_agent_cannot_loosen_the_server_policy() -> None:
    gw = gateway([agent(model=FAR, routing={"policy": "allow-remote"})], config=run_config({"policy": "local-only"}))
    with pytest.raises(PolicyRefused):
        await respond(gw, "agent:helper")


async def test_a_plain_model_on_responses_gets_its_route_and_on_chat_nothing() -> None:
    gw = gateway()
    body = await respond(gw, FAR, metadata={"a": "b"})
    assert body["metadata"] == {
        "a": "b",
        "herd_route": f"allow-remote: '{FAR}' (remote: sends requests to api.example.com)",
    }
    assert "reasoning" not in body
    chat = {"model": FAR, "messages": [{"role": "user", "content": "hi"}]}
    assert await gw.rewrite("/v1/chat/completions", copy.deepcopy(chat)) == chat


@pytest.mark.parametrize(
    "body",
    [
        {"model": "nobody/knows", "input": "hi", "tools": [{"type": "file_search"}]},
        {"model": None, "input": "hi"},
        {"input": "hi"},
        {"model": 3, "messages": []},
    ],
)
async def test_unknown_or_malformed_models_pass_through_untouched(body: dict) -> None:
    gw = gateway(config=run_config({"policy": "local-only"}))
    sent = copy.deepcopy(body)
    assert await gw.rewrite("/v1/responses", sent) is sent
    assert sent == body


# -- request traits --------------------------------------------------------------------------------


def test_request_traits_find_images_files_and_tools() -> None:
    image = {"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:..."}]}]}
    assert request_traits(image, []).has_images
    nested = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}
    assert request_traits(nested, []).has_images
    document = {"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]}
    traits = request_traits(document, [])
    assert traits.uses_files and not traits.has_images
    searched = request_traits({"input": "q", "tools": [{"type": "file_search", "vector_store_ids": ["v"]}]}, [])
    assert searched.uses_files and searched.tools == ["file_search"]
    plain = request_traits({"input": "just text", "tools": [{"type": "function", "name": "lookup"}]}, [])
    assert not plain.has_images and not plain.uses_files and plain.tools == ["lookup"]


def test_request_traits_count_the_agents_tools() -> None:
    spec = agent(
        tools=[
            {"type": "file_search", "vector_stores": ["handbook"]},
            {"type": "mcp", "server_label": "crm", "server_url": "http://127.0.0.1:9/mcp"},
        ]
    )
    traits = request_traits({"input": "q"}, spec.tools)
    assert traits.uses_files and traits.tools == ["file_search", "crm"]


async def test_an_agents_local_only_tool_keeps_it_off_a_remote_model() -> None:
    tools = [{"type": "mcp", "server_label": "crm", "server_url": "http://127.0.0.1:9/mcp"}]
    routing = {"policy": "allow-remote", "local_only_tools": ["crm"], "fallbacks": [CHAT]}
    body = await respond(gateway([agent(model=FAR, tools=tools, routing=routing)]), "agent:helper")
    assert body["model"] == CHAT
    assert "tools ['crm'] keep requests local" in body["metadata"]["herd_route"]


def test_the_listing_summarises_agents_in_name_order() -> None:
    tools = [{"type": "mcp", "server_label": "crm", "server_url": "http://x/mcp"}, {"type": "web_search"}]
    gw = gateway([agent("zed"), agent("alpha", tools=tools, output_schema={"type": "object"})])
    listing = gw.listing()
    assert [a["id"] for a in listing] == ["agent:alpha", "agent:zed"]
    assert listing[0]["tools"] == ["mcp:crm", "web_search"] and listing[0]["structured_output"] is True
    assert agent_summary(agent())["policy"] == "prefer-local"
