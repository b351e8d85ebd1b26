"""Ollama that cannot be reached, before a reply or in the middle of a stream, as a 503 that names it.

llama-stack answers the OpenAI SDK's connection errors as a bare 500 ("an unexpected
error occurred") and a stream cut mid-way as an error event saying the same. A
``ProviderUnavailable`` carries its status, so llama-stack's handlers send a 503, or in
a stream an error event with code 503, whose message says where and what to check.
"""

from collections.abc import AsyncIterator, Awaitable
from typing import Any

import httpx
import openai

from herd.errors import ProviderUnavailable

# The openai SDK wraps transport failures (APITimeoutError is one); Ollama's own client
# raises ConnectionError; httpx's errors come through bare from anything else.
CONNECTION_ERRORS = (openai.APIConnectionError, httpx.TransportError, ConnectionError)


def unreachable(url: str, exc: BaseException, mid_stream: bool) -> ProviderUnavailable:
    cause = exc.__cause__ or exc
    what = f"{type(cause).__name__}: {cause}".rstrip(": ")
    if mid_stream:
        return ProviderUnavailable(
            f"the inference provider Ollama at {url} went away mid-stream ({what}); the reply is incomplete. "
            "Check that Ollama is running and retry"
        )
    return ProviderUnavailable(f"cannot reach the inference provider Ollama at {url} ({what}); is Ollama running?")


async def guarded[T](url: str, call: Awaitable[T]) -> T:
    """``call``'s result; a reply that is a stream is guarded too."""
    try:
        result = await call
    except CONNECTION_ERRORS as exc:
        raise unreachable(url, exc, mid_stream=False) from exc
    if isinstance(result, AsyncIterator):
        return guarded_stream(url, result)  # type: ignore[return-value]  # the same stream, guarded
    return result


async def guarded_stream(url: str, stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    try:
        async for item in stream:
            yield item
    except CONNECTION_ERRORS as exc:
        raise unreachable(url, exc, mid_stream=True) from exc
    finally:  # a client that left closes this generator; the upstream stream goes with it
        close = getattr(stream, "aclose", None) or getattr(stream, "close", None)
        if close is not None:
            await close()
