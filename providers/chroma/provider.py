"""The spec llama-stack reads for the ``module: herd.providers.chroma`` provider."""

from llama_stack_api import Api, InlineProviderSpec

PROVIDER_TYPE = "inline::herd-chroma"


def get_provider_spec() -> InlineProviderSpec:
    return InlineProviderSpec(
        api=Api.vector_io,
        provider_type=PROVIDER_TYPE,
        pip_packages=["chromadb==1.3.5"],
        module="herd.providers.chroma",
        config_class="herd.providers.chroma.config.ChromaVectorIOConfig",
        api_dependencies=[Api.inference],
        optional_api_dependencies=[Api.files],
        description="Vector stores on chromadb, embedded (PersistentClient) or a Chroma server: durable across "
        "restarts, one copy of each chunk, 0-1 scores, metadata filters, keyword and hybrid search.",
    )
