"""Adding an MCP server to a run config (``herd tools add-mcp``): the herd-mcp provider is created if missing."""

from pathlib import Path
from typing import Any

from herd.distribution import runconfig
from herd.distribution.templates import MCP_MODULE, MCP_TYPE
from herd.errors import ConfigError


def mcp_provider(config: dict[str, Any]) -> dict[str, Any]:
    """The run config's herd-mcp provider entry, added to tool_runtime when there is none."""
    providers = config.setdefault("providers", {})
    runtime = providers.setdefault("tool_runtime", [])
    for provider in runtime:
        if provider.get("provider_type") == MCP_TYPE:
            return provider
    provider = {"provider_id": "herd-mcp", "provider_type": MCP_TYPE, "module": MCP_MODULE, "config": {"servers": []}}
    runtime.append(provider)
    if "tool_runtime" not in config.setdefault("apis", []):
        config["apis"].append("tool_runtime")
    return provider


def add_server(path: Path, server: dict[str, Any], replace: bool = False) -> bool:
    """Add (or with ``replace``, replace) one server in the run config at ``path``; True when it replaced one."""
    from pydantic import ValidationError

    from herd.providers.mcp.config import McpConfig

    config = runconfig.load(path)
    provider = mcp_provider(config)
    provider["config"] = provider.get("config") or {}
    servers = provider["config"].setdefault("servers", [])
    existing = [i for i, s in enumerate(servers) if s.get("name") == server["name"]]
    if existing and not replace:
        raise ConfigError(f"{path} already has an MCP server named {server['name']!r}; pass --replace to change it")
    if existing:
        servers[existing[0]] = server
    else:
        servers.append(server)
    try:
        McpConfig.model_validate(provider["config"])
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"MCP server {server['name']!r}: {first['msg']}") from exc
    runconfig.validate(config)
    import yaml

    header = f"# Run config {config.get('distro_name', '')}; MCP servers are added with `herd tools add-mcp`.\n"
    path.write_text(header + yaml.safe_dump(config, sort_keys=False, width=100))
    return bool(existing)


def user_config() -> Path:
    """``$HERD_HOME/run.yaml``, written from the embedded distribution when it does not exist yet."""
    from herd.distribution import templates
    from herd.distribution.home import herd_home

    path = herd_home() / "run.yaml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(runconfig.render("embedded", templates.embedded()))
    return path
