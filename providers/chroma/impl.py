"""The chromadb vector store provider: llama-stack's OpenAI vector store layer over ``ChromaIndex``.

llama-stack's ``OpenAIVectorStoreMixin`` serves the vector store, file and search APIs.
Herd keeps it and changes what llama-stack's own chroma adapter gets wrong:

- stores are written to the kv store on creation and reopened at start-up, so they
  survive restarts;
- chunks live only in chromadb (the mixin would also copy every chunk, embedding
  included, as JSON into the kv store);
- a failed search raises (the mixin answers every failure with an empty page), and a
  failed attach keeps its ``last_error`` when it is stored;
- an attach is committed when the store lists the file. A marker written before it and
  removed after lets start-up remove the chunks of an attach that was killed halfway,
  so no half-written file is ever searched;
- llama-stack turns the ``auto`` chunking strategy into 800-token chunks overlapping
  by 400 before a provider sees it: every token embedded twice, and ten results fill
  a small model's context. Herd reads exactly that pair as ``auto`` and uses
  ``chunk_tokens`` and ``chunk_overlap_tokens`` (400/80 by default), recorded on the file;
- chunks are embedded whole, piece by piece, though MiniLM reads 256 word pieces (``pieces.py``);
- a search that names no mode (the ``file_search`` tool never does) is ``hybrid``;
- files are read by ``extract.py`` (.txt, .md, .html, .pdf, .docx) and cut into token
  windows that carry their location;
- llama-stack logs every retrieved chunk at INFO, which costs more than the search
  itself; that logger is set to WARNING unless ``LLAMA_STACK_LOGGING`` sets ``providers``;
- llama-stack parses all of tiktoken's cl100k_base at start-up (~0.16 s here) only to fail
  fast where it cannot be downloaded. Herd checks its seeded offline copy instead (present,
  hash right) and the chunker parses it on first use;
- an embedded chromadb is opened when a vector store first needs it, not at start-up:
  importing chromadb and opening its folder take ~0.6 s here, which a server that only
  chats never needs. Stores kept from an earlier run are opened at start-up as before, and
  a Chroma server (``url``) is reached at start-up so that a wrong address fails there.
"""

import asyncio
import contextvars
import json
import logging
import os
from typing import Any
from urllib.parse import urlparse

from llama_stack.core.storage.datatypes import KVStoreReference
from llama_stack.core.storage.kvstore import kvstore_impl
from llama_stack.log import get_logger
from llama_stack.providers.utils.memory import openai_vector_store_mixin
from llama_stack.providers.utils.memory.openai_vector_store_mixin import (
    OPENAI_VECTOR_STORES_FILES_PREFIX,
    OpenAIVectorStoreMixin,
)
from llama_stack.providers.utils.memory.vector_store import VectorStoreWithIndex
from llama_stack_api import (
    Chunk,
    DeleteChunksRequest,
    Files,
    Inference,
    InsertChunksRequest,
    QueryChunksRequest,
    QueryChunksResponse,
    VectorIO,
    VectorStore,
    VectorStoreNotFoundError,
    VectorStoresProtocolPrivate,
)
from llama_stack_api.files.models import RetrieveFileContentRequest
from llama_stack_api.vector_io.models import (
    DEFAULT_CHUNK_OVERLAP_TOKENS,
    DEFAULT_CHUNK_SIZE_TOKENS,
    VectorStoreChunkingStrategyStatic,
    VectorStoreChunkingStrategyStaticConfig,
)

from herd.errors import ConfigError, InvalidRequest

from .chunking import chunk_document
from .config import ChromaVectorIOConfig
from .extract import extract
from .filters import to_where
from .index import ChromaIndex, run
from .names import collection_name
from .pieces import PiecewiseEmbeddings

log = get_logger(name=__name__, category="vector_io::herd-chroma")

