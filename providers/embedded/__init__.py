"""Embedded inference provider: the factory llama-stack calls. Engines load only when called."""

from typing import Any

from .config import EmbeddedInferenceConfig


async def get_provider_impl(config: EmbeddedInferenceConfig, _deps: dict[Any, Any]) -> Any:
    from .impl import EmbeddedInference

    impl = EmbeddedInference(config)
    await impl.initialize()
    return impl
