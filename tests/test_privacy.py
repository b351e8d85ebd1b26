"""The privacy router on its own: where providers live, and which candidate a policy picks and why."""

import pytest

from herd.apps.agents.spec import ContentRules
from herd.distribution.privacy import Place, ServerPrivacy, Traits, choose, provider_locality, within
from herd.errors import ModelNotAvailable, PolicyRefused

LOCAL = Place("herd/small", "herd", True, "runs in the server's process")
OTHER_LOCAL = Place("herd/other", "herd", True, "runs in the server's process")
REMOTE = Place("far/big", "far", False, "sends requests to api.example.com")
PLACES: dict[str, Place | None] = {p.model: p for p in (LOCAL, OTHER_LOCAL, REMOTE)}


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://localhost:11434/v1", "localhost"),
        ("http://127.0.0.1:8000/v1", "127.0.0.1"),
        ("http://127.0.0.5:8000", "127.0.0.5"),
        ("http://[::1]:8080/v1", "::1"),
        ("http://localhost.localdomain", "localhost.localdomain"),
    ],
)
def test_loopback_servers_are_local(url: str, host: str) -> None:
    local, why = provider_locality("remote::vllm", {"base_url": url})
    assert local is True
    assert host in why and "this machine" in why


@pytest.mark.parametrize(
    "url",
    ["https://api.openai.com/v1", "http://10.0.0.5:8000", "http://192.168.1.20:11434", "http://[2001:db8::1]:80"],
)
def test_other_hosts_are_remote(url: str) -> None:
    local, why = provider_locality("remote::openai", {"base_url": url})
    assert local is False
    assert why.startswith("sends requests to ")
    assert url.split("//")[1].split(":")[0].strip("[]").split("/")[0] in why


def test_inline_providers_are_local_whatever_their_config() -> None:
    assert provider_locality("inline::herd-embedded", {"url": "https://api.example.com"}) == (
        True,
        "runs in the server's process",
    )


@pytest.mark.parametrize("key", ["base_url", "url", "api_base", "endpoint"])
def test_every_url_key_is_read(key: str) -> None:
    assert provider_locality("remote::x", {key: "http://127.0.0.1:1"})[0] is True
    assert provider_locality("remote::x", {key: "https://example.com"})[0] is False


def test_a_remote_provider_without_a_url_is_remote() -> None:
    local, why = provider_locality("remote::bedrock", {"region": "eu-west-1", "base_url": None})
    assert local is False
    assert "a remote service" in why


def test_the_first_url_key_wins() -> None:
    config = {"base_url": "https://api.example.com", "url": "http://localhost:1"}
    assert provider_locality("remote::x", config)[0] is False


def test_local_only_refuses_a_remote_model_naming_it_and_the_reason() -> None:
    with pytest.raises(PolicyRefused) as caught:
        choose(ContentRules(policy="local-only"), [REMOTE.model], PLACES, Traits())
    assert caught.value.status_code == 403
    message = str(caught.value)
    assert "'far/big'" in message and "local-only" in message and "api.example.com" in message
    assert "relax" in message  # says how to fix it


def test_local_only_takes_the_local_fallback() -> None:
    route = choose(ContentRules(policy="local-only"), [REMOTE.model, LOCAL.model], PLACES, Traits())
    assert route.model == LOCAL.model
    assert route.why.startswith("local-only: 'herd/small' (local: runs in the server's process)")
    assert "passed over: 'far/big' is remote" in route.why


def test_prefer_local_picks_a_later_local_model_and_says_what_it_passed_over() -> None:
    route = choose(ContentRules(policy="prefer-local"), [REMOTE.model, LOCAL.model], PLACES, Traits())
    assert route.model == LOCAL.model
    assert route.why.startswith("prefer-local: 'herd/small' (local")
    assert "passed over" in route.why and "'far/big'" in route.why


def test_prefer_local_keeps_candidate_order_among_local_models() -> None:
    candidates = [REMOTE.model, OTHER_LOCAL.model, LOCAL.model]
    assert choose(ContentRules(policy="prefer-local"), candidates, PLACES, Traits()).model == OTHER_LOCAL.model


def test_prefer_local_falls_back_to_remote_when_nothing_local_is_served() -> None:
    places = {**PLACES, LOCAL.model: None}
    route = choose(ContentRules(policy="prefer-local"), [LOCAL.model, REMOTE.model], places, Traits())
    assert route.model == REMOTE.model
    assert "(remote: sends requests to api.example.com)" in route.why
    assert "'herd/small' is not served by this distribution" in route.why


