"""Herd's own providers: the modules llama-stack loads through a run config's ``module:`` key."""

import importlib
from typing import Any

HERD_PROVIDER_MODULES = [
    "herd.providers.embedded",
    "herd.providers.transformers",
    "herd.providers.compose",
    "herd.providers.ollama",
    "herd.providers.chroma",
    "herd.providers.files",
    "herd.providers.shields",
    "herd.providers.tools",
    "herd.providers.code",
    "herd.providers.web",
    "herd.providers.mcp",
]


def herd_specs() -> list[Any]:
    """The provider spec of every Herd provider module (imports llama_stack_api)."""
    return [importlib.import_module(f"{module}.provider").get_provider_spec() for module in HERD_PROVIDER_MODULES]
