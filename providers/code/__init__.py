"""Herd's code provider: the factory llama-stack calls. The sandbox loads only when called."""

from typing import Any

from .config import CodeConfig


async def get_provider_impl(config: CodeConfig, deps: dict[Any, Any]) -> Any:
    from llama_stack_api import Api

    from herd.providers.tools.runtime import HerdToolRuntime, files_store

    from .code_tool import make_python_tool
    from .provider import PROVIDER_TYPE, TOOL_GROUP
    from .sandbox import Sandbox

    files_api = deps.get(Api.files)
    store = files_store(files_api) if files_api is not None and config.store_files else None
    sandbox = Sandbox(config.limits, allow_weaker=config.allow_weaker_isolation)
    return HerdToolRuntime(TOOL_GROUP, PROVIDER_TYPE, [make_python_tool(sandbox, store)])
