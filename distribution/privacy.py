"""The privacy router: which provider may serve a request, and why.

Each model is *local* (served in-process, or by a server on this machine) or
*remote* (its provider sends data to another host). A policy picks, among an
ordered list of candidate models, the first one it allows for this request's
content, and says why; when none is allowed, the request fails with
``PolicyRefused`` (HTTP 403) before any data leaves.

Run configs may carry a ``herd.privacy`` section. It applies to requests that name
a model directly, and bounds agents' own policies (an agent can be stricter than
the server, never looser)::

    herd:
      privacy:
        policy: local-only          # or prefer-local, allow-remote (default)
        images_remote: true         # content rules, as in agent definitions
        files_remote: true
        local_providers: [gpu-box]  # a provider on another host you trust as local
        remote_providers: []        # a loopback provider that forwards elsewhere
"""

import ipaddress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from pydantic import Field

from herd.apps.agents.spec import ContentRules, PolicyMode
from herd.errors import ModelNotAvailable, PolicyRefused

_URL_KEYS = ("base_url", "url", "api_base", "endpoint")
_STRICTNESS: tuple[PolicyMode, ...] = ("allow-remote", "prefer-local", "local-only")


class ServerPrivacy(ContentRules):
    """The distribution-wide policy, for requests that name a model directly."""

    policy: PolicyMode = "allow-remote"
    images_remote: bool = True
    files_remote: bool = True
    local_providers: list[str] = Field(default_factory=list)
    remote_providers: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Place:
    model: str
    provider_id: str
    local: bool
    why: str


@dataclass
class Traits:
    """What a request carries that content rules look at."""

    has_images: bool = False
    uses_files: bool = False
    tools: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Route:
    model: str
    why: str


def _host_is_local(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def provider_locality(provider_type: str, config: dict[str, Any]) -> tuple[bool, str]:
    if provider_type.startswith("inline::"):
        return True, "runs in the server's process"
    url = next((str(config[k]) for k in _URL_KEYS if config.get(k)), "")
    host = urlparse(url).hostname or ""
    if host and _host_is_local(host):
        return True, f"its server {host} is this machine"
    return False, f"sends requests to {host or 'a remote service'}"


def within(server: ContentRules, agent: ContentRules) -> ContentRules:
    """An agent's rules bounded by the server's: the server's policy is a ceiling agents cannot lift."""
    return ContentRules(
        policy=max(server.policy, agent.policy, key=_STRICTNESS.index),
        images_remote=server.images_remote and agent.images_remote,
        files_remote=server.files_remote and agent.files_remote,
        local_only_tools=sorted({*server.local_only_tools, *agent.local_only_tools}),
    )


def _refusal(place: Place, policy: ContentRules, traits: Traits) -> str | None:
    """Why the policy forbids this place for this request, or None."""
    if place.local:
        return None
    if policy.policy == "local-only":
        return f"'{place.model}' is remote ({place.why}) and the policy is local-only"
    if traits.has_images and not policy.images_remote:
        return f"'{place.model}' is remote ({place.why}) and images may not leave this machine"
    if traits.uses_files and not policy.files_remote:
        return f"'{place.model}' is remote ({place.why}) and file contents may not leave this machine"
    kept = sorted(set(traits.tools) & set(policy.local_only_tools))
    if kept:
        return f"'{place.model}' is remote ({place.why}) and tools {kept} keep requests local"
    return None


def choose(policy: ContentRules, candidates: list[str], places: dict[str, Place | None], traits: Traits) -> Route:
    refused: list[str] = []
    allowed: list[Place] = []
    for model in candidates:
        place = places.get(model)
        if place is None:
            refused.append(f"'{model}' is not served by this distribution")
            continue
        reason = _refusal(place, policy, traits)
        if reason:
            refused.append(reason)
        else:
            allowed.append(place)
    if policy.policy == "prefer-local":
        first_local = next((i for i, p in enumerate(allowed) if p.local), 0)
        refused += [f"'{p.model}' is remote ({p.why}) and a local model is preferred" for p in allowed[:first_local]]
        allowed.sort(key=lambda p: not p.local)  # stable: candidate order within each group
    if not allowed and all(places.get(m) is None for m in candidates):
        raise ModelNotAvailable(
            f"none of the models {candidates} is served by this distribution; see GET /v1/models "
            "(or `herd models list`) and fix the model names"
        )
    if not allowed:
        raise PolicyRefused(
            "the privacy policy refuses this request: " + "; ".join(refused) + ". Use a local model, or relax "
            "the policy (agent `routing`, or `herd.privacy` in the run config) if the data may leave this machine"
        )
    chosen = allowed[0]
    where = "local" if chosen.local else "remote"
    why = f"{policy.policy}: '{chosen.model}' ({where}: {chosen.why})"
    if refused:
        why += "; passed over: " + "; ".join(refused)
    return Route(chosen.model, why)
