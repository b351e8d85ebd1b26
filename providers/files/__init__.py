"""Local files that survive a full disk: the factory llama-stack calls. The implementation imports only when called."""

from typing import Any

from .config import HerdFilesConfig


async def get_provider_impl(config: HerdFilesConfig, _deps: dict[Any, Any], policy: list[Any]) -> Any:
    from .impl import HerdLocalFiles

    impl = HerdLocalFiles(config, policy)
    await impl.initialize()
    return impl
