"""The spec llama-stack reads for the ``module: herd.providers.shields`` provider."""

from llama_stack_api import Api, InlineProviderSpec

PROVIDER_TYPE = "inline::herd-shields"


def get_provider_spec() -> InlineProviderSpec:
    return InlineProviderSpec(
        api=Api.safety,
        provider_type=PROVIDER_TYPE,
        pip_packages=["securevector-guardian-model==1.4.0"],
        module="herd.providers.shields",
        config_class="herd.providers.shields.config.ShieldsConfig",
        api_dependencies=[Api.inference],
        description="Safety shields: an offline prompt-attack detector with rules (no download), and "
        "Llama Guard 3 (1B, 8B, 11B-Vision) on any inference provider, with exact prompts and logprob scores.",
    )