def test_allow_remote_keeps_candidate_order() -> None:
    policy = ContentRules(policy="allow-remote")
    assert choose(policy, [REMOTE.model, LOCAL.model], PLACES, Traits()).model == REMOTE.model
    assert choose(policy, [LOCAL.model, REMOTE.model], PLACES, Traits()).model == LOCAL.model


@pytest.mark.parametrize(
    ("traits", "rules", "reason"),
    [
        (Traits(has_images=True), {}, "images may not leave this machine"),
        (Traits(uses_files=True), {}, "file contents may not leave this machine"),
        (Traits(tools=["mcp", "crm"]), {"local_only_tools": ["crm"]}, "tools ['crm'] keep requests local"),
    ],
)
def test_content_rules_refuse_remote_models(traits: Traits, rules: dict, reason: str) -> None:
    policy = ContentRules(policy="allow-remote", **rules)
    with pytest.raises(PolicyRefused) as caught:
        choose(policy, [REMOTE.model], PLACES, traits)
    assert reason in str(caught.value) and "'far/big'" in str(caught.value)
    # The same content goes to a local model, and then the remote one is recorded as passed over.
    route = choose(policy, [REMOTE.model, LOCAL.model], PLACES, traits)
    assert route.model == LOCAL.model
    assert reason in route.why


@pytest.mark.parametrize(
    ("traits", "rules"),
    [
        (Traits(has_images=True), {"images_remote": True}),
        (Traits(uses_files=True), {"files_remote": True}),
        (Traits(tools=["mcp"]), {"local_only_tools": ["crm"]}),
    ],
)
def test_content_rules_that_allow_the_content_let_it_go_remote(traits: Traits, rules: dict) -> None:
    route = choose(ContentRules(policy="allow-remote", **rules), [REMOTE.model], PLACES, traits)
    assert route.model == REMOTE.model


def test_nothing_served_is_model_not_available_not_a_refusal() -> None:
    with pytest.raises(ModelNotAvailable) as caught:
        choose(ContentRules(policy="local-only"), ["nope/a", "nope/b"], {"nope/a": None}, Traits())
    assert caught.value.status_code == 404
    assert "nope/a" in str(caught.value) and "nope/b" in str(caught.value)
    assert "herd models list" in str(caught.value)


def test_a_refusal_lists_unserved_and_refused_candidates() -> None:
    with pytest.raises(PolicyRefused) as caught:
        choose(ContentRules(policy="local-only"), ["nope/a", REMOTE.model], PLACES, Traits())
    assert "'nope/a' is not served" in str(caught.value) and "'far/big' is remote" in str(caught.value)


def test_server_privacy_defaults_allow_everything() -> None:
    server = ServerPrivacy()
    assert server.policy == "allow-remote"
    assert server.images_remote is True and server.files_remote is True
    assert server.local_providers == [] and server.remote_providers == [] and server.local_only_tools == []
    route = choose(server, [REMOTE.model], PLACES, Traits(has_images=True, uses_files=True))
    assert route.model == REMOTE.model


def test_server_privacy_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="polcy"):
        ServerPrivacy.model_validate({"polcy": "local-only"})


def test_an_agent_cannot_loosen_the_server_policy() -> None:
    server = ServerPrivacy(policy="local-only", images_remote=False, local_only_tools=["crm"])
    agent = ContentRules(policy="allow-remote", images_remote=True, files_remote=True, local_only_tools=["mail"])
    bounded = within(server, agent)
    assert bounded.policy == "local-only"
    assert bounded.images_remote is False and bounded.files_remote is True
    assert bounded.local_only_tools == ["crm", "mail"]


@pytest.mark.parametrize(
    ("server", "agent", "expected"),
    [
        ("allow-remote", "prefer-local", "prefer-local"),
        ("allow-remote", "allow-remote", "allow-remote"),
        ("prefer-local", "allow-remote", "prefer-local"),
        ("prefer-local", "local-only", "local-only"),
        ("allow-remote", "local-only", "local-only"),
    ],
)
def test_the_stricter_policy_wins(server: str, agent: str, expected: str) -> None:
    assert within(ServerPrivacy(policy=server), ContentRules(policy=agent)).policy == expected  # type: ignore[arg-type]  # literals from parametrize
