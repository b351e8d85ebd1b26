"""The spec llama-stack reads for the ``module: herd.providers.web`` provider."""

from llama_stack_api import Api, InlineProviderSpec

PROVIDER_TYPE = "inline::herd-web"
TOOL_GROUP = "herd::web"


def get_provider_spec() -> InlineProviderSpec:
    return InlineProviderSpec(
        api=Api.tool_runtime,
        provider_type=PROVIDER_TYPE,
        pip_packages=[],
        module="herd.providers.web",
        config_class="herd.providers.web.config.WebConfig",
        toolgroup_id=TOOL_GROUP,
        description="Page fetch (herd::web), off in Herd's distributions (offline-first): http(s) only, private "
        "addresses refused unless allowed, redirects re-checked, size and time capped.",
    )
