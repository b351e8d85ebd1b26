"""One vector store as one chromadb collection (cosine space): chunks in, ranked chunks out.

Each chunk is stored once: its text as the chromadb document, its embedding, and its
metadata as chromadb metadata so filters run inside chromadb. Metadata chromadb
cannot hold (lists, objects, nulls) and llama-stack's ``chunk_metadata`` ride along as
JSON under keys starting with ``_``, which filters refuse.

Scores are 0-1 in every mode:
- vector: cosine similarity clipped at 0 (chromadb's cosine distance ``d`` gives ``1 - d``);
- keyword: BM25 over its upper bound (see ``keyword.py``);
- hybrid: ``rrf`` (default) is reciprocal rank fusion divided by its maximum, the score
  of a chunk ranked first by both; ``weighted`` is ``alpha * vector + (1 - alpha) * keyword``.
"""

import asyncio
import json
from collections.abc import Callable
from typing import Any

from llama_stack.providers.utils.memory.vector_store import ChunkForDeletion, EmbeddingIndex
from llama_stack_api import ChunkMetadata, EmbeddedChunk, QueryChunksResponse, VectorStore

from herd.errors import HerdError, InvalidRequest, StoreUnavailable

from . import keyword
from .filters import to_where

_SCALARS = (str, int, float, bool)
DEFAULT_RRF_K = 60.0


class ChromaIndex(EmbeddingIndex):
    def __init__(self, collection: Any, store: VectorStore, location: str, keyword_candidates: int) -> None:
        self.collection = collection
        self.store = store
        self.location = location
        self.keyword_candidates = keyword_candidates

    async def call(self, method: str, **kwargs: Any) -> Any:
        return await run(getattr(self.collection, method), self.location, **kwargs)

    async def add_chunks(self, embedded_chunks: list[EmbeddedChunk]) -> None:
        if not embedded_chunks:
            return
        await self.call(
            "upsert",
            ids=[chunk_key(c.document_id or "", c.chunk_id) for c in embedded_chunks],
            documents=[_text(c) for c in embedded_chunks],
            embeddings=[c.embedding for c in embedded_chunks],
            metadatas=[to_metadata(c) for c in embedded_chunks],
        )

    async def delete_chunks(self, chunks_for_deletion: list[ChunkForDeletion]) -> None:
        if chunks_for_deletion:
            await self.call("delete", ids=[chunk_key(c.document_id, c.chunk_id) for c in chunks_for_deletion])

    async def delete_document(self, document_id: str) -> None:
        await self.call("delete", where={"document_id": document_id})

    async def document_chunks(self, document_id: str, embeddings: bool = True) -> list[EmbeddedChunk]:
        include = ["documents", "metadatas", *(["embeddings"] if embeddings else [])]
        got = await self.call("get", where={"document_id": document_id}, include=include)
        vectors = got["embeddings"] if embeddings else [None] * len(got["ids"])
        chunks = [self.chunk(d, m, v) for d, m, v in zip(got["documents"], got["metadatas"], vectors, strict=True)]
        return sorted(chunks, key=lambda c: _window_start(c.chunk_metadata))

    async def count(self) -> int:
        return int(await self.call("count"))

    async def query_vector(
        self, embedding: Any, k: int, score_threshold: float, filters: Any = None
    ) -> QueryChunksResponse:
        got = await self.call(
            "query",
            query_embeddings=[list(map(float, embedding))],
            n_results=k,
            where=_where(filters),
            include=["documents", "metadatas", "distances"],
        )
        scored = [
            (self.chunk(d, m), max(0.0, 1.0 - float(dist)))
            for d, m, dist in zip(got["documents"][0], got["metadatas"][0], got["distances"][0], strict=True)
        ]
        return _response([(c, s) for c, s in scored if s >= score_threshold])

    async def query_keyword(
        self, query_string: str, k: int, score_threshold: float, filters: Any = None
    ) -> QueryChunksResponse:
        terms = keyword.query_terms(query_string)
        if not terms:
            return _response([])
        got, total = await asyncio.gather(
            self.call(
                "get",
                where_document={"$regex": keyword.candidate_pattern(terms)},
                where=_where(filters),
                limit=self.keyword_candidates,
                include=["documents", "metadatas"],
            ),
            self.count(),
        )
        scores = keyword.bm25_scores(terms, got["documents"], total)
        ranked = sorted(zip(got["documents"], got["metadatas"], scores, strict=True), key=lambda r: -r[2])[:k]
        return _response([(self.chunk(d, m), s) for d, m, s in ranked if s > 0 and s >= score_threshold])

    async def query_hybrid(
        self,
        embedding: Any,
        query_string: str,
        k: int,
        score_threshold: float,
        reranker_type: str,
        reranker_params: dict[str, Any] | None = None,
        filters: Any = None,
    ) -> QueryChunksResponse:
        params = reranker_params or {}
        vector, words = await asyncio.gather(
            self.query_vector(embedding, k, 0.0, filters), self.query_keyword(query_string, k, 0.0, filters)
        )
        chunks = {c.chunk_id: c for c in [*vector.chunks, *words.chunks]}
        by_vector = dict(zip([c.chunk_id for c in vector.chunks], vector.scores, strict=True))
        by_words = dict(zip([c.chunk_id for c in words.chunks], words.scores, strict=True))
        if reranker_type == "weighted":
            alpha = float(params.get("alpha", 0.5))
            fused = {i: alpha * by_vector.get(i, 0.0) + (1 - alpha) * by_words.get(i, 0.0) for i in chunks}
        else:
            fused = rrf(list(by_vector), list(by_words), float(params.get("impact_factor", DEFAULT_RRF_K)))
        ranked = sorted(fused.items(), key=lambda item: -item[1])[:k]
        return _response([(chunks[i], s) for i, s in ranked if s >= score_threshold])

    async def delete(self) -> None:
        raise NotImplementedError("the provider drops the collection")  # ChromaVectorIO.unregister_vector_store

    def chunk(self, document: str, metadata: dict[str, Any], embedding: Any = None) -> EmbeddedChunk:
        return from_stored(document, metadata, embedding, self.store)