STORES_PREFIX = "herd-chroma:v1:stores::"
PENDING_PREFIX = "herd-chroma:v1:pending::"
_search_failures: contextvars.ContextVar[list[Exception] | None] = contextvars.ContextVar("search", default=None)
# The mixin loads a file's chunks to list its contents and to delete it; only a contents
# request that asks for embeddings needs them read back from chromadb.
_with_embeddings: contextvars.ContextVar[bool] = contextvars.ContextVar("embeddings", default=False)


class ChromaVectorIO(OpenAIVectorStoreMixin, VectorIO, VectorStoresProtocolPrivate):
    def __init__(self, config: ChromaVectorIOConfig, inference_api: Inference, files_api: Files | None) -> None:
        if config.embed_piece_tokens:
            inference_api = PiecewiseEmbeddings(inference_api, config.embed_piece_tokens)
        super().__init__(
            inference_api=inference_api, files_api=files_api, vector_stores_config=config.vector_stores_config
        )
        self.config = config
        self.location = config.url or os.path.expanduser(config.path or "")
        self.client: Any = None
        self.opening = asyncio.Lock()
        self.cache: dict[str, VectorStoreWithIndex] = {}

    async def initialize(self) -> None:
        if "providers" not in os.environ.get("LLAMA_STACK_LOGGING", ""):
            logging.getLogger("llama_stack.providers.utils.memory.vector_store").setLevel(logging.WARNING)
        self.kvstore = await kvstore_impl(KVStoreReference(**self.config.persistence.model_dump()))
        if self.config.url:
            await self._chroma()
        else:
            _make_folder(self.location)  # an unusable folder still fails at start-up
        for raw in await self.kvstore.values_in_range(STORES_PREFIX, STORES_PREFIX + "\xff"):
            await self._open(VectorStore.model_validate_json(raw))
        openai_vector_store_mixin.validate_tiktoken_encoding = _offline_encoding_ready
        await self.initialize_openai_vector_stores()
        await self._roll_back_unfinished_attaches()

    async def _chroma(self) -> Any:
        """The chromadb client, opened by the first caller that needs it."""
        async with self.opening:
            if self.client is None:
                self.client = await run(_open_client, self.location, config=self.config, location=self.location)
        return self.client

    async def _open(self, store: VectorStore) -> VectorStoreWithIndex:
        client = await self._chroma()
        collection = await run(
            client.get_or_create_collection,
            self.location,
            name=collection_name(store.identifier),
            metadata={"hnsw:space": "cosine"},
            embedding_function=None,
        )
        index = ChromaIndex(collection, store, self.location, self.config.keyword_candidates)
        self.cache[store.identifier] = VectorStoreWithIndex(
            store, index, self.inference_api, vector_stores_config=self.vector_stores_config
        )
        return self.cache[store.identifier]

    # -- the VectorIO storage primitives -------------------------------------------------

    async def register_vector_store(self, vector_store: VectorStore) -> None:
        await self._open(vector_store)
        await self.kvstore.set(STORES_PREFIX + vector_store.identifier, vector_store.model_dump_json())

    async def unregister_vector_store(self, vector_store_id: str) -> None:
        self.cache.pop(vector_store_id, None)
        await self.kvstore.delete(STORES_PREFIX + vector_store_id)
        prefix = f"{OPENAI_VECTOR_STORES_FILES_PREFIX}{vector_store_id}:"
        for key in await self.kvstore.keys_in_range(prefix, prefix + "\xff"):
            await self.kvstore.delete(key)
        client = await self._chroma()
        names = {c.name for c in await run(client.list_collections, self.location)}
        if collection_name(vector_store_id) in names:
            await run(client.delete_collection, self.location, name=collection_name(vector_store_id))

    def _store(self, vector_store_id: str) -> VectorStoreWithIndex:
        try:
            return self.cache[vector_store_id]
        except KeyError:
            raise VectorStoreNotFoundError(vector_store_id) from None

    def _index(self, vector_store_id: str) -> ChromaIndex:
        index = self._store(vector_store_id).index
        assert isinstance(index, ChromaIndex)
        return index

    async def insert_chunks(self, request: InsertChunksRequest) -> None:
        await self._store(request.vector_store_id).insert_chunks(request)

    async def query_chunks(self, request: QueryChunksRequest) -> QueryChunksResponse:
        try:
            return await self._store(request.vector_store_id).query_chunks(_only_what_is_returned(request))
        except Exception as exc:
            failures = _search_failures.get()
            if failures is not None:
                failures.append(exc)
            raise

    async def delete_chunks(self, request: DeleteChunksRequest) -> None:
        await self._index(request.vector_store_id).delete_chunks(request.chunks)

    # -- where the mixin needs correcting ------------------------------------------------

    async def openai_search_vector_store(self, vector_store_id: str, request: Any) -> Any:
        if request.filters:
            to_where(request.filters)  # a bad filter is the caller's to fix: raise before the mixin hides it
        options = request.ranking_options
        if options is not None and getattr(options, "ranker", None) == "neural" and not getattr(options, "model", None):
            raise InvalidRequest("ranking_options.model is required when ranking_options.ranker is 'neural'")
        if "search_mode" not in request.model_fields_set:
            request = request.model_copy(update={"search_mode": self.config.default_search_mode})
        failures: list[Exception] = []
        token = _search_failures.set(failures)
        try:
            page = await super().openai_search_vector_store(vector_store_id, request)
        finally:
            _search_failures.reset(token)
        if failures:
            raise failures[0]
        return page

    async def openai_attach_file_to_vector_store(self, vector_store_id: str, request: Any) -> Any:
        marker = f"{PENDING_PREFIX}{vector_store_id}::{request.file_id}"
        await self.kvstore.set(marker, self._marker(request.file_id))
        attached = await super().openai_attach_file_to_vector_store(vector_store_id, self._auto_chunking(request))
        if attached.last_error is not None:
            await self._index(vector_store_id).delete_document(request.file_id)
            info = await self._load_openai_vector_store_file(vector_store_id, request.file_id)
            info["last_error"] = attached.last_error.model_dump()
            await self._update_openai_vector_store_file(vector_store_id, request.file_id, info)
        await self.kvstore.delete(marker)
        return attached

    def _auto_chunking(self, request: Any) -> Any:
        strategy = getattr(request, "chunking_strategy", None)
        static = getattr(strategy, "static", None)
        window = (getattr(static, "max_chunk_size_tokens", None), getattr(static, "chunk_overlap_tokens", None))
        if strategy is not None and window != (DEFAULT_CHUNK_SIZE_TOKENS, DEFAULT_CHUNK_OVERLAP_TOKENS):
            return request
        chosen = VectorStoreChunkingStrategyStatic(
            static=VectorStoreChunkingStrategyStaticConfig(
                max_chunk_size_tokens=self.config.chunk_tokens, chunk_overlap_tokens=self.config.chunk_overlap_tokens
            )
        )
        return request.model_copy(update={"chunking_strategy": chosen})

    def _marker(self, file_id: str) -> str:
        return file_id

    def _abandoned(self, marker: str | None) -> bool:
        """Whether the attach that wrote ``marker`` is dead: at start-up, every one this process did not write."""
        return True

    async def _roll_back_unfinished_attaches(self) -> None:
        """Remove what an attach killed before its commit left behind: its chunks and its file record."""
        for key in await self.kvstore.keys_in_range(PENDING_PREFIX, PENDING_PREFIX + "\xff"):
            if not self._abandoned(await self.kvstore.get(key)):
                continue
            store_id, _, file_id = key.removeprefix(PENDING_PREFIX).partition("::")
            committed = file_id in self.openai_vector_stores.get(store_id, {}).get("file_ids", [])
            if not committed and store_id in self.cache:
                log.warning(f"rolling back the unfinished attach of {file_id} to {store_id}")
                await self._index(store_id).delete_document(file_id)
                await self.kvstore.delete(f"{OPENAI_VECTOR_STORES_FILES_PREFIX}{store_id}:{file_id}")
            await self.kvstore.delete(key)

    async def _save_openai_vector_store_file(
        self, store_id: str, file_id: str, file_info: dict[str, Any], file_contents: list[dict[str, Any]]
    ) -> None:
        # The chunks are in chromadb already; keep only the file record.
        await self.kvstore.set(f"{OPENAI_VECTOR_STORES_FILES_PREFIX}{store_id}:{file_id}", json.dumps(file_info))

    async def openai_retrieve_vector_store_file_contents(
        self,
        vector_store_id: str,
        file_id: str,
        include_embeddings: bool | None = False,
        include_metadata: bool | None = False,
    ) -> Any:
        token = _with_embeddings.set(bool(include_embeddings))
        try:
            return await super().openai_retrieve_vector_store_file_contents(
                vector_store_id, file_id, include_embeddings, include_metadata
            )
        finally:
            _with_embeddings.reset(token)

    async def _load_openai_vector_store_file_contents(self, store_id: str, file_id: str) -> list[dict[str, Any]]:
        chunks = await self._index(store_id).document_chunks(file_id, embeddings=_with_embeddings.get())
        return [c.model_dump() for c in chunks]

    async def _delete_openai_vector_store_file_from_storage(self, store_id: str, file_id: str) -> None:
        await self.kvstore.delete(f"{OPENAI_VECTOR_STORES_FILES_PREFIX}{store_id}:{file_id}")
        await self._index(store_id).delete_document(file_id)

    async def _legacy_chunk_file(
        self, file_id: str, file_response: Any, max_chunk_size_tokens: int, chunk_overlap_tokens: int, attributes: Any
    ) -> list[Chunk]:
        if not self.files_api:
            raise InvalidRequest("this distribution has no files provider, so files cannot be attached")
        content = await self.files_api.openai_retrieve_file_content(RetrieveFileContentRequest(file_id=file_id))
        document = extract(file_response.filename, bytes(content.body))
        return chunk_document(file_id, document, max_chunk_size_tokens, chunk_overlap_tokens, dict(attributes))


