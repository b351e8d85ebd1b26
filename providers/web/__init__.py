"""Herd's web provider: the factory llama-stack calls."""

from typing import Any

from .config import WebConfig


async def get_provider_impl(config: WebConfig, deps: dict[Any, Any]) -> Any:
    from herd.providers.tools.builtin.web_fetch import make_fetch_tool
    from herd.providers.tools.runtime import HerdToolRuntime

    from .provider import PROVIDER_TYPE, TOOL_GROUP

    return HerdToolRuntime(TOOL_GROUP, PROVIDER_TYPE, [make_fetch_tool(allow_private=config.allow_private)])
