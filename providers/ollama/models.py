"""What an Ollama model can do (``/api/show``), and the errors for a model that is not pulled or cannot see.

Ollama reports ``capabilities`` such as ``["completion", "vision", "tools"]``; Herd's
model metadata uses its own words (the embedded provider's, which ``herd chat`` reads
from ``custom_metadata.capabilities``): ``vision`` is ``images``, ``completion`` is
``chat`` and ``completion``, ``embedding`` is ``embeddings``.
"""

from typing import Any

from herd.errors import InvalidRequest, ModelNotAvailable

_HERD_WORDS = {"completion": ["chat", "completion"], "vision": ["images"], "embedding": ["embeddings"]}
COMPOSED_HINT = "compose/vision-composed"


def herd_capabilities(ollama: list[str]) -> list[str]:
    words: list[str] = []
    for capability in ollama:
        words.extend(w for w in _HERD_WORDS.get(capability, [capability]) if w not in words)
    return words


def ollama_host(base_url: str) -> str:
    return base_url.removesuffix("/").removesuffix("/v1")


def not_pulled(model: str, base_url: str) -> ModelNotAvailable:
    return ModelNotAvailable(
        f"model {model} is not pulled into Ollama at {ollama_host(base_url)}; run `herd models pull {model}` "
        f"(or `ollama pull {model}`), then retry"
    )


def cannot_see(model: str) -> InvalidRequest:
    return InvalidRequest(
        f"model {model} cannot read images (Ollama does not list vision among its capabilities); send them to a "
        f"vision model such as ollama/llama3.2-vision (`herd models pull llama3.2-vision`) or to the composed model "
        f"{COMPOSED_HINT}, which has a vision model read them for a text model, or send the text alone"
    )


class Capabilities:
    """``/api/show``'s capabilities per model name, asked once; None when Ollama does not say."""

    def __init__(self) -> None:
        self._known: dict[str, list[str] | None] = {}

    async def of(self, client: Any, model: str) -> list[str] | None:
        """``client`` is an ``ollama.AsyncClient``; its ``ResponseError`` (404: not pulled) reaches the caller."""
        if model not in self._known:
            try:
                found = (await client.show(model)).capabilities
            except ValueError:  # a reply the client cannot read (an Ollama older or newer than it): not known
                found = None
            self._known[model] = [str(c) for c in found] if isinstance(found, list) else None
        return self._known[model]
