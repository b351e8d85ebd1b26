"""The spec llama-stack reads for the ``module: herd.providers.ollama`` provider."""

from llama_stack_api import Api, RemoteProviderSpec

PROVIDER_TYPE = "remote::herd-ollama"


def get_provider_spec() -> RemoteProviderSpec:
    return RemoteProviderSpec(
        api=Api.inference,
        adapter_type="herd-ollama",
        provider_type=PROVIDER_TYPE,
        pip_packages=["ollama", "aiohttp", "h11>=0.16.0"],
        module="herd.providers.ollama",
        config_class="herd.providers.ollama.config.HerdOllamaConfig",
        description="Models served by a local Ollama, with tool calls written as text read into `tool_calls`, "
        "checked against their schemas and repaired by one constrained retry.",
    )
