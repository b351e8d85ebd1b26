"""Embeddings of whole chunks from an embedder that reads only their beginning.

MiniLM reads 256 word pieces and drops the rest, so a 400-token chunk would be found
by its first half only. ``PiecewiseEmbeddings`` stands in for the inference API the
vector store layer embeds with: a text longer than ``piece_tokens`` (cl100k tokens) is
cut into pieces, the pieces are embedded in the same request, and the text's vector
is their mean, scaled back to unit length. Shorter texts (queries) are embedded as
they are, so a query and a one-piece chunk get exactly the embedder's own vector.
"""

from typing import Any

import numpy as np

from .chunking import token_offsets


def split(text: str, piece_tokens: int) -> list[str]:
    """``text`` as consecutive exact slices of at most ``piece_tokens`` cl100k tokens."""
    offsets = token_offsets(text)
    if len(offsets) - 1 <= piece_tokens:
        return [text]
    cuts = [*offsets[:-1:piece_tokens], len(text)]
    return [text[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if text[a:b].strip()] or [text]


def mean_unit(vectors: list[Any]) -> list[float]:
    mean = np.mean(np.asarray(vectors, dtype=np.float64), axis=0)
    norm = float(np.linalg.norm(mean)) or 1.0
    return [float(x) for x in mean / norm]


def regroup(vectors: list[Any], groups: list[list[str]]) -> list[list[float]]:
    """One vector per group: the unit mean of the group's consecutive share of ``vectors``."""
    out, at = [], 0
    for group in groups:
        out.append(mean_unit(vectors[at : at + len(group)]))
        at += len(group)
    return out


class PiecewiseEmbeddings:
    """The inference API, with long texts embedded piece by piece (everything else passes through)."""

    def __init__(self, inference: Any, piece_tokens: int) -> None:
        self.inference = inference
        self.piece_tokens = piece_tokens

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inference, name)

    async def openai_embeddings(self, params: Any) -> Any:
        from llama_stack_api import OpenAIEmbeddingData, OpenAIEmbeddingsResponse

        texts = [params.input] if isinstance(params.input, str) else params.input
        if params.encoding_format == "base64" or not all(isinstance(t, str) for t in texts):
            return await self.inference.openai_embeddings(params)
        pieces = [split(t, self.piece_tokens) for t in texts]
        if all(len(p) == 1 for p in pieces):
            return await self.inference.openai_embeddings(params)
        reply = await self.inference.openai_embeddings(params.model_copy(update={"input": sum(pieces, [])}))
        vectors = regroup([d.embedding for d in sorted(reply.data, key=lambda d: d.index)], pieces)
        data = [OpenAIEmbeddingData(embedding=v, index=i) for i, v in enumerate(vectors)]
        return OpenAIEmbeddingsResponse(data=data, model=reply.model, usage=reply.usage)
