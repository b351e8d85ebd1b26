"""Where agent definitions come from: the built-in recipes, then user folders.

A user definition with the same name replaces a built-in one. Folders searched, in
order: ``herd/apps/agents/builtin``, ``$HERD_HOME/agents``, then any extra folders
(``herd run --agents DIR``, or ``HERD_AGENTS_DIRS`` separated by ``:``).
"""

import os
from pathlib import Path

import yaml
from pydantic import ValidationError

from herd.errors import ConfigError, ModelNotAvailable

from .spec import AgentSpec

BUILTIN_DIR = Path(__file__).with_name("builtin")


def agent_dirs(extra: list[Path] | None = None) -> list[Path]:
    from herd.distribution.home import herd_home

    env = [Path(p) for p in os.environ.get("HERD_AGENTS_DIRS", "").split(":") if p]
    return [BUILTIN_DIR, herd_home() / "agents", *env, *(extra or [])]


def load_file(path: Path) -> AgentSpec:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read agent definition {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"agent definition {path} must be a YAML mapping (name, instructions, model, ...)")
    data.setdefault("name", path.stem)
    try:
        return AgentSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"agent definition {path} is invalid: {problems}") from exc


def load_agents(extra: list[Path] | None = None) -> dict[str, AgentSpec]:
    agents: dict[str, AgentSpec] = {}
    for folder in agent_dirs(extra):
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []:
            spec = load_file(path)
            agents[spec.name] = spec
    return agents


def get_agent(name: str, agents: dict[str, AgentSpec]) -> AgentSpec:
    if name not in agents:
        known = ", ".join(sorted(agents)) or "none"
        raise ModelNotAvailable(f"no agent named '{name}' (known: {known}); see `herd agents list`")
    return agents[name]