def _offline_encoding_ready(name: str = "cl100k_base") -> None:
    """Stands in for llama-stack's start-up check of the tokenizer: the seeded copy is there and intact."""
    from herd.distribution.server import seed_tiktoken_cache

    if name != "cl100k_base":
        raise ConfigError(f"Herd ships tiktoken's cl100k_base offline, not {name!r}")
    seed_tiktoken_cache()


def _only_what_is_returned(request: QueryChunksRequest) -> QueryChunksRequest:
    """Fetch ``max_num_results`` chunks, not the mixin's five times as many, when nothing re-ranks them.

    The mixin asks for ``chunk_multiplier`` times the results it returns so that fusion
    and neural re-ranking have candidates; a vector or keyword search's top five are
    the first five of its top 25, and fetching 25 cost a third of a search's time.
    """
    params = dict(request.params or {})
    plain = params.get("mode") in (None, "vector", "keyword") and params.get("reranker_type") != "neural"
    if not plain or "max_num_results" not in params:
        return request
    params["max_chunks"] = params["max_num_results"]
    return request.model_copy(update={"params": params})


def _make_folder(location: str) -> None:
    try:
        os.makedirs(location, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the vector store folder {location} ({exc.strerror}); fix its permissions or set "
            "another `path` on the chroma provider"
        ) from exc


def _open_client(config: ChromaVectorIOConfig, location: str) -> Any:
    import chromadb
    from chromadb.config import Settings

    # Chroma's anonymous telemetry would reach for the network.
    settings = Settings(anonymized_telemetry=False)
    if config.url:
        url = urlparse(config.url)
        if not url.hostname:
            raise InvalidRequest(f"chroma url {config.url!r} has no host; write it like http://127.0.0.1:8000")
        port = url.port or (443 if url.scheme == "https" else 8000)
        client = chromadb.HttpClient(host=url.hostname, port=port, ssl=url.scheme == "https", settings=settings)
        client.heartbeat()
        return client
    os.makedirs(location, exist_ok=True)
    return chromadb.PersistentClient(path=location, settings=settings)
