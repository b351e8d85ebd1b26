"""The spec llama-stack reads for the ``module: herd.providers.tools`` provider."""

from llama_stack_api import Api, InlineProviderSpec

PROVIDER_TYPE = "inline::herd-tools"
TOOL_GROUP = "herd::builtin"


def get_provider_spec() -> InlineProviderSpec:
    return InlineProviderSpec(
        api=Api.tool_runtime,
        provider_type=PROVIDER_TYPE,
        pip_packages=[],
        module="herd.providers.tools",
        config_class="herd.providers.tools.config.ToolsConfig",
        toolgroup_id=TOOL_GROUP,
        description="Herd's built-in tools (herd::builtin): exact calculator, current time and time-zone "
        "conversion, unit conversion, .ics calendar invites.",
    )
