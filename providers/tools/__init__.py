"""Herd's built-in tools provider: the factory llama-stack calls. The tools load only when called."""

from typing import Any

from .config import ToolsConfig


async def get_provider_impl(config: ToolsConfig, deps: dict[Any, Any]) -> Any:
    from .builtin import builtin_tool
    from .provider import PROVIDER_TYPE, TOOL_GROUP
    from .runtime import HerdToolRuntime

    return HerdToolRuntime(TOOL_GROUP, PROVIDER_TYPE, [builtin_tool(name) for name in config.tools])
