"""What Herd's inference providers share: refusing a model they do not serve, and turning an engine's
chunk dicts into llama-stack's streamed objects."""

from collections.abc import AsyncIterator, Callable, Iterable
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


def completion_chunk(chunk: dict[str, Any]) -> Any:
    """A streamed completion chunk as llama-stack's ``OpenAICompletion``, built without validation.

    llama-stack's model demands a finish_reason on every choice, but a streamed chunk has
    none until the last one (as in OpenAI's own API), so chunks are built the way
    SDK-backed providers hand them over.
    """
    from llama_stack_api import OpenAICompletion, OpenAICompletionChoice

    choices = [OpenAICompletionChoice.model_construct(**choice) for choice in chunk.get("choices", [])]
    return OpenAICompletion.model_construct(**{**chunk, "choices": choices})


async def converted(
    chunks: AsyncIterator[dict[str, Any]], include_usage: bool, convert: Callable[[dict[str, Any]], Any]
) -> AsyncIterator[Any]:
    """An engine's chunk dicts as llama-stack's chunk objects: usage only when asked for, empty chunks dropped.

    Closing this closes ``chunks`` too, so a client that leaves stops its generation at once.
    """
    try:
        async for chunk in chunks:
            chunk.pop("timings", None)  # llama.cpp's
            if not include_usage:
                chunk.pop("usage", None)
            if chunk.get("choices") or chunk.get("usage"):
                yield convert(chunk)
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()
