"""Agent definitions: the schema, the built-in recipes, and the folders user definitions come from."""

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from herd.apps.agents.library import BUILTIN_DIR, agent_dirs, get_agent, load_agents, load_file
from herd.apps.agents.spec import AgentSpec, FileSearchTool, McpTool, WebSearchTool
from herd.distribution.templates import COMPOSE_TYPE, EMBEDDED_TYPE, embedded
from herd.errors import ConfigError, ModelNotAvailable

BUILTINS = {"analyst", "assistant", "calendar-invite", "chart-reader", "summarise-actions", "tone"}


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("HERD_HOME", str(home))
    monkeypatch.delenv("HERD_AGENTS_DIRS", raising=False)
    return home


def write(folder: Path, name: str, body: dict | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(body if isinstance(body, str) else yaml.safe_dump(body))
    return path


def minimal(**extra: object) -> dict:
    return {"instructions": "Be brief.", "model": "herd/some-model", **extra}


def served_by_default() -> set[str]:
    served = set()
    for provider in embedded()["providers"]["inference"]:
        if provider["provider_type"] == EMBEDDED_TYPE:
            served |= {f"herd/{m}" for m in provider["config"]["models"]}
        if provider["provider_type"] == COMPOSE_TYPE:
            served |= {f"compose/{m['id']}" for m in provider["config"]["models"]}
    return served


# -- the schema -----------------------------------------------------------------------


def test_a_minimal_agent_gets_the_documented_defaults() -> None:
    spec = AgentSpec.model_validate({"name": "helper", **minimal()})
    assert spec.tools == [] and spec.shields == [] and spec.output_schema is None
    assert spec.max_turns == 5 and spec.temperature is None and spec.tool_choice == "auto"
    assert spec.routing.policy == "prefer-local"
    assert spec.routing.images_remote is False and spec.routing.files_remote is False
    assert spec.routing.fallbacks == [] and spec.routing.local_only_tools == []


@pytest.mark.parametrize("name", ["a", "chart-reader", "v2", "0-day", "a" * 63])
def test_slug_names_are_accepted(name: str) -> None:
    assert AgentSpec.model_validate({"name": name, **minimal()}).name == name


@pytest.mark.parametrize("name", ["", "Chart", "-leading", "under_score", "with space", "dot.ted", "a" * 64, "é"])
def test_other_names_are_refused_with_an_example(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AgentSpec.model_validate({"name": name, **minimal()})
    assert "lowercase letters, digits and dashes" in str(caught.value)
    assert "chart-reader" in str(caught.value)


def test_candidates_are_the_model_then_fallbacks_without_repeats() -> None:
    routing = {"fallbacks": ["herd/b", "herd/a", "herd/c"]}
    spec = AgentSpec.model_validate({"name": "x", **minimal(model="herd/a", routing=routing)})
    assert spec.candidates == ["herd/a", "herd/b", "herd/c"]
    assert AgentSpec.model_validate({"name": "y", **minimal()}).candidates == ["herd/some-model"]


def test_tools_are_parsed_by_type() -> None:
    tools = [
        {"type": "file_search", "vector_stores": ["handbook"]},
        {"type": "mcp", "server_label": "office", "server_url": "http://127.0.0.1:9/mcp", "allowed_tools": ["a"]},
        {"type": "web_search"},
    ]
    spec = AgentSpec.model_validate({"name": "x", **minimal(tools=tools)})
    assert [type(t) for t in spec.tools] == [FileSearchTool, McpTool, WebSearchTool]
    assert isinstance(spec.tools[0], FileSearchTool) and spec.tools[0].max_num_results == 5
    assert isinstance(spec.tools[1], McpTool) and spec.tools[1].allowed_tools == ["a"]


@pytest.mark.parametrize(
    "change",
    [
        {"tools": [{"type": "file_search", "vector_stores": []}]},
        {"tools": [{"type": "file_search", "vector_stores": ["a"], "max_num_results": 0}]},
        {"tools": [{"type": "mcp", "server_label": "x"}]},
        {"tools": [{"type": "code_interpreter", "container": "cntr_1"}]},  # Herd keeps no containers
        {"max_turns": 0},
        {"max_turns": 51},
        {"temperature": 2.5},
        {"tool_choice": "always"},
        {"routing": {"policy": "anywhere"}},
        {"routing": {"fallback": ["herd/a"]}},
        {"instructions_": "typo"},
    ],
)
def test_bad_fields_are_refused(change: dict) -> None:
    with pytest.raises(ValidationError):
        AgentSpec.model_validate({"name": "x", **minimal(), **change})


@pytest.mark.parametrize("missing", ["instructions", "model"])
def test_instructions_and_model_are_required(missing: str) -> None:
    body = {"name": "x", **minimal()}
    del body[missing]
    with pytest.raises(ValidationError, match=missing):
        AgentSpec.model_validate(body)


# -- the built-ins ----------------------------------------------------------------------


def test_the_five_builtins_load() -> None:
    agents = load_agents()
    assert set(agents) == BUILTINS
    for name, spec in agents.items():
        assert spec.description and spec.instructions.strip(), name
        assert (BUILTIN_DIR / f"{name}.yaml").is_file()


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_each_builtin_names_models_the_default_distribution_serves(name: str) -> None:
    spec = load_file(BUILTIN_DIR / f"{name}.yaml")
    served = served_by_default()
    for model in spec.candidates:
        assert model in served, f"built-in agent '{name}' names {model}, which `embedded()` does not serve: {served}"


def test_the_structured_builtins_ask_for_what_their_recipes_read() -> None:
    agents = load_agents()
    invite = agents["calendar-invite"].output_schema or {}
    assert {"title", "start", "duration_minutes", "attendees"} <= set(invite["required"])
    summary = agents["summarise-actions"].output_schema or {}
    assert summary["required"] == ["summary", "action_items"]
    assert agents["assistant"].routing.policy == "local-only"
    assert agents["chart-reader"].model.startswith("compose/")


# -- folders -----------------------------------------------------------------------------


def test_folders_are_searched_builtin_home_env_then_extra(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERD_AGENTS_DIRS", "/env/one::/env/two")
    assert agent_dirs([Path("/extra")]) == [
        BUILTIN_DIR,
        isolated_home / "agents",
        Path("/env/one"),
        Path("/env/two"),
        Path("/extra"),
    ]


def test_a_user_definition_replaces_the_builtin_of_the_same_name(isolated_home: Path) -> None:
    write(isolated_home / "agents", "tone", minimal(instructions="Rewrite as a pirate."))
    agents = load_agents()
    assert set(agents) == BUILTINS
    assert agents["tone"].instructions == "Rewrite as a pirate."


def test_env_folders_and_extra_folders_add_agents_later_ones_winning(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(isolated_home / "agents", "mine", minimal(description="home"))
    one, two, extra = tmp_path / "one", tmp_path / "two", tmp_path / "extra"
    write(one, "mine", minimal(description="one"))
    write(one, "only-one", minimal())
    write(two, "mine", minimal(description="two"))
    write(extra, "extra-agent", minimal())
    (extra / "notes.txt").write_text("not: [an agent")
    monkeypatch.setenv("HERD_AGENTS_DIRS", f"{one}:{two}:{tmp_path / 'missing'}")
    agents = load_agents([extra])
    assert set(agents) == BUILTINS | {"mine", "only-one", "extra-agent"}
    assert agents["mine"].description == "two"
    write(extra, "mine", minimal(description="extra"))
    assert load_agents([extra])["mine"].description == "extra"


def test_the_name_defaults_to_the_file_name_and_a_given_name_wins(tmp_path: Path) -> None:
    assert load_file(write(tmp_path, "from-file", minimal())).name == "from-file"
    assert load_file(write(tmp_path, "other", {"name": "given", **minimal()})).name == "given"


def test_invalid_yaml_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "broken", "instructions: [unclosed\nmodel: x\n")
    with pytest.raises(ConfigError) as caught:
        load_file(path)
    assert str(path) in str(caught.value) and "cannot read" in str(caught.value)


@pytest.mark.parametrize("text", ["", "- a list\n- of things\n", "just a string\n"])
def test_a_definition_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "odd", text)
    with pytest.raises(ConfigError, match="must be a YAML mapping") as caught:
        load_file(path)
    assert str(path) in str(caught.value)


def test_an_invalid_field_is_a_config_error_naming_the_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, "bad", minimal(max_turns=0, routing={"policy": "anywhere"}))
    with pytest.raises(ConfigError) as caught:
        load_file(path)
    message = str(caught.value)
    assert str(path) in message and "is invalid" in message
    assert "max_turns:" in message and "routing.policy:" in message


def test_a_bad_user_file_stops_loading_with_its_name(isolated_home: Path) -> None:
    path = write(isolated_home / "agents", "typo", minimal(modle="herd/x"))
    with pytest.raises(ConfigError) as caught:
        load_agents()
    assert str(path) in str(caught.value) and "modle" in str(caught.value)


def test_an_unknown_agent_is_model_not_available_listing_the_known_ones() -> None:
    agents = load_agents()
    assert get_agent("tone", agents) is agents["tone"]
    with pytest.raises(ModelNotAvailable) as caught:
        get_agent("nobody", agents)
    message = str(caught.value)
    assert caught.value.status_code == 404
    assert "'nobody'" in message and "analyst, assistant, calendar-invite" in message and "herd agents list" in message
    with pytest.raises(ModelNotAvailable, match=r"known: none"):
        get_agent("nobody", {})
