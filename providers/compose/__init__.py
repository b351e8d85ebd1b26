"""Composed vision + lightweight model: the factory llama-stack calls. Nothing heavy loads here."""

from typing import Any

from .config import ComposeConfig


async def get_provider_impl(config: ComposeConfig, _deps: dict[Any, Any]) -> Any:
    from .impl import ComposedInference

    return ComposedInference(config)
