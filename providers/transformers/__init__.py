"""CUDA inference provider: the factory llama-stack calls. torch and transformers load only when called."""

import importlib.util
from typing import Any

from .config import TransformersInferenceConfig

NEEDS = ("torch", "transformers", "PIL")


def require_packages() -> None:
    """Raise ConfigError naming the fix when the `cuda` extra is not installed in this venv."""
    missing = [name for name in NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        from herd.errors import ConfigError

        raise ConfigError(
            f"the transformers (CUDA) provider needs {', '.join(missing)}, not installed in this venv; run "
            "`make install-cuda` and serve with .venv-cuda/bin/python -m herd.cli.main (or install llama-herd[cuda])"
        )


async def get_provider_impl(config: TransformersInferenceConfig, _deps: dict[Any, Any]) -> Any:
    require_packages()
    from .impl import TransformersInference

    impl = TransformersInference(config)
    await impl.initialize()
    return impl
