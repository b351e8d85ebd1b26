"""Vector stores on chromadb: the factory llama-stack calls. chromadb is imported only when called."""

from typing import Any

from .config import ChromaVectorIOConfig


async def get_provider_impl(config: ChromaVectorIOConfig, deps: dict[Any, Any]) -> Any:
    from llama_stack_api import Api

    from .impl import ChromaVectorIO
    from .replicas import SharedChromaVectorIO

    kind = SharedChromaVectorIO if config.shared else ChromaVectorIO
    impl = kind(config, deps[Api.inference], deps.get(Api.files))
    await impl.initialize()
    return impl
