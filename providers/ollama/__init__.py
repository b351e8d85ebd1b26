"""Ollama with tool-call normalisation: the factory llama-stack calls. The adapter imports only when called."""

from typing import Any

from .config import HerdOllamaConfig


async def get_adapter_impl(config: HerdOllamaConfig, _deps: dict[Any, Any]) -> Any:
    from .impl import HerdOllamaInference

    impl = HerdOllamaInference(config=config)
    await impl.initialize()
    return impl
