"""Vector stores shared by several server replicas: one kv store (PostgreSQL) and one Chroma server.

llama-stack's mixin keeps every store's record (name, file ids, counts) and file batch in
memory, loaded at start-up, and Herd keeps each store's open collection: a replica would
never see a store made through another one. Here each call that names a store first rereads
that store's record from the kv store (one key read), opening its collection when it is new
here and forgetting it when another replica deleted it.

An attach killed halfway is rolled back at start-up by the replica that ran it (its marker
names the replica: ``HERD_REPLICA_ID``, by default host name and ``HERD_HOME``), and by any
replica once the marker is an hour old, never while another replica may still be writing it.
Two replicas attaching files to one store at the same moment can lose one's update of the
store's record (file ids, counts): the mixin's lock is per process.
"""

import functools
import inspect
import json
import os
import socket
import time
from collections.abc import Callable
from typing import Any

from llama_stack.providers.utils.memory.openai_vector_store_mixin import OPENAI_VECTOR_STORES_PREFIX
from llama_stack_api import VectorStore

from .impl import STORES_PREFIX, ChromaVectorIO

STALE_SECONDS = 3600.0
# The calls of the mixin that name a store (``vector_store_id``), as llama-stack's router makes them.
BY_STORE = (
    "openai_retrieve_vector_store",
    "openai_update_vector_store",
    "openai_delete_vector_store",
    "openai_search_vector_store",
    "openai_attach_file_to_vector_store",
    "openai_list_files_in_vector_store",
    "openai_retrieve_vector_store_file",
    "openai_retrieve_vector_store_file_contents",
    "openai_update_vector_store_file",
    "openai_delete_vector_store_file",
    "openai_create_vector_store_file_batch",
    "openai_retrieve_vector_store_file_batch",
    "openai_list_files_in_vector_store_file_batch",
    "openai_cancel_vector_store_file_batch",
)
BATCHES = BY_STORE[-3:]  # the file batch calls: the batch records are reread too


def replica_id() -> str:
    home = os.environ.get("HERD_HOME") or os.path.expanduser("~/.herd")
    return os.environ.get("HERD_REPLICA_ID") or f"{socket.gethostname()}:{home}"


class SharedChromaVectorIO(ChromaVectorIO):
    async def sync(self, store_id: str) -> None:
        """Make this replica's view of ``store_id`` the kv store's."""
        raw = await self.kvstore.get(OPENAI_VECTOR_STORES_PREFIX + store_id)
        if raw is None:
            self.openai_vector_stores.pop(store_id, None)
            self.cache.pop(store_id, None)
            return
        self.openai_vector_stores[store_id] = json.loads(raw)
        if store_id not in self.cache:
            record = await self.kvstore.get(STORES_PREFIX + store_id)
            if record is not None:
                await self._open(VectorStore.model_validate_json(record))

    async def insert_chunks(self, request: Any) -> None:
        await self.sync(request.vector_store_id)
        await super().insert_chunks(request)

    async def query_chunks(self, request: Any) -> Any:
        if request.vector_store_id not in self.cache:
            await self.sync(request.vector_store_id)
        return await super().query_chunks(request)

    async def delete_chunks(self, request: Any) -> None:
        await self.sync(request.vector_store_id)
        await super().delete_chunks(request)

    def _marker(self, file_id: str) -> str:
        return json.dumps({"file_id": file_id, "replica": replica_id(), "at": time.time()})

    def _abandoned(self, marker: str | None) -> bool:
        try:
            written = json.loads(marker or "")
        except ValueError:
            return True  # written by a single-process server
        if not isinstance(written, dict):
            return True
        return written.get("replica") == replica_id() or time.time() - float(written.get("at", 0)) > STALE_SECONDS


def _synced(name: str) -> Callable[..., Any]:
    original = getattr(ChromaVectorIO, name)
    signature = inspect.signature(original)

    @functools.wraps(original)
    async def call(self: SharedChromaVectorIO, *args: Any, **kwargs: Any) -> Any:
        await self.sync(signature.bind(self, *args, **kwargs).arguments["vector_store_id"])
        if name in BATCHES:
            self.openai_file_batches = await self._load_openai_vector_store_file_batches()
        return await original(self, *args, **kwargs)

    return call


for _name in BY_STORE:
    setattr(SharedChromaVectorIO, _name, _synced(_name))
