"""The spec llama-stack reads for the ``module: herd.providers.code`` provider."""

from llama_stack_api import Api, InlineProviderSpec

PROVIDER_TYPE = "inline::herd-code"
TOOL_GROUP = "herd::code"


def get_provider_spec() -> InlineProviderSpec:
    return InlineProviderSpec(
        api=Api.tool_runtime,
        provider_type=PROVIDER_TYPE,
        pip_packages=["matplotlib==3.10.8"],
        module="herd.providers.code",
        config_class="herd.providers.code.config.CodeConfig",
        optional_api_dependencies=[Api.files],
        toolgroup_id=TOOL_GROUP,
        description="Python in a fresh bubblewrap sandbox per call (herd::code): no network, read-only system, "
        "a tmpfs scratch directory, CPU, memory, process, wall-time and output limits; files and figures returned.",
    )
