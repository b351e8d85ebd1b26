"""Herd's MCP client provider: the factory llama-stack calls. The MCP SDK loads only when called."""

from typing import Any

from .config import McpConfig


async def get_provider_impl(config: McpConfig, deps: dict[Any, Any]) -> Any:
    from .runtime import McpRuntime

    impl = McpRuntime(config)
    await impl.initialize()
    return impl
