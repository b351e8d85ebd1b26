"""What an inference provider says when llama-stack registers a model it does not serve."""

from collections.abc import Iterable
from typing import Any

from herd.errors import ModelNotAvailable


def require_served(model: Any, served: Iterable[str], provider: str) -> Any:
    """``model`` when the provider serves its ``provider_resource_id``; a 404 naming what it does serve otherwise."""
    ids = list(served)
    if model.provider_resource_id not in ids:
        raise ModelNotAvailable(
            f"the {provider} provider does not serve '{model.provider_resource_id}'; it serves "
            f"{', '.join(ids) or 'none'} (add it to the provider's `models` list in the run config)"
        )
    return model
