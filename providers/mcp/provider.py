"""The spec llama-stack reads for the ``module: herd.providers.mcp`` provider."""

from llama_stack_api import Api, InlineProviderSpec

PROVIDER_TYPE = "inline::herd-mcp"
TOOL_GROUP = "herd::mcp"


def get_provider_spec() -> InlineProviderSpec:
    return InlineProviderSpec(
        api=Api.tool_runtime,
        provider_type=PROVIDER_TYPE,
        pip_packages=["mcp==1.30.0"],
        module="herd.providers.mcp",
        config_class="herd.providers.mcp.config.McpConfig",
        toolgroup_id=TOOL_GROUP,
        description="MCP servers as tools (herd::mcp): stdio servers Herd starts as child processes and streamable-"
        "HTTP ones, restarted when they crash, calls timed out when they hang.",
    )