def rrf(vector_ranked: list[str], keyword_ranked: list[str], impact: float) -> dict[str, float]:
    """Reciprocal rank fusion over two rankings, divided by its maximum (rank 1 in both) so it is 0-1."""
    fused: dict[str, float] = {}
    for ranking in (vector_ranked, keyword_ranked):
        for rank, key in enumerate(ranking, start=1):
            fused[key] = fused.get(key, 0.0) + 1.0 / (impact + rank)
    best = 2.0 / (impact + 1)
    return {key: score / best for key, score in fused.items()}


def _where(filters: Any) -> dict[str, Any] | None:
    return to_where(filters) if filters is not None else None


def chunk_key(document_id: str, chunk_id: str) -> str:
    return f"{document_id}:{chunk_id}"


def to_metadata(chunk: EmbeddedChunk) -> dict[str, Any]:
    metadata = {k: v for k, v in chunk.metadata.items() if isinstance(v, _SCALARS) and not k.startswith("_")}
    extra = {k: v for k, v in chunk.metadata.items() if k not in metadata}
    if extra:
        metadata["_json"] = json.dumps(extra)
    metadata["_chunk"] = chunk.chunk_metadata.model_dump_json(exclude_none=True)
    return metadata


def from_stored(document: str, stored: dict[str, Any], embedding: Any, store: VectorStore) -> EmbeddedChunk:
    metadata = {k: v for k, v in stored.items() if not k.startswith("_")}
    metadata.update(json.loads(stored.get("_json", "{}")))
    chunk_metadata = ChunkMetadata.model_validate_json(stored.get("_chunk", "{}"))
    return EmbeddedChunk(
        content=document,
        chunk_id=chunk_metadata.chunk_id or "",
        metadata=metadata,
        chunk_metadata=chunk_metadata,
        embedding=[] if embedding is None else [float(x) for x in embedding],
        embedding_model=store.embedding_model,
        embedding_dimension=store.embedding_dimension,
    )


def _text(chunk: EmbeddedChunk) -> str:
    if isinstance(chunk.content, str):
        return chunk.content
    from llama_stack.providers.utils.inference.prompt_adapter import interleaved_content_as_str

    return interleaved_content_as_str(chunk.content)


def _window_start(meta: ChunkMetadata | None) -> int:
    window = (meta.chunk_window if meta else None) or "0-0"
    return int(window.split("-")[0]) if window.split("-")[0].isdigit() else 0


def _response(scored: list[tuple[EmbeddedChunk, float]]) -> QueryChunksResponse:
    return QueryChunksResponse(chunks=[c for c, _ in scored], scores=[s for _, s in scored])


async def run(fn: Callable[..., Any], location: str, /, **kwargs: Any) -> Any:
    """A chromadb call off the event loop, its failures as Herd errors that say what to fix."""
    try:
        return await asyncio.to_thread(fn, **kwargs)
    except HerdError:
        raise
    except Exception as exc:
        raise as_herd_error(exc, location) from exc


def as_herd_error(exc: Exception, location: str) -> HerdError:
    from chromadb.errors import ChromaError, InvalidArgumentError

    if isinstance(exc, InvalidArgumentError | ValueError | TypeError):
        return InvalidRequest(f"chromadb refused the request: {exc}")
    if isinstance(exc, ChromaError):
        return StoreUnavailable(f"chromadb at {location} failed: {exc}")
    return StoreUnavailable(f"cannot reach chromadb at {location} ({type(exc).__name__}: {exc}); is it running?")
