"""Herd's shields provider: the factory llama-stack calls. The detector loads only when called."""

from typing import Any

from .config import ShieldsConfig


async def get_provider_impl(config: ShieldsConfig, deps: dict[Any, Any]) -> Any:
    from llama_stack_api import Api

    from .impl import HerdShields

    impl = HerdShields(config, deps.get(Api.inference))
    await impl.initialize()
    return impl
